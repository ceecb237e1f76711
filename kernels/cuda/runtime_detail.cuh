// runtime_detail.cuh: what kernels/cuda/runtime.cu and kernels/cuda/allocator.cu
// share and nobody else needs: a guard that makes a device current for a
// scope and restores the previous one, and the stderr report of noexcept paths.
#pragma once
#include <cuda_runtime.h>

#include <new>

#include "kernels/cuda/check.cuh"
#include "tensor/cuda_runtime.h"

namespace loom::cuda_rt::detail {

// Makes device `index` current for the scope and restores the previous one.
// The throwing form checks both calls; the nothrow form is for destructors
// and noexcept paths: ok() says whether the device could be made current.
class DeviceGuard {
 public:
  explicit DeviceGuard(int index) : index_(index) {
    LOOM_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != index_) LOOM_CUDA_CHECK(cudaSetDevice(index_));
  }
  DeviceGuard(int index, std::nothrow_t) noexcept : index_(index) {
    ok_ = cudaGetDevice(&previous_) == cudaSuccess && (previous_ == index_ || cudaSetDevice(index_) == cudaSuccess);
    if (!ok_) {
      cudaGetLastError();
      previous_ = index_;  // nothing to restore
    }
  }
  ~DeviceGuard() {
    if (previous_ != index_) cudaSetDevice(previous_);
  }
  bool ok() const { return ok_; }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int index_;
  int previous_ = 0;
  bool ok_ = true;
};

// Prints "loom: <what>: <CUDA error>" on stderr, except the harmless
// "driver shutting down" at process exit. For noexcept paths only.
void report_cuda_error(const char* what, cudaError_t err) noexcept;

}  // namespace loom::cuda_rt::detail
