// caching_allocator.h: the device-independent core of loom's caching
// allocator (the logic behind cuda_rt::malloc_device / free_device), written
// over an abstract backend so that it compiles in every build and is unit
// tested on the CPU with a fake backend (tests/test_caching_allocator.cpp).
// kernels/cuda/allocator.cu supplies the CUDA backend (cudaMalloc, cudaFree,
// cudaEvent fences, cudaMemsetAsync poisoning), one allocator per device.
//
// The rules:
// - Size classes. A request of n bytes is served by a block of round_size(n):
//     n <= 1 MiB : n rounded up to a multiple of 512 B   (small blocks)
//     n >  1 MiB : n rounded up to a multiple of 2 MiB   (large blocks)
//   so at most 511 B of a small block and less than 2 MiB of a large one is
//   slack. Blocks are never split or merged.
// - Best fit. A cached (free) block of size s can serve a request rounded to
//   r when r <= s <= max_reuse_size(r): 2 r for small requests, r + r/4 for
//   large ones (at most half of a small block or a fifth of a large one idles).
//   Among the blocks allowed, the smallest is taken (ties: lowest address).
// - Streams. A block belongs to the stream it was handed out on. Freed, it
//   goes back to the cache with a fence recorded on that stream: the same
//   stream may take it again at once (the stream's order makes that safe);
//   another stream only once the fence reports done (the work queued on the
//   block's stream before the free has finished). Warning, as in every
//   stream-ordered allocator: a block used on a stream other than its own
//   must be freed only after that use is finished (synchronize first).
// - Out of memory. When the backend cannot supply a block, the cache is
//   emptied (empty_cache: every free block returned) and the request retried
//   once; if that fails too, a loom::Error says "out of memory", the size
//   asked for and the statistics (format_memory_stats).
// - Poisoning (a testing aid): when on, every block handed out is first given
//   to backend.poison (the CUDA backend fills it with 0xFF bytes: NaN).
// Every public member takes one mutex: the allocator is thread-safe, and the
// backend is never called by two threads at once.
#pragma once
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "tensor/cuda_runtime.h"

namespace loom::alloc {

using StreamId = void*;     // opaque (a cudaStream_t for CUDA; nullptr is the default stream)
using FenceHandle = void*;  // opaque (a cudaEvent_t for CUDA); nullptr: none could be recorded

// What the allocator needs from a device. Called with the allocator's lock held.
class AllocatorBackend {
 public:
  virtual ~AllocatorBackend() = default;
  // A new block of exactly `bytes`, or nullptr when the device is out of
  // memory. Any other failure throws.
  virtual void* raw_malloc(size_t bytes) = 0;
  // Returns a block to the device (waiting for its pending work as needed).
  virtual void raw_free(void* ptr) noexcept = 0;
  // A fence behind every piece of work queued on `stream` so far; nullptr if
  // it could not be recorded (the block is then reused on its own stream only,
  // until empty_cache or the out-of-memory retry returns it to the device).
  virtual FenceHandle record_fence(StreamId stream) noexcept = 0;
  // Whether the work before `fence` has finished (throws on a device error).
  virtual bool fence_done(FenceHandle fence) = 0;
  // The fence is no longer needed (the backend may recycle it).
  virtual void release_fence(FenceHandle fence) noexcept = 0;
  // Waits for all work on the device: every fence is done afterwards.
  virtual void synchronize() = 0;
  // Fills `bytes` bytes at ptr with 0xFF, ordered on `stream`.
  virtual void poison(void* ptr, size_t bytes, StreamId stream) = 0;
};

class CachingAllocator {
 public:
  static constexpr size_t kSmallLimit = size_t{1} << 20;  // 1 MiB: up to here a request is small
  static constexpr size_t kSmallRound = 512;              // small requests: multiples of 512 B
  static constexpr size_t kLargeRound = size_t{2} << 20;  // large requests: multiples of 2 MiB

  // `device_label` ("cuda:0") names the device in error messages.
  CachingAllocator(std::unique_ptr<AllocatorBackend> backend, std::string device_label);
  // Returns the cached blocks to the backend; blocks still handed out stay
  // with their owners (they are not freed).
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // The size class of a request of n > 0 bytes (see the header comment).
  static size_t round_size(size_t nbytes);
  // The largest cached block allowed to serve a request rounded to `rounded`.
  static size_t max_reuse_size(size_t rounded);

  // A block of at least nbytes for work on `stream`; nullptr for 0 bytes.
  // Throws "out of memory ..." (see above) when the device has no room.
  void* allocate(size_t nbytes, StreamId stream);
  // Gives a block back to the cache (nullptr: nothing). Throws on a pointer
  // this allocator did not hand out, and on a block freed twice.
  void deallocate(void* ptr);

  cuda_rt::MemoryStats stats() const;
  std::string stats_str() const;  // format_memory_stats(stats())
  // peak_allocated_bytes := allocated_bytes.
  void reset_peak();
  // Returns every free block to the backend, synchronizing first when some
  // block's fence has not completed yet.
  void empty_cache();
  void set_poison(bool on) { poison_.store(on); }
  bool poison() const { return poison_.load(); }
  // Blocks of `stream` (handed out or cached) now belong to `replacement`:
  // called when a stream is destroyed, after its work has finished.
  void forget_stream(StreamId stream, StreamId replacement);

  AllocatorBackend& backend() { return *backend_; }

 private:
  struct Block {
    void* ptr = nullptr;
    size_t size = 0;             // the rounded size (what the backend gave)
    StreamId stream = nullptr;   // the stream it was last handed out on
    bool in_use = false;
    bool fence_pending = false;  // freed, and its stream's work may still be running
    FenceHandle fence = nullptr; // recorded at the free (nullptr: could not be)
  };

  Block* find_cached_locked(size_t rounded, StreamId stream);
  bool reusable_on_locked(Block& b, StreamId stream);
  void clear_fence_locked(Block& b);
  void release_free_blocks_locked();
  void deallocate_locked(void* ptr);

  std::unique_ptr<AllocatorBackend> backend_;
  std::string device_label_;
  mutable std::mutex mutex_;
  std::unordered_map<void*, Block> blocks_;     // every block the backend gave and was not given back
  std::set<std::pair<size_t, void*>> free_;     // the cached ones, ordered by (size, address)
  cuda_rt::MemoryStats stats_;
  std::atomic<bool> poison_{false};
};

// "1 B", "512 B", "1.5 KiB", "2 MiB", "1 PiB" (binary units, up to 2 decimals).
std::string format_bytes(size_t nbytes);
// "allocated 1.5 MiB (peak 2 MiB), cached 512 KiB, reserved 2 MiB, 12 allocations
// (7 from the cache), 5 device mallocs, 0 out-of-memory retries".
std::string format_memory_stats(const cuda_rt::MemoryStats& s);

}  // namespace loom::alloc

// ---- the CUDA glue (defined in CUDA builds only) ----
namespace loom::cuda_rt::detail {
// Device `index`'s backend (kernels/cuda/allocator.cu).
std::unique_ptr<alloc::AllocatorBackend> make_cuda_backend(int index);
// Every block of `stream` in device `index`'s allocator moves to the default
// stream (tensor/cuda_allocators.cpp); destroy_stream calls it once the
// stream's work has finished.
void allocator_forget_stream(int index, StreamHandle stream) noexcept;
}  // namespace loom::cuda_rt::detail
