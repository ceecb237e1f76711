// test_caching_allocator.cpp: the caching allocator core (tensor/caching_allocator.h)
// on a fake backend: host memory under a byte budget (to simulate out of
// memory), fences that the test completes by hand, and a log of every
// backend call. Checks the size classes, reuse on the same stream, deferral
// across streams, best fit, the statistics, empty_cache, the out-of-memory
// retry and its error text, bad frees, poisoning and thread safety.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "tensor/caching_allocator.h"
#include "test_util.h"

using namespace loom;
using alloc::CachingAllocator;

namespace {

constexpr size_t KiB = 1024, MiB = 1024 * 1024;

// Two opaque stream ids (only compared, never dereferenced).
int stream_tag_a, stream_tag_b;
alloc::StreamId const kStreamA = &stream_tag_a;
alloc::StreamId const kStreamB = &stream_tag_b;

class FakeBackend final : public alloc::AllocatorBackend {
 public:
  struct Fence {
    alloc::StreamId stream;
    bool done = false;
    bool released = false;
  };

  explicit FakeBackend(size_t budget) : budget_(budget) {}
  ~FakeBackend() override {
    for (auto& [ptr, size] : live) std::free(ptr);
  }

  void* raw_malloc(size_t bytes) override {
    malloc_sizes.push_back(bytes);
    if (used + bytes > budget_) {
      ++failed_mallocs;
      return nullptr;
    }
    void* p = std::malloc(bytes);
    live[p] = bytes;
    used += bytes;
    return p;
  }
  void raw_free(void* ptr) noexcept override {
    auto it = live.find(ptr);
    if (it == live.end()) {
      ++bad_frees;
      return;
    }
    used -= it->second;
    live.erase(it);
    std::free(ptr);
    ++frees;
    if (frees_sink != nullptr) ++*frees_sink;
  }
  alloc::FenceHandle record_fence(alloc::StreamId stream) noexcept override {
    fences.push_back(std::make_unique<Fence>(Fence{stream}));
    return fences.back().get();
  }
  bool fence_done(alloc::FenceHandle fence) override {
    ++fence_queries;
    return static_cast<Fence*>(fence)->done;
  }
  void release_fence(alloc::FenceHandle fence) noexcept override {
    Fence* f = static_cast<Fence*>(fence);
    if (f->released) ++double_releases;
    f->released = true;
  }
  void synchronize() override {
    ++syncs;
    for (auto& f : fences) f->done = true;
  }
  void poison(void* ptr, size_t bytes, alloc::StreamId stream) override {
    poisoned.push_back({ptr, bytes});
    std::memset(ptr, 0xFF, bytes);
  }

  // The work queued on `stream` so far has finished.
  void complete_stream(alloc::StreamId stream) {
    for (auto& f : fences)
      if (f->stream == stream) f->done = true;
  }
  int unreleased_fences() const {
    int n = 0;
    for (auto& f : fences) n += f->released ? 0 : 1;
    return n;
  }

  size_t used = 0;
  std::map<void*, size_t> live;
  std::vector<size_t> malloc_sizes;
  std::vector<std::unique_ptr<Fence>> fences;
  std::vector<std::pair<void*, size_t>> poisoned;
  int* frees_sink = nullptr;  // counts frees beyond the backend's life
  int failed_mallocs = 0, frees = 0, bad_frees = 0, syncs = 0, fence_queries = 0, double_releases = 0;

 private:
  size_t budget_;
};

struct Fixture {
  explicit Fixture(size_t budget = 1024 * MiB) {
    auto backend = std::make_unique<FakeBackend>(budget);
    fake = backend.get();
    allocator = std::make_unique<CachingAllocator>(std::move(backend), "fake:0");
  }
  FakeBackend* fake;
  std::unique_ptr<CachingAllocator> allocator;
};

}  // namespace

