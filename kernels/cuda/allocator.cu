// allocator.cu: the CUDA backend of loom's caching allocator
// (tensor/caching_allocator.h): cudaMalloc / cudaFree, cudaEvent fences
// recorded on the block's stream (events recycled through a small pool), and
// cudaMemsetAsync(0xFF) poisoning. The per-device allocators built on it, and
// malloc_device / free_device / memory_stats / ... of tensor/cuda_runtime.h,
// are in tensor/cuda_allocators.cpp (in loom_core, so that the static
// libraries link in dependency order: loom_core -> loom_cuda).
#include <memory>
#include <new>
#include <vector>

#include "kernels/cuda/runtime_detail.cuh"
#include "tensor/caching_allocator.h"

namespace loom::cuda_rt {

namespace {

using detail::DeviceGuard;

// The allocator's view of one device. The allocator calls it with its lock
// held, so it needs no lock of its own.
class CudaBackend final : public alloc::AllocatorBackend {
 public:
  explicit CudaBackend(int device) : device_(device) {}

  void* raw_malloc(size_t bytes) override {
    DeviceGuard guard(device_);
    void* ptr = nullptr;
    const cudaError_t err = cudaMalloc(&ptr, bytes);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // out of memory is not sticky: clear it, let the allocator retry
      return nullptr;
    }
    if (err != cudaSuccess)
      ::loom::detail::throw_error("CUDA error in cudaMalloc(", bytes, " bytes) on cuda:", device_, " at ", __FILE__,
                                  ":", __LINE__, ": ", cudaGetErrorString(err));
    return ptr;
  }

  void raw_free(void* ptr) noexcept override {
    DeviceGuard guard(device_, std::nothrow);
    const cudaError_t err = cudaFree(ptr);  // waits for the device's pending work
    if (err != cudaSuccess) detail::report_cuda_error("cudaFree in the caching allocator", err);
  }

  alloc::FenceHandle record_fence(alloc::StreamId stream) noexcept override {
    DeviceGuard guard(device_, std::nothrow);
    if (!guard.ok()) return nullptr;
    cudaEvent_t event = nullptr;
    if (!events_.empty()) {
      event = events_.back();
      events_.pop_back();
    } else {
      const cudaError_t err = cudaEventCreateWithFlags(&event, cudaEventDisableTiming);
      if (err != cudaSuccess) {
        detail::report_cuda_error("cudaEventCreateWithFlags for a free's fence", err);
        return nullptr;
      }
    }
    const cudaError_t err = cudaEventRecord(event, static_cast<cudaStream_t>(stream));
    if (err != cudaSuccess) {
      detail::report_cuda_error("cudaEventRecord of a free's fence", err);
      events_.push_back(event);
      return nullptr;
    }
    return event;
  }

  bool fence_done(alloc::FenceHandle fence) override {
    const cudaError_t err = cudaEventQuery(static_cast<cudaEvent_t>(fence));
    if (err == cudaSuccess) return true;
    if (err == cudaErrorNotReady) {
      cudaGetLastError();  // "not ready" is an answer, not an error
      return false;
    }
    LOOM_CUDA_CHECK(err);  // names the failing query
    return false;
  }

  void release_fence(alloc::FenceHandle fence) noexcept override {
    try {
      events_.push_back(static_cast<cudaEvent_t>(fence));  // recycled by the next record_fence
    } catch (...) {
      cudaEventDestroy(static_cast<cudaEvent_t>(fence));
    }
  }

  void synchronize() override {
    DeviceGuard guard(device_);
    LOOM_CUDA_CHECK(cudaDeviceSynchronize());
  }

  void poison(void* ptr, size_t bytes, alloc::StreamId stream) override {
    DeviceGuard guard(device_);
    LOOM_CUDA_CHECK(cudaMemsetAsync(ptr, 0xFF, bytes, static_cast<cudaStream_t>(stream)));
  }

 private:
  int device_;
  std::vector<cudaEvent_t> events_;  // idle events, created on device_
};

}  // namespace

namespace detail {
std::unique_ptr<alloc::AllocatorBackend> make_cuda_backend(int index) { return std::make_unique<CudaBackend>(index); }
}  // namespace detail

}  // namespace loom::cuda_rt
