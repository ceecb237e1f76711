// cuda_runtime.h: the few CUDA runtime services the tensor layer needs
// (allocation, copies, device count), declared here so that CPU-only builds
// compile. In a CPU-only build each call throws "loom was built without CUDA";
// in a CUDA build they are implemented in kernels/cuda/runtime.cu.
#pragma once
#include <cstddef>
#include <cstdint>

namespace loom::cuda_rt {

// True when this binary was compiled with CUDA support.
bool built_with_cuda();
// Number of visible CUDA devices (0 in a CPU-only build or on a machine without a GPU).
int device_count();
// Throws a clear error ("no CUDA device ...") unless device `index` exists.
void require_device(int index);
void* malloc_device(size_t nbytes, int index);
void free_device(void* ptr, int index) noexcept;
void copy_host_to_device(void* dst, const void* src, size_t nbytes, int index);
void copy_device_to_host(void* dst, const void* src, size_t nbytes, int index);
void copy_device_to_device(void* dst, const void* src, size_t nbytes, int index);
void synchronize(int index);
// Fills `n` dense elements at dst with the Philox stream (kernels/cuda/random.cu);
// dtype and dist are loom::DType and loom::philox::Dist as int. Element i is
// a + b * X_i (Uniform, Normal) or (U_i < a) (Bernoulli), exactly as on the CPU.
void philox_fill(void* dst, int64_t n, int dtype, int dist, double a, double b, uint64_t seed, uint64_t offset,
                 int index);

}  // namespace loom::cuda_rt
