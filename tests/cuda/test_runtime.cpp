// test_runtime.cpp: the CUDA runtime (tensor/cuda_runtime.h). On any machine:
// every call that needs a GPU says "no CUDA device" when there is none (or
// when loom was built without CUDA), and the calls that must not throw do
// not. On a GPU: the caching allocator seen through tensors (statistics,
// reuse of the same block, empty_cache, the out-of-memory error, poisoning,
// bad frees), streams with a StreamGuard, pinned buffers, devices, and
// CPU/CUDA parity of the Philox stream and of copies. Without a GPU the GPU
// tests report SKIPPED with the reason.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "cuda_test_util.h"
#include "tensor/cuda_runtime.h"
#include "tensor/random.h"

using namespace loom;
using cuda_test::have_gpu;

namespace {

constexpr size_t MiB = 1024 * 1024;

// f() throws a loom::Error whose message contains `needle`.
::testing::AssertionResult throws_containing(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
  } catch (const Error& e) {
    if (std::string(e.what()).find(needle) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "message lacks '" << needle << "': " << e.what();
  }
  return ::testing::AssertionFailure() << "no error thrown (expected one containing '" << needle << "')";
}

// A dense float32 CUDA block of `n` elements (through the caching allocator).
Tensor gpu_floats(int64_t n) { return Tensor::empty({n}, DType::Float32, cuda_test::gpu()); }

}  // namespace

TEST(CudaRuntime, MissingDeviceIsAClearError) {
  if (have_gpu()) {
    EXPECT_TRUE(throws_containing(
        [] { Tensor::zeros({2}, DType::Float32, Device::cuda(cuda_rt::device_count())); }, "no CUDA device"));
    return;
  }
  EXPECT_TRUE(throws_containing([] { Tensor::zeros({2}, DType::Float32, Device::cuda(0)); }, "no CUDA device"));
}

TEST(CudaRuntime, EveryCallNeedingAGpuSaysNoCudaDeviceWithoutOne) {
  if (have_gpu()) GTEST_SKIP() << "there is a GPU: the no-device errors cannot be seen here";
  EXPECT_EQ(cuda_rt::device_count(), 0);
  const std::string no = "no CUDA device";
  char host[16] = {};
  EXPECT_TRUE(throws_containing([] { cuda_rt::require_device(0); }, no));
  EXPECT_TRUE(throws_containing([] { cuda_rt::current_device(); }, no));
  EXPECT_TRUE(throws_containing([] { cuda_rt::set_device(0); }, no));
  EXPECT_TRUE(throws_containing([] { cuda_rt::device_name(0); }, no));
  EXPECT_TRUE(throws_containing([] { cuda_rt::synchronize(0); }, no));
  EXPECT_TRUE(throws_containing([] { cuda_rt::create_stream(0); }, no));
  EXPECT_TRUE(throws_containing([] { cuda_rt::set_current_stream(0, nullptr); }, no));
  EXPECT_TRUE(throws_containing([] { cuda_rt::synchronize_stream(nullptr, 0); }, no));
  EXPECT_TRUE(throws_containing([] { cuda_rt::StreamGuard guard(0, nullptr); }, no));
  EXPECT_TRUE(throws_containing([] { cuda_rt::malloc_device(16, 0); }, no));
  EXPECT_TRUE(throws_containing([] { cuda_rt::memory_stats(0); }, no));
  EXPECT_TRUE(throws_containing([] { cuda_rt::memory_stats_str(0); }, no));
  EXPECT_TRUE(throws_containing([] { cuda_rt::reset_peak_memory_stats(0); }, no));
  EXPECT_TRUE(throws_containing([] { cuda_rt::empty_cache(0); }, no));
  EXPECT_TRUE(throws_containing([] { cuda_rt::malloc_host_pinned(16); }, no));
  EXPECT_TRUE(throws_containing([&] { cuda_rt::copy_host_to_device(host, host, 4, 0); }, no));
  EXPECT_TRUE(throws_containing([&] { cuda_rt::copy_device_to_host(host, host, 4, 0); }, no));
  EXPECT_TRUE(throws_containing([&] { cuda_rt::copy_device_to_device(host, host, 4, 0); }, no));
  // What must never throw: releases of nothing, the default stream, the poison switch.
  cuda_rt::free_device(nullptr, 0);
  cuda_rt::free_host_pinned(nullptr);
  cuda_rt::destroy_stream(nullptr, 0);
  cuda_rt::set_poison_allocations(true);
  cuda_rt::set_poison_allocations(false);
  EXPECT_EQ(cuda_rt::current_stream(0), nullptr);
}

