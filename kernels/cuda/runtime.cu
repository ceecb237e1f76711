// runtime.cu: the CUDA services of tensor/cuda_runtime.h other than the
// caching allocator (kernels/cuda/allocator.cu) and the copy/fill/Philox
// kernels: device discovery and selection, streams (a current stream per
// thread and device, the default stream unless chosen), synchronisation,
// pinned host buffers, and the byte copies between host and device.
//
// Copies run on the current stream of the device involved. Host <-> device
// copies are cudaMemcpyAsync followed by a synchronize of that stream, so they
// return with the data in place (the driver stages pageable host memory
// itself; a pinned source or destination from malloc_host_pinned is copied by
// DMA directly). Device -> device copies stay asynchronous, ordered on the stream.
#include <array>
#include <cstdio>
#include <string>

#include "kernels/cuda/runtime_detail.cuh"
#include "tensor/caching_allocator.h"

namespace loom::cuda_rt {

void check_device(int index, const char* what) {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the "no device / no driver" error
    ::loom::detail::throw_error("no CUDA device: ", what, " needs cuda:", index, ", but CUDA reports: ",
                                cudaGetErrorString(err));
  }
  LOOM_CHECK(n > 0, "no CUDA device: ", what, " needs cuda:", index, ", but no CUDA device is visible");
  LOOM_CHECK(index >= 0 && index < n && index < kMaxDevices, "no CUDA device: ", what, " asked for cuda:",
             index, ", but ", n, " device(s) are visible (cuda:0 to cuda:", n - 1, ")");
}

namespace detail {

void report_cuda_error(const char* what, cudaError_t err) noexcept {
  cudaGetLastError();
  if (err == cudaErrorCudartUnloading) return;  // process exit: nothing left to protect
  std::fprintf(stderr, "loom: %s failed: %s\n", what, cudaGetErrorString(err));
}

}  // namespace detail

namespace {

using detail::DeviceGuard;

// The current stream of each device, per thread (nullptr: the default stream).
thread_local std::array<StreamHandle, kMaxDevices> t_current_streams{};

// The first visible device, for calls that take no index.
void check_any_device(const char* what) {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();
    ::loom::detail::throw_error("no CUDA device: ", what, " needs a GPU, but CUDA reports: ", cudaGetErrorString(err));
  }
  LOOM_CHECK(n > 0, "no CUDA device: ", what, " needs a GPU, but none is visible");
}

}  // namespace

// ---- devices ----
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
  check_device(index, "require_device");
  LOOM_CUDA_CHECK(cudaSetDevice(index));
}

int current_device() {
  check_any_device("current_device");
  int d = 0;
  LOOM_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}

void set_device(int index) {
  check_device(index, "set_device");
  LOOM_CUDA_CHECK(cudaSetDevice(index));
}

std::string device_name(int index) {
  check_device(index, "device_name");
  cudaDeviceProp prop{};
  LOOM_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  return prop.name;
}

void synchronize(int index) {
  check_device(index, "synchronize");
  DeviceGuard guard(index);
  LOOM_CUDA_CHECK(cudaDeviceSynchronize());
}

// ---- streams ----
StreamHandle create_stream(int index) {
  check_device(index, "create_stream");
  DeviceGuard guard(index);
  cudaStream_t stream = nullptr;
  // Non-blocking: no implicit synchronisation with the legacy default stream.
  LOOM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  return stream;
}

void destroy_stream(StreamHandle stream, int index) noexcept {
  if (stream == nullptr) return;  // the default stream is never destroyed
  if (index < 0 || index >= kMaxDevices) {
    std::fprintf(stderr, "loom: destroy_stream: bad device index %d\n", index);
    return;
  }
  DeviceGuard guard(index, std::nothrow);
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  // Finish its work first: the blocks allocated on it then move to the default
  // stream safely, and no fence will ever be recorded on the dead handle.
  cudaError_t err = cudaStreamSynchronize(s);
  if (err != cudaSuccess) detail::report_cuda_error("cudaStreamSynchronize in destroy_stream", err);
  detail::allocator_forget_stream(index, stream);
  if (t_current_streams[index] == stream) t_current_streams[index] = nullptr;
  err = cudaStreamDestroy(s);
  if (err != cudaSuccess) detail::report_cuda_error("cudaStreamDestroy", err);
}

StreamHandle current_stream(int index) {
  LOOM_CHECK(index >= 0 && index < kMaxDevices, "current_stream: bad CUDA device index ", index);
  return t_current_streams[index];
}

void set_current_stream(int index, StreamHandle stream) {
  check_device(index, "set_current_stream");
  t_current_streams[index] = stream;
}

void synchronize_stream(StreamHandle stream, int index) {
  check_device(index, "synchronize_stream");
  DeviceGuard guard(index);
  LOOM_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)));
}

// ---- pinned host memory ----
void* malloc_host_pinned(size_t nbytes) {
  check_any_device("malloc_host_pinned");
  if (nbytes == 0) return nullptr;
  void* ptr = nullptr;
  // Portable: pinned for every device's context, not only the current one.
  const cudaError_t err = cudaHostAlloc(&ptr, nbytes, cudaHostAllocPortable);
  if (err != cudaSuccess) {
    cudaGetLastError();
    ::loom::detail::throw_error("CUDA error in cudaHostAlloc(", nbytes, " bytes of pinned host memory) at ", __FILE__,
                                ":", __LINE__, ": ", cudaGetErrorString(err));
  }
  return ptr;
}

void free_host_pinned(void* ptr) noexcept {
  if (ptr == nullptr) return;
  const cudaError_t err = cudaFreeHost(ptr);
  if (err != cudaSuccess) detail::report_cuda_error("cudaFreeHost", err);
}

// ---- copies ----
namespace {
// cudaMemcpyAsync on device `index`'s current stream; `wait` for host copies.
void copy_on_current_stream(void* dst, const void* src, size_t nbytes, cudaMemcpyKind kind, int index,
                            const char* what, bool wait) {
  check_device(index, what);
  if (nbytes == 0) return;
  DeviceGuard guard(index);
  cudaStream_t stream = static_cast<cudaStream_t>(current_stream(index));
  LOOM_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, kind, stream));
  if (wait) LOOM_CUDA_CHECK(cudaStreamSynchronize(stream));
}
}  // namespace

void copy_host_to_device(void* dst, const void* src, size_t nbytes, int index) {
  copy_on_current_stream(dst, src, nbytes, cudaMemcpyHostToDevice, index, "copy_host_to_device", true);
}

void copy_device_to_host(void* dst, const void* src, size_t nbytes, int index) {
  copy_on_current_stream(dst, src, nbytes, cudaMemcpyDeviceToHost, index, "copy_device_to_host", true);
}

void copy_device_to_device(void* dst, const void* src, size_t nbytes, int index) {
  copy_on_current_stream(dst, src, nbytes, cudaMemcpyDeviceToDevice, index, "copy_device_to_device", false);
}

}  // namespace loom::cuda_rt