TEST(CachingAllocator, SizeClassesFollowTheDocumentedRule) {
  // Small: multiples of 512 B up to 1 MiB; large: multiples of 2 MiB.
  EXPECT_EQ(CachingAllocator::round_size(1), 512u);
  EXPECT_EQ(CachingAllocator::round_size(512), 512u);
  EXPECT_EQ(CachingAllocator::round_size(513), 1024u);
  EXPECT_EQ(CachingAllocator::round_size(4000), 4096u);
  EXPECT_EQ(CachingAllocator::round_size(MiB), MiB);
  EXPECT_EQ(CachingAllocator::round_size(MiB + 1), 2 * MiB);
  EXPECT_EQ(CachingAllocator::round_size(2 * MiB), 2 * MiB);
  EXPECT_EQ(CachingAllocator::round_size(5 * MiB + 7), 6 * MiB);
  for (size_t n : {size_t{1}, size_t{777}, size_t{65537}, MiB - 1, MiB + 3, 37 * MiB + 11}) {
    const size_t r = CachingAllocator::round_size(n), unit = n <= MiB ? 512 : 2 * MiB;
    EXPECT_GE(r, n);
    EXPECT_LT(r - n, unit) << n;
    EXPECT_EQ(r % unit, 0u) << n;
  }
  EXPECT_EQ(CachingAllocator::max_reuse_size(1024), 2048u);
  EXPECT_EQ(CachingAllocator::max_reuse_size(8 * MiB), 10 * MiB);
  loom::testing::expect_error_containing([] { CachingAllocator::round_size(~size_t{0} - 5); },
                                         "larger than any device");
}

TEST(CachingAllocator, ABlockHasTheRoundedSizeAndIsCounted) {
  Fixture f;
  void* p = f.allocator->allocate(1000, kStreamA);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(f.fake->malloc_sizes, std::vector<size_t>{1024});
  std::memset(p, 0x5A, 1000);  // the memory is usable (the fake's malloc)
  const cuda_rt::MemoryStats s = f.allocator->stats();
  EXPECT_EQ(s.allocated_bytes, 1024u);
  EXPECT_EQ(s.peak_allocated_bytes, 1024u);
  EXPECT_EQ(s.cached_bytes, 0u);
  EXPECT_EQ(s.reserved_bytes, 1024u);
  EXPECT_EQ(s.allocations, 1);
  EXPECT_EQ(s.cache_hits, 0);
  EXPECT_EQ(s.device_mallocs, 1);
  EXPECT_EQ(s.oom_retries, 0);
  f.allocator->deallocate(p);
}

TEST(CachingAllocator, ZeroBytesIsNullAndCountsNothing) {
  Fixture f;
  EXPECT_EQ(f.allocator->allocate(0, kStreamA), nullptr);
  f.allocator->deallocate(nullptr);  // a no-op
  EXPECT_EQ(f.allocator->stats().allocations, 0);
  EXPECT_TRUE(f.fake->malloc_sizes.empty());
}

TEST(CachingAllocator, SameStreamReusesAFreedBlockAtOnce) {
  Fixture f;
  void* p = f.allocator->allocate(3000, kStreamA);  // block of 3072
  f.allocator->deallocate(p);
  EXPECT_EQ(f.allocator->stats().cached_bytes, 3072u);
  // The fence of the free has not completed, yet the same stream takes the block.
  void* q = f.allocator->allocate(2600, kStreamA);  // rounds to 3072 too
  EXPECT_EQ(q, p);
  EXPECT_EQ(f.fake->malloc_sizes.size(), 1u);
  EXPECT_FALSE(f.fake->fences.at(0)->done);
  EXPECT_TRUE(f.fake->fences.at(0)->released);  // the old fence was given back on reuse
  const cuda_rt::MemoryStats s = f.allocator->stats();
  EXPECT_EQ(s.cache_hits, 1);
  EXPECT_EQ(s.allocations, 2);
  EXPECT_EQ(s.device_mallocs, 1);
  EXPECT_EQ(s.cached_bytes, 0u);
  EXPECT_EQ(s.allocated_bytes, 3072u);
  f.allocator->deallocate(q);
}

