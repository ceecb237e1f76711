// bench_fma_peak.cpp: the machine's physical fp32 FMA peak, measured, so GEMM
// results can be stated as a share of it.
//
// Each thread runs CHAINS independent FMA chains held in registers,
//   acc_i = acc_i * m + c          (one vfmadd per chain per step)
// with no loads or stores in the loop. With enough chains to cover the FMA
// latency (latency x pipes: 4 x 2 = 8 on Zen 4 for 256-bit; we use 16), the
// loop runs at the FMA throughput: flops = 2 x lanes x chains x steps.
// (m < 1, so the values converge and never overflow or turn denormal.)
//
// BM_FmaPeak/<isa>/<threads>: isa 512 (AVX-512, 16 lanes) or 256 (AVX2, 8
// lanes); threads 1 or 2 (one team of OpenMP threads, each running the same
// loop). Counter GFLOP/s; real (wall) time.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <string>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace {

constexpr int kChains = 16;
constexpr long kSteps = 4'000'000;  // per thread per benchmark iteration (~20-40 ms)

#if defined(__AVX512F__)
__attribute__((noinline)) float fma_chains_512(long steps, float seed) {
  __m512 acc[kChains];
  const __m512 m = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(seed * 1e-3f);
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(seed + static_cast<float>(i));
  for (long s = 0; s < steps; ++s) {
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], m, c);  // acc = acc m + c
  }
  __m512 total = acc[0];
  for (int i = 1; i < kChains; ++i) total = _mm512_add_ps(total, acc[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, total);
  return lanes[0] + lanes[15];
}
#endif

#if defined(__AVX2__) && defined(__FMA__)
__attribute__((noinline)) float fma_chains_256(long steps, float seed) {
  __m256 acc[kChains];
  const __m256 m = _mm256_set1_ps(0.9999999f), c = _mm256_set1_ps(seed * 1e-3f);
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(seed + static_cast<float>(i));
  for (long s = 0; s < steps; ++s) {
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], m, c);  // acc = acc m + c
  }
  __m256 total = acc[0];
  for (int i = 1; i < kChains; ++i) total = _mm256_add_ps(total, acc[i]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, total);
  return lanes[0] + lanes[7];
}
#endif

void BM_FmaPeak(benchmark::State& state) {
  const int isa = static_cast<int>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  const int lanes = isa == 512 ? 16 : 8;
#if !defined(__AVX512F__)
  if (isa == 512) {
    state.SkipWithError("not compiled with AVX-512");
    return;
  }
#endif
#if !(defined(__AVX2__) && defined(__FMA__))
  state.SkipWithError("not compiled with AVX2/FMA");
  return;
#endif
  volatile float seed = 1.0f;  // opaque to the optimiser
  for (auto _ : state) {
    float sum = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sum)
    {
#if defined(__AVX512F__)
      if (isa == 512) sum += fma_chains_512(kSteps, seed);
#endif
#if defined(__AVX2__) && defined(__FMA__)
      if (isa == 256) sum += fma_chains_256(kSteps, seed);
#endif
    }
    benchmark::DoNotOptimize(sum);
  }
  const double flops_per_iteration = 2.0 * lanes * kChains * static_cast<double>(kSteps) * threads;
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(isa == 512 ? "avx512" : "avx2") + ", " + std::to_string(threads) + " thread(s)");
}

BENCHMARK(BM_FmaPeak)
    ->ArgNames({"isa", "threads"})
    ->Args({512, 1})
    ->Args({256, 1})
    ->Args({512, 2})
    ->Args({256, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
