// bench_matmul.cpp: CPU float32 matrix product speed.
//
//   BM_Matmul/n/threads   ops::matmul of two fresh (n, n) randn tensors (loom's
//                         Philox), result allocation included: what a model gets.
//   BM_Gemm/n/threads     cpu::gemm into a preallocated C: the kernel alone.
//   BM_GemmBlocking/mc/kc cpu::gemm at n = 1024, 2 threads, with the given
//                         block sizes (a sweep for tuning; not run by the
//                         results script).
// Counter GFLOP/s = 2 n^3 / wall time (UseRealTime: the work is threaded).
#include <benchmark/benchmark.h>
#include <omp.h>

#include "kernels/cpu/gemm.h"
#include "kernels/ops.h"
#include "tensor/random.h"

namespace {

using namespace loom;

// Sets the OpenMP thread count for one benchmark and restores it after.
struct ThreadScope {
  int saved = omp_get_max_threads();
  explicit ThreadScope(int threads) { omp_set_num_threads(threads); }
  ~ThreadScope() { omp_set_num_threads(saved); }
};

void set_flops(benchmark::State& state, double n) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * n * n * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);  // 2 n^3 per matmul
}

void BM_Matmul(benchmark::State& state) {
  const int64_t n = state.range(0);
  ThreadScope threads(static_cast<int>(state.range(1)));
  Generator gen(2024);
  Tensor a = randn({n, n}, gen), b = randn({n, n}, gen);  // (n, n) float32
  for (auto _ : state) {
    Tensor c = ops::matmul(a, b);  // (n, n)
    benchmark::DoNotOptimize(c.raw_data());
    benchmark::ClobberMemory();
  }
  set_flops(state, static_cast<double>(n));
  state.SetLabel(cpu::gemm_kernel_name(cpu::GemmKernel::Auto));
}
BENCHMARK(BM_Matmul)
    ->ArgNames({"n", "threads"})
    ->Args({256, 2})
    ->Args({512, 2})
    ->Args({1024, 2})
    ->Args({1024, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_Gemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  ThreadScope threads(static_cast<int>(state.range(1)));
  Generator gen(2024);
  Tensor a = randn({n, n}, gen), b = randn({n, n}, gen), c = Tensor::empty({n, n});
  for (auto _ : state) {
    cpu::gemm(n, n, n, 1.0f, a.data<float>(), n, 1, b.data<float>(), n, 1, 0.0f, c.data<float>(), n);
    benchmark::DoNotOptimize(c.raw_data());
    benchmark::ClobberMemory();
  }
  set_flops(state, static_cast<double>(n));
}
BENCHMARK(BM_Gemm)
    ->ArgNames({"n", "threads"})
    ->Args({256, 2})
    ->Args({512, 2})
    ->Args({1024, 2})
    ->Args({1024, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_GemmBlocking(benchmark::State& state) {
  const int64_t n = 1024;
  ThreadScope threads(2);
  Generator gen(2024);
  Tensor a = randn({n, n}, gen), b = randn({n, n}, gen), c = Tensor::empty({n, n});
  const cpu::GemmConfig cfg{cpu::GemmKernel::Auto, state.range(0), state.range(1), 0};
  for (auto _ : state) {
    cpu::gemm(cfg, n, n, n, 1.0f, a.data<float>(), n, 1, b.data<float>(), n, 1, 0.0f, c.data<float>(), n);
    benchmark::DoNotOptimize(c.raw_data());
    benchmark::ClobberMemory();
  }
  set_flops(state, static_cast<double>(n));
}
BENCHMARK(BM_GemmBlocking)
    ->ArgNames({"mc", "kc"})
    ->ArgsProduct({{48, 96, 192, 384}, {256, 384, 512, 1024}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