TEST(CachingAllocator, AnotherStreamWaitsForTheFence) {
  Fixture f;
  void* p = f.allocator->allocate(4096, kStreamA);
  f.allocator->deallocate(p);
  ASSERT_EQ(f.fake->fences.size(), 1u);
  EXPECT_EQ(f.fake->fences[0]->stream, kStreamA);  // the fence is on the block's stream
  // Stream B may not take it while A's work may still read or write it.
  void* q = f.allocator->allocate(4096, kStreamB);
  EXPECT_NE(q, p);
  EXPECT_EQ(f.fake->malloc_sizes.size(), 2u);
  // Once A's work has finished, B gets the block.
  f.fake->complete_stream(kStreamA);
  void* r = f.allocator->allocate(4096, kStreamB);
  EXPECT_EQ(r, p);
  EXPECT_EQ(f.fake->malloc_sizes.size(), 2u);
  EXPECT_EQ(f.allocator->stats().cache_hits, 1);
  // r now belongs to B: freed, it is B's to reuse at once and A's only after B's fence.
  f.allocator->deallocate(r);
  EXPECT_EQ(f.fake->fences.back()->stream, kStreamB);
  void* s = f.allocator->allocate(4096, kStreamA);
  EXPECT_NE(s, p);
  f.allocator->deallocate(q);
  f.allocator->deallocate(s);
}

TEST(CachingAllocator, BestFitWithinTheReuseLimit) {
  Fixture f;
  void* b4096 = f.allocator->allocate(4096, kStreamA);
  void* b2048 = f.allocator->allocate(2048, kStreamA);
  void* b1536 = f.allocator->allocate(1536, kStreamA);
  for (void* p : {b4096, b2048, b1536}) f.allocator->deallocate(p);
  // 1500 -> 1536: the exact class is the best fit.
  EXPECT_EQ(f.allocator->allocate(1500, kStreamA), b1536);
  // 1100 -> 1536 (taken now); the next smallest allowed (<= 3072) is 2048.
  EXPECT_EQ(f.allocator->allocate(1100, kStreamA), b2048);
  // 600 -> 1024, allowed up to 2048: the 4096 block is too big, a new block comes.
  void* fresh = f.allocator->allocate(600, kStreamA);
  EXPECT_NE(fresh, b4096);
  EXPECT_EQ(f.fake->malloc_sizes.back(), 1024u);
  EXPECT_EQ(f.allocator->stats().cached_bytes, 4096u);
  // A large request does not take a block more than a quarter above its class.
  Fixture g;
  void* ten = g.allocator->allocate(10 * MiB, kStreamA);
  g.allocator->deallocate(ten);
  void* four = g.allocator->allocate(4 * MiB, kStreamA);  // 10 MiB > 5 MiB: not reused
  EXPECT_NE(four, ten);
  void* nine = g.allocator->allocate(9 * MiB, kStreamA);  // class 10 MiB: reused
  EXPECT_EQ(nine, ten);
  g.allocator->deallocate(four);
  g.allocator->deallocate(nine);
}

