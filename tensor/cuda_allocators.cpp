// cuda_allocators.cpp: one caching allocator (tensor/caching_allocator.h) per
// CUDA device over the CUDA backend of kernels/cuda/allocator.cu, behind
// malloc_device, free_device, memory_stats, reset_peak_memory_stats,
// empty_cache, set_poison_allocations and memory_stats_str of
// tensor/cuda_runtime.h. CUDA builds only (the CPU-only build has
// tensor/cuda_runtime_stub.cpp). It lives in loom_core, not loom_cuda, so that
// the static libraries link in their dependency order (loom_core -> loom_cuda).
//
// The allocators (and their backends' event pools) are created on first use
// and deliberately never destroyed: tensors held in static objects may be
// freed after every other static is gone, and the CUDA runtime itself may be
// unloaded by then; the driver reclaims everything at process exit.
#ifdef LOOM_WITH_CUDA
#include <array>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include "tensor/caching_allocator.h"
#include "tensor/cuda_runtime.h"
#include "tensor/error.h"

namespace loom::cuda_rt {

namespace {

std::array<std::atomic<alloc::CachingAllocator*>, kMaxDevices> g_allocators{};
std::mutex g_create_mutex;  // guards creating allocators and changing the poison setting
bool g_poison = false;      // under g_create_mutex

// Device `index`'s allocator (the index has been checked), created on first use.
alloc::CachingAllocator& allocator_for(int index) {
  alloc::CachingAllocator* a = g_allocators[index].load(std::memory_order_acquire);
  if (a != nullptr) return *a;
  std::lock_guard<std::mutex> lock(g_create_mutex);
  a = g_allocators[index].load(std::memory_order_acquire);
  if (a == nullptr) {
    a = new alloc::CachingAllocator(detail::make_cuda_backend(index), "cuda:" + std::to_string(index));
    a->set_poison(g_poison);
    g_allocators[index].store(a, std::memory_order_release);
  }
  return *a;
}

// The allocator of device `index` if one was created (no device check).
alloc::CachingAllocator* existing_allocator(int index) {
  if (index < 0 || index >= kMaxDevices) return nullptr;
  return g_allocators[index].load(std::memory_order_acquire);
}

}  // namespace

void* malloc_device(size_t nbytes, int index) {
  check_device(index, "malloc_device");
  set_device(index);  // as require_device: the block's device becomes current
  if (nbytes == 0) return nullptr;
  return allocator_for(index).allocate(nbytes, current_stream(index));
}

void free_device(void* ptr, int index) noexcept {
  if (ptr == nullptr) return;
  alloc::CachingAllocator* a = existing_allocator(index);
  if (a == nullptr) {
    std::fprintf(stderr, "loom: free_device: cuda:%d has no allocator, so %p (unknown pointer) is not loom's\n",
                 index, ptr);
    return;
  }
  try {
    a->deallocate(ptr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loom: free_device: %s\n", e.what());
  }
}

MemoryStats memory_stats(int index) {
  check_device(index, "memory_stats");
  alloc::CachingAllocator* a = existing_allocator(index);
  return a != nullptr ? a->stats() : MemoryStats{};
}

void reset_peak_memory_stats(int index) {
  check_device(index, "reset_peak_memory_stats");
  if (alloc::CachingAllocator* a = existing_allocator(index)) a->reset_peak();
}

void empty_cache(int index) {
  check_device(index, "empty_cache");
  if (alloc::CachingAllocator* a = existing_allocator(index)) a->empty_cache();
}

void set_poison_allocations(bool on) {
  std::lock_guard<std::mutex> lock(g_create_mutex);
  g_poison = on;
  for (auto& slot : g_allocators)
    if (alloc::CachingAllocator* a = slot.load(std::memory_order_acquire)) a->set_poison(on);
}

std::string memory_stats_str(int index) { return alloc::format_memory_stats(memory_stats(index)); }

namespace detail {
void allocator_forget_stream(int index, StreamHandle stream) noexcept {
  if (alloc::CachingAllocator* a = existing_allocator(index)) a->forget_stream(stream, nullptr);
}
}  // namespace detail

}  // namespace loom::cuda_rt
#endif  // LOOM_WITH_CUDA