TEST(CudaRuntime, DevicesByIndex) {
  REQUIRE_GPU();
  const int n = cuda_rt::device_count();
  for (int i = 0; i < n; ++i) EXPECT_FALSE(cuda_rt::device_name(i).empty()) << i;
  cuda_rt::set_device(n - 1);
  EXPECT_EQ(cuda_rt::current_device(), n - 1);
  cuda_rt::set_device(0);
  EXPECT_EQ(cuda_rt::current_device(), 0);
  EXPECT_TRUE(throws_containing([n] { cuda_rt::set_device(n); }, "no CUDA device"));
  EXPECT_TRUE(throws_containing([] { cuda_rt::device_name(-1); }, "no CUDA device"));
  EXPECT_TRUE(throws_containing([n] { cuda_rt::memory_stats(n); }, std::to_string(n) + " device(s) are visible"));
  EXPECT_EQ(cuda_rt::current_device(), 0);  // a failed selection leaves the current device alone
  cuda_rt::synchronize(0);
}

TEST(CudaRuntime, CopiesRoundTrip) {
  REQUIRE_GPU();
  Generator g(5);
  Tensor x = randn({3, 7, 5}, g);
  Tensor back = x.to(Device::cuda(0)).to(Device::cpu());
  EXPECT_EQ(back.to_vector<float>(), x.to_vector<float>());
  // Device to device, then back: an odd byte count.
  Tensor y = Tensor::empty({105}, DType::Float32, cuda_test::gpu());
  Tensor xg = x.reshape({105}).to(cuda_test::gpu());
  cuda_rt::copy_device_to_device(y.raw_data(), xg.raw_data(), 105 * sizeof(float), 0);
  EXPECT_EQ(y.to(Device::cpu()).to_vector<float>(), x.to_vector<float>());
  cuda_rt::copy_device_to_device(y.raw_data(), xg.raw_data(), 0, 0);  // zero bytes: nothing
}

TEST(CudaRuntime, AllocatorStatisticsFollowTensors) {
  REQUIRE_GPU();
  cuda_rt::synchronize(0);
  cuda_rt::empty_cache(0);
  const cuda_rt::MemoryStats before = cuda_rt::memory_stats(0);
  EXPECT_EQ(before.cached_bytes, 0u);
  EXPECT_EQ(before.reserved_bytes, before.allocated_bytes);
  cuda_rt::reset_peak_memory_stats(0);
  EXPECT_EQ(cuda_rt::memory_stats(0).peak_allocated_bytes, before.allocated_bytes);
  {
    // 1000 floats = 4000 B -> a 4096 B block (small: multiples of 512 B);
    // 3 MiB + 4 B -> a 4 MiB block (large: multiples of 2 MiB).
    Tensor a = gpu_floats(1000);
    Tensor b = gpu_floats(3 * MiB / 4 + 1);
    const cuda_rt::MemoryStats s = cuda_rt::memory_stats(0);
    EXPECT_EQ(s.allocated_bytes, before.allocated_bytes + 4096 + 4 * MiB);
    EXPECT_EQ(s.peak_allocated_bytes, s.allocated_bytes);
    EXPECT_EQ(s.allocations, before.allocations + 2);
    EXPECT_EQ(s.device_mallocs, before.device_mallocs + 2);
    EXPECT_EQ(s.reserved_bytes, s.allocated_bytes + s.cached_bytes);
  }
  const cuda_rt::MemoryStats after = cuda_rt::memory_stats(0);
  EXPECT_EQ(after.allocated_bytes, before.allocated_bytes);
  EXPECT_EQ(after.cached_bytes, 4096 + 4 * MiB);
  EXPECT_EQ(after.peak_allocated_bytes, before.allocated_bytes + 4096 + 4 * MiB);
  const std::string text = cuda_rt::memory_stats_str(0);
  EXPECT_NE(text.find("cached 4 MiB"), std::string::npos) << text;  // 4 MiB + 4 KiB shows as "4 MiB"
  EXPECT_NE(text.find("allocated "), std::string::npos) << text;
}

TEST(CudaRuntime, AFreedBlockComesBackFromTheCache) {
  REQUIRE_GPU();
  cuda_rt::empty_cache(0);  // no older block of the same class to compete
  void* first = nullptr;
  {
    Tensor a = gpu_floats(12345);
    first = a.raw_data();
  }
  const cuda_rt::MemoryStats s0 = cuda_rt::memory_stats(0);
  Tensor b = gpu_floats(12300);  // 49200 B, like a's 49380 B, rounds to 49664 B (97 x 512 B)
  EXPECT_EQ(b.raw_data(), first);
  const cuda_rt::MemoryStats s1 = cuda_rt::memory_stats(0);
  EXPECT_EQ(s1.cache_hits, s0.cache_hits + 1);
  EXPECT_EQ(s1.device_mallocs, s0.device_mallocs);
}