TEST(CachingAllocator, StatisticsAndPeakReset) {
  Fixture f;
  // Sizes and their classes by the rule: 100 -> 512, 5000 -> 5120, 3 MiB -> 4 MiB.
  void* a = f.allocator->allocate(100, kStreamA);
  void* b = f.allocator->allocate(5000, kStreamA);
  void* c = f.allocator->allocate(3 * MiB, kStreamA);
  const size_t total = 512 + 5120 + 4 * MiB;
  cuda_rt::MemoryStats s = f.allocator->stats();
  EXPECT_EQ(s.allocated_bytes, total);
  EXPECT_EQ(s.peak_allocated_bytes, total);
  EXPECT_EQ(s.reserved_bytes, total);
  f.allocator->deallocate(c);
  s = f.allocator->stats();
  EXPECT_EQ(s.allocated_bytes, 512u + 5120u);
  EXPECT_EQ(s.peak_allocated_bytes, total);
  EXPECT_EQ(s.cached_bytes, 4 * MiB);
  EXPECT_EQ(s.reserved_bytes, s.allocated_bytes + s.cached_bytes);
  f.allocator->reset_peak();
  EXPECT_EQ(f.allocator->stats().peak_allocated_bytes, 512u + 5120u);
  void* d = f.allocator->allocate(1 * MiB, kStreamA);  // a new 1 MiB block (4 MiB > 2 MiB limit)
  s = f.allocator->stats();
  EXPECT_EQ(s.peak_allocated_bytes, 512u + 5120u + MiB);
  EXPECT_EQ(s.reserved_bytes, 512u + 5120u + MiB + 4 * MiB);
  EXPECT_EQ(s.allocations, 4);
  EXPECT_EQ(s.device_mallocs, 4);
  EXPECT_EQ(f.fake->used, s.reserved_bytes);  // what the backend holds is what is reserved
  for (void* p : {a, b, d}) f.allocator->deallocate(p);
  s = f.allocator->stats();
  EXPECT_EQ(s.allocated_bytes, 0u);
  EXPECT_EQ(s.cached_bytes, s.reserved_bytes);
  EXPECT_EQ(s.peak_allocated_bytes, 512u + 5120u + MiB);
  EXPECT_EQ(f.allocator->stats_str(), alloc::format_memory_stats(s));
}

