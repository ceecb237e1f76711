// runtime.cu: the CUDA services the tensor layer needs (tensor/cuda_runtime.h):
// device discovery, allocation, copies, synchronisation. Plain cudaMalloc for
// now; the caching allocator arrives with the "CUDA backend I" issue.
#include <string>

#include "kernels/cuda/check.cuh"
#include "tensor/cuda_runtime.h"

namespace loom::cuda_rt {

bool built_with_cuda() { return true; }

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device / no driver" error
    return 0;
  }
  return n;
}

void require_device(int index) {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();
    detail::throw_error("no CUDA device: ", cudaGetErrorString(err));
  }
  LOOM_CHECK(index >= 0 && index < n, "no CUDA device: index ", index, " requested, ", n, " device(s) visible");
  LOOM_CUDA_CHECK(cudaSetDevice(index));
}

void* malloc_device(size_t nbytes, int index) {
  require_device(index);
  void* p = nullptr;
  if (nbytes == 0) return nullptr;
  cudaError_t err = cudaMalloc(&p, nbytes);
  if (err != cudaSuccess) {
    cudaGetLastError();
    detail::throw_error("CUDA out of memory: cudaMalloc of ", nbytes, " bytes on cuda:", index, " failed: ",
                        cudaGetErrorString(err));
  }
  return p;
}

void free_device(void* ptr, int index) noexcept {
  if (ptr == nullptr) return;
  cudaSetDevice(index);
  cudaFree(ptr);
}

void copy_host_to_device(void* dst, const void* src, size_t nbytes, int index) {
  require_device(index);
  LOOM_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, cudaMemcpyHostToDevice));
}

void copy_device_to_host(void* dst, const void* src, size_t nbytes, int index) {
  require_device(index);
  LOOM_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, cudaMemcpyDeviceToHost));
}

void copy_device_to_device(void* dst, const void* src, size_t nbytes, int index) {
  require_device(index);
  LOOM_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, cudaMemcpyDeviceToDevice));
}

void synchronize(int index) {
  require_device(index);
  LOOM_CUDA_CHECK(cudaDeviceSynchronize());
}

// ---- STUBS until the runtime work lands (streams, allocator statistics, pinned memory) ----
int current_device() {
  int d = 0;
  LOOM_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}
void set_device(int index) { require_device(index); }
std::string device_name(int index) {
  require_device(index);
  cudaDeviceProp prop{};
  LOOM_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  return prop.name;
}
StreamHandle create_stream(int) { detail::throw_error("create_stream: not implemented yet"); }
void destroy_stream(StreamHandle, int) noexcept {}
StreamHandle current_stream(int) { return nullptr; }
void set_current_stream(int, StreamHandle) { detail::throw_error("set_current_stream: not implemented yet"); }
void synchronize_stream(StreamHandle, int index) { synchronize(index); }
MemoryStats memory_stats(int) { return {}; }
void reset_peak_memory_stats(int) {}
void empty_cache(int) {}
void set_poison_allocations(bool) {}
std::string memory_stats_str(int) { return "(no statistics yet)"; }
void* malloc_host_pinned(size_t) { detail::throw_error("malloc_host_pinned: not implemented yet"); }
void free_host_pinned(void*) noexcept {}

}  // namespace loom::cuda_rt
