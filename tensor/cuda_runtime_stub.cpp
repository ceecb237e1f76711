// cuda_runtime_stub.cpp: the CPU-only build's version of tensor/cuda_runtime.h.
// Every call that would need a GPU says clearly that CUDA is not available.
#ifndef LOOM_WITH_CUDA  // the whole file: CPU-only builds
#include "tensor/cuda_runtime.h"
#include "tensor/error.h"

namespace loom::cuda_rt {

namespace {
[[noreturn]] void no_cuda() {
  detail::throw_error("no CUDA device: loom was built without CUDA (configure with -DLOOM_CUDA=ON on a machine with nvcc)");
}
}  // namespace

bool built_with_cuda() { return false; }
int device_count() { return 0; }
void require_device(int) { no_cuda(); }
void* malloc_device(size_t, int) { no_cuda(); }
void free_device(void*, int) noexcept {}
void copy_host_to_device(void*, const void*, size_t, int) { no_cuda(); }
void copy_device_to_host(void*, const void*, size_t, int) { no_cuda(); }
void copy_device_to_device(void*, const void*, size_t, int) { no_cuda(); }
void synchronize(int) { no_cuda(); }
void philox_fill(void*, int64_t, int, int, double, double, uint64_t, uint64_t, int) { no_cuda(); }

}  // namespace loom::cuda_rt
#endif
