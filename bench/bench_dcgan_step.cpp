// bench_dcgan_step.cpp: wall time of one whole DCGAN training iteration
// (dcgan_step.h) at batch 64 for 32x32 and 64x64 images, on all cores. The
// PyTorch peer is bench/peer_dcgan.py; bench/run_dcgan_bench.sh runs both.
#include <benchmark/benchmark.h>

#include "dcgan_step.h"

using namespace loom;

static void BM_DcganIteration(benchmark::State& state) {
  const int64_t image = state.range(0), batch = 64;
  Generator g(1);
  bench::Dcgan m = bench::make_dcgan(image, g);
  Tensor real = uniform({batch, 3, image, image}, -1.0, 1.0, g);
  bench::dcgan_iteration(m, real, g);  // warm-up: first allocations
  for (auto _ : state) {
    double e = bench::dcgan_iteration(m, real, g);
    benchmark::DoNotOptimize(e);
  }
  state.counters["images_per_s"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_DcganIteration)->Arg(32)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

BENCHMARK_MAIN();