TEST(CudaRuntime, EmptyCacheReturnsTheCachedBytes) {
  REQUIRE_GPU();
  { Tensor a = gpu_floats(3 * MiB); }
  EXPECT_GT(cuda_rt::memory_stats(0).cached_bytes, 0u);
  cuda_rt::empty_cache(0);
  const cuda_rt::MemoryStats s = cuda_rt::memory_stats(0);
  EXPECT_EQ(s.cached_bytes, 0u);
  EXPECT_EQ(s.reserved_bytes, s.allocated_bytes);
}

TEST(CudaRuntime, AnAbsurdSizeIsAnOutOfMemoryErrorWithTheStatistics) {
  REQUIRE_GPU();
  { Tensor cached = gpu_floats(1000); }  // something in the cache for the retry to return
  const cuda_rt::MemoryStats s0 = cuda_rt::memory_stats(0);
  const int64_t one_pib_of_floats = int64_t{1} << 48;  // 2^48 floats = 2^50 bytes = 1 PiB
  try {
    Tensor huge = gpu_floats(one_pib_of_floats);
    FAIL() << "a 1 PiB block was handed out";
  } catch (const Error& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("out of memory on cuda:0"), std::string::npos) << text;
    EXPECT_NE(text.find("asked for 1 PiB (1125899906842624 bytes"), std::string::npos) << text;
    EXPECT_NE(text.find("allocated "), std::string::npos) << text;
    EXPECT_NE(text.find("cached 0 B"), std::string::npos) << text;  // emptied for the retry
    EXPECT_NE(text.find("reserved "), std::string::npos) << text;
  }
  const cuda_rt::MemoryStats s1 = cuda_rt::memory_stats(0);
  EXPECT_EQ(s1.oom_retries, s0.oom_retries + 1);
  EXPECT_EQ(s1.cached_bytes, 0u);
  EXPECT_EQ(s1.allocated_bytes, s0.allocated_bytes);
  // The device still works.
  Tensor x = Tensor::full({17}, 2.5, DType::Float32, cuda_test::gpu());
  EXPECT_EQ(x.to(Device::cpu()).to_vector<float>(), std::vector<float>(17, 2.5f));
}

TEST(CudaRuntime, PoisoningMakesFreshBlocksNaN) {
  REQUIRE_GPU();
  {
    Tensor zeros = Tensor::zeros({1001}, DType::Float32, cuda_test::gpu());  // leaves zeros in the cache
  }
  {
    cuda_test::PoisonGuard poison;
    for (DType dt : {DType::Float32, DType::Float64}) {
      Tensor t = Tensor::empty({1001}, dt, cuda_test::gpu());  // possibly the cached zeros: poisoned anyway
      const std::vector<double> v = t.to(Device::cpu()).to_vector<double>();
      int not_nan = 0;
      for (double x : v) not_nan += std::isnan(x) ? 0 : 1;
      EXPECT_EQ(not_nan, 0) << dtype_name(dt);
    }
  }
  // Off again: a block filled by a kernel reads back as written.
  Tensor ones = Tensor::ones({1001}, DType::Float32, cuda_test::gpu());
  EXPECT_EQ(ones.to(Device::cpu()).to_vector<float>(), std::vector<float>(1001, 1.0f));
}

TEST(CudaRuntime, BadFreesAreReportedNotThrown) {
  REQUIRE_GPU();
  void* p = cuda_rt::malloc_device(1000, 0);
  ASSERT_NE(p, nullptr);
  cuda_rt::free_device(p, 0);
  ::testing::internal::CaptureStderr();
  cuda_rt::free_device(p, 0);  // double free: a message, no exception, no crash
  int local = 0;
  cuda_rt::free_device(&local, 0);  // not loom's
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("double free"), std::string::npos) << err;
  EXPECT_NE(err.find("unknown pointer"), std::string::npos) << err;
  EXPECT_EQ(cuda_rt::malloc_device(0, 0), nullptr);
}