TEST(CachingAllocator, FormatsBytesAndStatistics) {
  EXPECT_EQ(alloc::format_bytes(0), "0 B");
  EXPECT_EQ(alloc::format_bytes(1023), "1023 B");
  EXPECT_EQ(alloc::format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(alloc::format_bytes(2 * MiB), "2 MiB");
  EXPECT_EQ(alloc::format_bytes(size_t{1} << 50), "1 PiB");
  cuda_rt::MemoryStats s;
  s.allocated_bytes = 3 * MiB / 2;
  s.peak_allocated_bytes = 2 * MiB;
  s.cached_bytes = 512 * KiB;
  s.reserved_bytes = 2 * MiB;
  s.allocations = 12;
  s.cache_hits = 7;
  s.device_mallocs = 5;
  EXPECT_EQ(alloc::format_memory_stats(s),
            "allocated 1.5 MiB (peak 2 MiB), cached 512 KiB, reserved 2 MiB, 12 allocations (7 from the cache), "
            "5 device mallocs, 0 out-of-memory retries");
}

TEST(CachingAllocator, EmptyCacheReturnsFreeBlocksAndSyncsOnlyWhenNeeded) {
  Fixture f;
  void* a = f.allocator->allocate(8192, kStreamA);
  void* b = f.allocator->allocate(3 * MiB, kStreamB);
  void* kept = f.allocator->allocate(512, kStreamA);
  f.allocator->deallocate(a);
  f.allocator->deallocate(b);
  // Every fence done: no synchronisation is needed.
  f.fake->complete_stream(kStreamA);
  f.fake->complete_stream(kStreamB);
  f.allocator->empty_cache();
  EXPECT_EQ(f.fake->syncs, 0);
  EXPECT_EQ(f.fake->frees, 2);
  cuda_rt::MemoryStats s = f.allocator->stats();
  EXPECT_EQ(s.cached_bytes, 0u);
  EXPECT_EQ(s.reserved_bytes, 512u);
  EXPECT_EQ(s.allocated_bytes, 512u);
  EXPECT_EQ(f.fake->used, 512u);
  // A block whose stream may still be busy: empty_cache synchronizes first.
  void* c = f.allocator->allocate(8192, kStreamB);
  f.allocator->deallocate(c);
  f.allocator->empty_cache();
  EXPECT_EQ(f.fake->syncs, 1);
  EXPECT_EQ(f.allocator->stats().cached_bytes, 0u);
  EXPECT_EQ(f.fake->used, 512u);
  EXPECT_EQ(f.fake->unreleased_fences(), 0);
  EXPECT_EQ(f.fake->bad_frees, 0);
  EXPECT_EQ(f.fake->double_releases, 0);
  f.allocator->empty_cache();  // nothing cached: nothing happens
  EXPECT_EQ(f.fake->syncs, 1);
  // The block still handed out was never touched; a freed-and-emptied pointer is unknown now.
  loom::testing::expect_error_containing([&] { f.allocator->deallocate(c); }, "unknown pointer");
  f.allocator->deallocate(kept);
}

TEST(CachingAllocator, OutOfMemoryEmptiesTheCacheAndRetriesOnce) {
  Fixture f(8 * KiB);
  void* a = f.allocator->allocate(4 * KiB, kStreamA);
  void* b = f.allocator->allocate(4 * KiB, kStreamA);
  f.allocator->deallocate(b);  // 4 KiB cached, the budget is full
  // 1 KiB (class 1024, reuse limit 2048) cannot take the 4 KiB block: the
  // backend fails, the cache is emptied, the retry succeeds.
  void* c = f.allocator->allocate(1000, kStreamA);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(f.fake->failed_mallocs, 1);
  cuda_rt::MemoryStats s = f.allocator->stats();
  EXPECT_EQ(s.oom_retries, 1);
  EXPECT_EQ(s.cached_bytes, 0u);
  EXPECT_EQ(s.reserved_bytes, 4 * KiB + 1024);
  EXPECT_EQ(s.device_mallocs, 3);
  EXPECT_EQ(f.fake->syncs, 1);  // b's fence had not completed
  f.allocator->deallocate(c);
  f.allocator->deallocate(a);
}

TEST(CachingAllocator, OutOfMemoryAfterTheRetryIsAnErrorWithTheStatistics) {
  Fixture f(8 * KiB);
  void* a = f.allocator->allocate(4 * KiB, kStreamA);
  void* b = f.allocator->allocate(2 * KiB, kStreamA);
  f.allocator->deallocate(b);
  try {
    f.allocator->allocate(6 * KiB, kStreamA);
    FAIL() << "expected an out-of-memory error";
  } catch (const Error& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("out of memory on fake:0"), std::string::npos) << text;
    EXPECT_NE(text.find("asked for 6 KiB (6144 bytes"), std::string::npos) << text;
    EXPECT_NE(text.find("retrying once"), std::string::npos) << text;
    // The statistics after the retry: a (4 KiB) in use, the cache emptied.
    EXPECT_NE(text.find("allocated 4 KiB (peak 6 KiB), cached 0 B, reserved 4 KiB"), std::string::npos) << text;
    EXPECT_NE(text.find("1 out-of-memory retries"), std::string::npos) << text;
  }
  EXPECT_EQ(f.fake->failed_mallocs, 2);  // one try, one retry
  EXPECT_EQ(f.fake->frees, 1);           // b went back between them
  const cuda_rt::MemoryStats s = f.allocator->stats();
  EXPECT_EQ(s.allocated_bytes, 4 * KiB);
  EXPECT_EQ(s.allocations, 2);
  // The allocator still works afterwards.
  void* c = f.allocator->allocate(4 * KiB, kStreamA);
  EXPECT_NE(c, nullptr);
  f.allocator->deallocate(c);
  f.allocator->deallocate(a);
}

TEST(CachingAllocator, BadFreesAreErrors) {
  Fixture f;
  void* p = f.allocator->allocate(100, kStreamA);
  f.allocator->deallocate(p);
  loom::testing::expect_error_containing([&] { f.allocator->deallocate(p); }, "double free");
  int local = 0;
  loom::testing::expect_error_containing([&] { f.allocator->deallocate(&local); }, "unknown pointer");
  // Neither changed the statistics.
  const cuda_rt::MemoryStats s = f.allocator->stats();
  EXPECT_EQ(s.allocated_bytes, 0u);
  EXPECT_EQ(s.cached_bytes, 512u);
}

