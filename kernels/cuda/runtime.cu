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

}  // namespace loom::cuda_rt
