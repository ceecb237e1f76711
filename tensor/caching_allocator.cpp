// caching_allocator.cpp: the caching allocator core (tensor/caching_allocator.h):
// size classes, best fit among cached blocks, stream fences, statistics,
// the out-of-memory retry.
#include "tensor/caching_allocator.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "tensor/error.h"

namespace loom::alloc {

CachingAllocator::CachingAllocator(std::unique_ptr<AllocatorBackend> backend, std::string device_label)
    : backend_(std::move(backend)), device_label_(std::move(device_label)) {
  LOOM_CHECK(backend_ != nullptr, "CachingAllocator(", device_label_, "): no backend");
}

CachingAllocator::~CachingAllocator() {
  try {
    empty_cache();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loom: caching allocator of %s: emptying the cache at exit failed: %s\n",
                 device_label_.c_str(), e.what());
  }
}

size_t CachingAllocator::round_size(size_t nbytes) {
  const size_t unit = nbytes <= kSmallLimit ? kSmallRound : kLargeRound;
  LOOM_CHECK(nbytes <= std::numeric_limits<size_t>::max() - unit, "caching allocator: a request of ", nbytes,
             " bytes is larger than any device");
  return (std::max<size_t>(nbytes, 1) + unit - 1) / unit * unit;
}

size_t CachingAllocator::max_reuse_size(size_t rounded) {
  return rounded <= kSmallLimit ? 2 * rounded : rounded + rounded / 4;
}

void CachingAllocator::clear_fence_locked(Block& b) {
  if (b.fence != nullptr) backend_->release_fence(b.fence);
  b.fence = nullptr;
  b.fence_pending = false;
}

// A cached block may go to `stream` when it is that block's own stream, or
// when the work queued on its stream before the free has finished.
bool CachingAllocator::reusable_on_locked(Block& b, StreamId stream) {
  if (!b.fence_pending || b.stream == stream) return true;
  if (b.fence == nullptr || !backend_->fence_done(b.fence)) return false;
  clear_fence_locked(b);  // done for good: any stream may take it from now on
  return true;
}

CachingAllocator::Block* CachingAllocator::find_cached_locked(size_t rounded, StreamId stream) {
  const size_t limit = max_reuse_size(rounded);
  for (auto it = free_.lower_bound({rounded, nullptr}); it != free_.end() && it->first <= limit; ++it) {
    Block& b = blocks_.at(it->second);
    if (reusable_on_locked(b, stream)) return &b;
  }
  return nullptr;
}

void* CachingAllocator::allocate(size_t nbytes, StreamId stream) {
  if (nbytes == 0) return nullptr;
  const size_t rounded = round_size(nbytes);
  std::lock_guard<std::mutex> lock(mutex_);
  Block* block = find_cached_locked(rounded, stream);
  if (block != nullptr) {
    free_.erase({block->size, block->ptr});
    stats_.cached_bytes -= block->size;
    clear_fence_locked(*block);
    ++stats_.cache_hits;
  } else {
    void* ptr = backend_->raw_malloc(rounded);
    if (ptr == nullptr) {  // out of memory: return every cached block, try once more
      ++stats_.oom_retries;
      release_free_blocks_locked();
      ptr = backend_->raw_malloc(rounded);
    }
    if (ptr == nullptr)
      detail::throw_error("out of memory on ", device_label_, ": asked for ", format_bytes(nbytes), " (", nbytes,
                          " bytes, a block of ", rounded, " bytes) and the device could not supply it, even after ",
                          "emptying the cache and retrying once; allocator: ", format_memory_stats(stats_));
    ++stats_.device_mallocs;
    stats_.reserved_bytes += rounded;
    block = &blocks_[ptr];
    block->ptr = ptr;
    block->size = rounded;
  }
  block->in_use = true;
  block->stream = stream;
  ++stats_.allocations;
  stats_.allocated_bytes += block->size;
  stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
  if (poison_.load()) {
    void* ptr = block->ptr;
    try {
      backend_->poison(ptr, block->size, stream);
    } catch (...) {
      deallocate_locked(ptr);  // back to the cache, then report
      throw;
    }
  }
  return block->ptr;
}

void CachingAllocator::deallocate_locked(void* ptr) {
  auto it = blocks_.find(ptr);
  LOOM_CHECK(it != blocks_.end(), "free on ", device_label_, ": pointer ", ptr,
             " was not allocated by this allocator (unknown pointer)");
  Block& b = it->second;
  LOOM_CHECK(b.in_use, "free on ", device_label_, ": double free of the block at ", ptr, " (", b.size, " bytes)");
  b.in_use = false;
  b.fence = backend_->record_fence(b.stream);
  b.fence_pending = true;
  free_.insert({b.size, ptr});
  stats_.allocated_bytes -= b.size;
  stats_.cached_bytes += b.size;
}

void CachingAllocator::deallocate(void* ptr) {
  if (ptr == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  deallocate_locked(ptr);
}

void CachingAllocator::release_free_blocks_locked() {
  if (free_.empty()) return;
  bool all_done = true;
  for (const auto& [size, ptr] : free_) {
    Block& b = blocks_.at(ptr);
    if (b.fence_pending && (b.fence == nullptr || !backend_->fence_done(b.fence))) {
      all_done = false;
      break;
    }
  }
  if (!all_done) backend_->synchronize();  // now every fence is done
  for (const auto& [size, ptr] : free_) {
    Block& b = blocks_.at(ptr);
    clear_fence_locked(b);
    backend_->raw_free(ptr);
    stats_.cached_bytes -= size;
    stats_.reserved_bytes -= size;
    blocks_.erase(ptr);
  }
  free_.clear();
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_free_blocks_locked();
}

cuda_rt::MemoryStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

std::string CachingAllocator::stats_str() const { return format_memory_stats(stats()); }

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_allocated_bytes = stats_.allocated_bytes;
}

void CachingAllocator::forget_stream(StreamId stream, StreamId replacement) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [ptr, b] : blocks_)
    if (b.stream == stream) b.stream = replacement;
}

std::string format_bytes(size_t nbytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(nbytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 6) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value);
  std::string s = text;
  s.erase(s.find_last_not_of('0') + 1);  // "1.50" -> "1.5", "2.00" -> "2."
  if (s.back() == '.') s.pop_back();
  return s + " " + units[unit];
}

std::string format_memory_stats(const cuda_rt::MemoryStats& s) {
  return "allocated " + format_bytes(s.allocated_bytes) + " (peak " + format_bytes(s.peak_allocated_bytes) +
         "), cached " + format_bytes(s.cached_bytes) + ", reserved " + format_bytes(s.reserved_bytes) + ", " +
         std::to_string(s.allocations) + " allocations (" + std::to_string(s.cache_hits) + " from the cache), " +
         std::to_string(s.device_mallocs) + " device mallocs, " + std::to_string(s.oom_retries) +
         " out-of-memory retries";
}

}  // namespace loom::alloc
