// cuda_runtime.h: the CUDA services the tensor layer and the kernels need
// (devices, the caching allocator, pinned host buffers, streams, copies),
// declared here without any CUDA header so that CPU-only builds compile. In a
// CPU-only build each call that needs a GPU throws "no CUDA device: loom was
// built without CUDA"; in a CUDA build they are implemented in
// kernels/cuda/runtime.cu (devices, streams, copies) and
// kernels/cuda/allocator.cu (the caching allocator over tensor/caching_allocator.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace loom::cuda_rt {

// ---- devices ----
// Per-device state (current streams, allocators) is kept for cuda:0 to cuda:63.
constexpr int kMaxDevices = 64;
// True when this binary was compiled with CUDA support.
bool built_with_cuda();
// Number of visible CUDA devices (0 in a CPU-only build or on a machine without a GPU).
int device_count();
// Throws a clear error ("no CUDA device ...") unless device `index` exists;
// then makes it the current device of the calling thread.
void require_device(int index);
// Throws "no CUDA device: <what> needs cuda:<index> ..." unless device `index`
// exists; unlike require_device it leaves the current device alone.
void check_device(int index, const char* what);
// The current device of the calling thread (cudaGetDevice), and setting it.
int current_device();
void set_device(int index);
// "NVIDIA H100 80GB HBM3" etc.; throws "no CUDA device" without one.
std::string device_name(int index);
// Waits for all work on device `index` (cudaDeviceSynchronize).
void synchronize(int index);

// ---- streams ----
// A stream is an opaque cudaStream_t; nullptr is the default stream. Every
// loom kernel launches on the current stream of its device, which is the
// default stream unless set_current_stream (or a StreamGuard) chose another.
using StreamHandle = void*;
StreamHandle create_stream(int index);  // a non-blocking stream on device `index`
// Waits for the stream's work, hands the blocks allocated on it to the default
// stream, makes the default stream current again if it was the calling
// thread's current stream (other threads must not keep it current), destroys it.
void destroy_stream(StreamHandle stream, int index) noexcept;
StreamHandle current_stream(int index);
void set_current_stream(int index, StreamHandle stream);
void synchronize_stream(StreamHandle stream, int index);

// Makes `stream` current on device `index` for a scope, then restores the previous one.
class StreamGuard {
 public:
  StreamGuard(int index, StreamHandle stream) : index_(index), previous_(current_stream(index)) {
    set_current_stream(index, stream);
  }
  ~StreamGuard() { set_current_stream(index_, previous_); }
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  int index_;
  StreamHandle previous_;
};

// ---- device memory: the caching allocator ----
// malloc_device takes a block from device `index`'s cache (size buckets; a
// block freed on another stream is reused only once the work queued on that
// stream before the free has finished) or from cudaMalloc. On out-of-memory it
// empties the cache and retries once, then throws an error giving the size
// asked for and the allocator's statistics. Blocks are tied to the current
// stream at allocation.
void* malloc_device(size_t nbytes, int index);
void free_device(void* ptr, int index) noexcept;

struct MemoryStats {
  size_t allocated_bytes = 0;       // in blocks handed out now (rounded sizes)
  size_t peak_allocated_bytes = 0;  // the most allocated_bytes has been since the last reset
  size_t cached_bytes = 0;          // in free blocks kept for reuse
  size_t reserved_bytes = 0;        // taken from cudaMalloc and not yet returned: allocated + cached
  int64_t allocations = 0;          // malloc_device calls that returned a block
  int64_t cache_hits = 0;           // ... of them served from the cache
  int64_t device_mallocs = 0;       // cudaMalloc calls
  int64_t oom_retries = 0;          // times the cache was emptied to retry a failed cudaMalloc
};
MemoryStats memory_stats(int index);
void reset_peak_memory_stats(int index);
// Returns every cached (free) block of device `index` to the driver.
void empty_cache(int index);
// Testing aid: when on, every block malloc_device hands out is first filled
// with 0xFF bytes (a NaN in float32 and float64), so a kernel that leaves an
// output element unwritten fails a parity test instead of passing by luck.
void set_poison_allocations(bool on);
// "allocated 1.5 MiB (peak 2 MiB), cached 512 KiB, reserved 2 MiB, ..." for errors and logs.
std::string memory_stats_str(int index);

// ---- pinned (page-locked) host memory, for fast and asynchronous transfers ----
void* malloc_host_pinned(size_t nbytes);
void free_host_pinned(void* ptr) noexcept;

// ---- copies (on the current stream of the device involved; blocking for host copies) ----
void copy_host_to_device(void* dst, const void* src, size_t nbytes, int index);
void copy_device_to_host(void* dst, const void* src, size_t nbytes, int index);
void copy_device_to_device(void* dst, const void* src, size_t nbytes, int index);

// dst[i] = convert(src[i]) over a strided index space of `ndim` dims (at most
// 8), both on device `index`; dtypes are loom::DType as int. Shapes and
// strides are in elements. Implemented in kernels/cuda/copy.cu.
void strided_copy_device(void* dst, const int64_t* dst_strides, int dst_dtype, const void* src,
                         const int64_t* src_strides, int src_dtype, const int64_t* shape, int ndim, int index);
// Every element of the strided view at dst set to `value` (converted to the dtype).
void fill_device(void* dst, const int64_t* strides, const int64_t* shape, int ndim, int dtype, double value,
                 int index);

// Fills `n` dense elements at dst with the Philox stream (kernels/cuda/random.cu);
// dtype and dist are loom::DType and loom::philox::Dist as int. Element i is
// a + b * X_i (Uniform, Normal) or (U_i < a) (Bernoulli), exactly as on the CPU.
void philox_fill(void* dst, int64_t n, int dtype, int dist, double a, double b, uint64_t seed, uint64_t offset,
                 int index);

}  // namespace loom::cuda_rt