TEST(CudaRuntime, WorkOnASideStreamWithAStreamGuard) {
  REQUIRE_GPU();
  cuda_rt::empty_cache(0);  // the only cached 4 MiB block below will be the side stream's
  Generator g(21);
  Tensor x = randn({1000003}, g);
  Tensor xg = x.to(cuda_test::gpu());
  cuda_rt::StreamHandle side = cuda_rt::create_stream(0);
  ASSERT_NE(side, nullptr);
  EXPECT_EQ(cuda_rt::current_stream(0), nullptr);
  Tensor yg;
  void* side_block = nullptr;
  {
    cuda_rt::StreamGuard guard(0, side);
    EXPECT_EQ(cuda_rt::current_stream(0), side);
    cuda_test::PoisonGuard poison;  // an element the kernel misses stays NaN
    yg = xg * 3.0;                  // the kernel and the result's block on the side stream
    side_block = yg.raw_data();
  }
  EXPECT_EQ(cuda_rt::current_stream(0), nullptr);  // the guard restored the default stream
  cuda_rt::synchronize_stream(side, 0);
  EXPECT_TRUE(cuda_test::close_to_reference(yg, x * 3.0, 1e-6, 1e-6));
  // Freed on the side stream and that stream finished: the default stream may take the block.
  yg = Tensor();
  cuda_rt::synchronize_stream(side, 0);
  Tensor z = Tensor::empty({1000003}, DType::Float32, cuda_test::gpu());
  EXPECT_EQ(z.raw_data(), side_block);
  // A block still allocated on the stream survives its destruction.
  Tensor w;
  {
    cuda_rt::StreamGuard guard(0, side);
    w = Tensor::full({33}, 7.0, DType::Float32, cuda_test::gpu());
  }
  cuda_rt::destroy_stream(side, 0);  // waits for w's fill
  EXPECT_EQ(w.to(Device::cpu()).to_vector<float>(), std::vector<float>(33, 7.0f));
  w = Tensor();  // freed after its stream died: no error
}

// The Philox fill runs on the current stream like every kernel: on a side
// (non-blocking) stream with poisoning on, a fill queued elsewhere could land
// before the poison memset or after the op that reads it, leaving NaN or stale values.
TEST(CudaRuntime, RandomFillRunsOnTheCurrentStream) {
  REQUIRE_GPU();
  cuda_rt::StreamHandle side = cuda_rt::create_stream(0);
  Generator gc(31), gg(31);
  const Tensor ref = randn({1 << 22}, gc) * 2.0;
  Tensor got;
  {
    cuda_rt::StreamGuard guard(0, side);
    cuda_test::PoisonGuard poison;
    got = randn({1 << 22}, gg, DType::Float32, cuda_test::gpu()) * 2.0;
  }
  cuda_rt::synchronize_stream(side, 0);
  EXPECT_TRUE(cuda_test::close_to_reference(got, ref, 0, 0));
  got = Tensor();
  cuda_rt::destroy_stream(side, 0);
}

TEST(CudaRuntime, PinnedBuffersRoundTrip) {
  REQUIRE_GPU();
  const size_t n = 1000003;
  float* src = static_cast<float*>(cuda_rt::malloc_host_pinned(n * sizeof(float)));
  float* dst = static_cast<float*>(cuda_rt::malloc_host_pinned(n * sizeof(float)));
  ASSERT_NE(src, nullptr);
  ASSERT_NE(dst, nullptr);
  Generator g(3);
  const std::vector<float> values = randn({static_cast<int64_t>(n)}, g).to_vector<float>();
  std::memcpy(src, values.data(), n * sizeof(float));
  std::memset(dst, 0, n * sizeof(float));
  void* dev = cuda_rt::malloc_device(n * sizeof(float), 0);
  cuda_rt::copy_host_to_device(dev, src, n * sizeof(float), 0);
  cuda_rt::copy_device_to_host(dst, dev, n * sizeof(float), 0);
  EXPECT_EQ(std::memcmp(dst, values.data(), n * sizeof(float)), 0);
  cuda_rt::free_device(dev, 0);
  cuda_rt::free_host_pinned(src);
  cuda_rt::free_host_pinned(dst);
  EXPECT_EQ(cuda_rt::malloc_host_pinned(0), nullptr);
}

TEST(CudaRuntime, PhiloxStreamIsBitIdenticalOnCpuAndCuda) {
  REQUIRE_GPU();
  for (DType dt : {DType::Float32, DType::Float64}) {
    Generator gc(99), gg(99);
    // An odd count, and a second draw so the offsets advance identically.
    for (int round = 0; round < 2; ++round) {
      Tensor uc = rand({1001}, gc, dt), ug = rand({1001}, gg, dt, Device::cuda(0));
      EXPECT_EQ(uc.to_vector<double>(), ug.to(Device::cpu()).to_vector<double>()) << dtype_name(dt);
      Tensor nc = randn({999}, gc, dt), ng = randn({999}, gg, dt, Device::cuda(0));
      EXPECT_EQ(nc.to_vector<double>(), ng.to(Device::cpu()).to_vector<double>()) << dtype_name(dt);
      Tensor bc = bernoulli({333}, 0.25, gc, dt), bg = bernoulli({333}, 0.25, gg, dt, Device::cuda(0));
      EXPECT_EQ(bc.to_vector<double>(), bg.to(Device::cpu()).to_vector<double>()) << dtype_name(dt);
    }
    EXPECT_EQ(gc.state(), gg.state());
  }
}