TEST(CachingAllocator, PoisoningFillsEveryBlockHandedOut) {
  Fixture f;
  void* p = f.allocator->allocate(40, kStreamA);
  EXPECT_TRUE(f.fake->poisoned.empty());  // off by default
  f.allocator->deallocate(p);
  f.allocator->set_poison(true);
  float* x = static_cast<float*>(f.allocator->allocate(40, kStreamA));  // from the cache: poisoned too
  ASSERT_EQ(f.fake->poisoned.size(), 1u);
  EXPECT_EQ(f.fake->poisoned[0].first, x);
  EXPECT_EQ(f.fake->poisoned[0].second, 512u);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(std::isnan(x[i])) << i;
  double* y = static_cast<double*>(f.allocator->allocate(3 * MiB, kStreamB));  // a fresh block
  ASSERT_EQ(f.fake->poisoned.size(), 2u);
  EXPECT_EQ(f.fake->poisoned[1].second, 4 * MiB);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_TRUE(std::isnan(y[3 * MiB / 8 - 1]));
  f.allocator->set_poison(false);
  void* z = f.allocator->allocate(40, kStreamA);
  EXPECT_EQ(f.fake->poisoned.size(), 2u);
  for (void* q : {static_cast<void*>(x), static_cast<void*>(y), z}) f.allocator->deallocate(q);
}

TEST(CachingAllocator, ForgottenStreamsBlocksMoveToTheReplacement) {
  Fixture f;
  void* p = f.allocator->allocate(2048, kStreamA);
  f.allocator->forget_stream(kStreamA, nullptr);  // stream A destroyed; its blocks go to the default stream
  f.allocator->deallocate(p);
  EXPECT_EQ(f.fake->fences.back()->stream, nullptr);
  EXPECT_EQ(f.allocator->allocate(2048, nullptr), p);  // the default stream reuses it at once
  f.allocator->deallocate(p);
}

TEST(CachingAllocator, DestructorReturnsTheCache) {
  int frees = 0;
  auto backend = std::make_unique<FakeBackend>(64 * MiB);
  backend->frees_sink = &frees;
  {
    CachingAllocator allocator(std::move(backend), "fake:1");
    void* p = allocator.allocate(5 * MiB, kStreamA);
    void* q = allocator.allocate(700, kStreamB);
    allocator.deallocate(p);
    allocator.deallocate(q);
    EXPECT_EQ(frees, 0);
  }
  EXPECT_EQ(frees, 2);
}

TEST(CachingAllocator, ThreadsSharingTheAllocatorKeepTheBooksStraight) {
  Fixture f;
  constexpr int kThreads = 4, kRounds = 300;
  std::vector<int> tags(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      alloc::StreamId stream = &tags[t];
      std::vector<void*> held;
      for (int i = 0; i < kRounds; ++i) {
        const size_t n = 512 * static_cast<size_t>(1 + (i * 7 + t) % 9);
        void* p = f.allocator->allocate(n, stream);
        std::memset(p, t, n);  // a block shared by two threads would show here under a sanitizer
        held.push_back(p);
        if (held.size() > 3) {
          f.allocator->deallocate(held.front());
          held.erase(held.begin());
        }
      }
      for (void* p : held) f.allocator->deallocate(p);
    });
  for (auto& th : threads) th.join();
  const cuda_rt::MemoryStats s = f.allocator->stats();
  EXPECT_EQ(s.allocated_bytes, 0u);
  EXPECT_EQ(s.cached_bytes, s.reserved_bytes);
  EXPECT_EQ(s.allocations, kThreads * kRounds);
  EXPECT_EQ(s.allocations, s.cache_hits + s.device_mallocs);
  EXPECT_EQ(f.fake->used, s.reserved_bytes);
}
