// bench_conv.cpp: CPU float32 convolution speed at the DCGAN 64x64 layer shapes
// (nz 100, width 64, batch 64), each layer's forward pass and both backward
// passes, on 2 OpenMP threads (OMP_NUM_THREADS overrides).
//
//   conv_transpose2d/G<i>_... (generator)       conv2d/D<i>_... (discriminator)
//     fwd   ops::conv_transpose2d(x, W)           ops::conv2d(x, W)
//     dx    ops::conv2d(g, W)                     ops::conv2d_backward_input(g, W)
//     dW    ops::conv2d_backward_weight(x, g)     ops::conv2d_backward_weight(g, x)
// (the backward passes are exactly what autograd/conv.cpp calls).
//
// Inputs are fresh Philox randn tensors; each timed call allocates its result,
// as a model's call does. Counter GFLOP/s = useful flops / wall time
// (UseRealTime: the work is threaded), with the usual count of 2 flops per
// multiply-add over all kernel taps:
//   conv2d            2 N OC OH OW C KH KW
//   conv_transpose2d  2 N IC H W OC KH KW   (every input pixel times the kernel)
// The same count is used for the backward passes, which do the same work.
// bench/peer_conv.py measures PyTorch on the same shapes; bench/run_conv_bench.sh
// runs both and prints the comparison.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/ops.h"
#include "tensor/random.h"

namespace {

using namespace loom;

struct Layer {
  const char* name;
  bool transposed;
  int64_t N, IC, OC, H, K, stride, pad;  // input (N, IC, H, H), kernel K x K
  int64_t out_size() const {
    return transposed ? (H - 1) * stride - 2 * pad + K : (H + 2 * pad - K) / stride + 1;
  }
  double flops() const {
    const double taps = static_cast<double>(IC) * OC * K * K;
    if (transposed) return 2.0 * N * H * H * taps;  // each input pixel spreads the kernel
    const double o = static_cast<double>(out_size());
    return 2.0 * N * o * o * taps;
  }
  Shape weight_shape() const { return transposed ? Shape{IC, OC, K, K} : Shape{OC, IC, K, K}; }
};

constexpr int64_t kBatch = 64;
const std::vector<Layer> kLayers = {
    {"G1_100x1x1_to_512x4x4", true, kBatch, 100, 512, 1, 4, 1, 0},
    {"G2_512x4x4_to_256x8x8", true, kBatch, 512, 256, 4, 4, 2, 1},
    {"G3_256x8x8_to_128x16x16", true, kBatch, 256, 128, 8, 4, 2, 1},
    {"G4_128x16x16_to_64x32x32", true, kBatch, 128, 64, 16, 4, 2, 1},
    {"G5_64x32x32_to_3x64x64", true, kBatch, 64, 3, 32, 4, 2, 1},
    {"D1_3x64x64_to_64x32x32", false, kBatch, 3, 64, 64, 4, 2, 1},
    {"D2_64x32x32_to_128x16x16", false, kBatch, 64, 128, 32, 4, 2, 1},
    {"D3_128x16x16_to_256x8x8", false, kBatch, 128, 256, 16, 4, 2, 1},
    {"D4_256x8x8_to_512x4x4", false, kBatch, 256, 512, 8, 4, 2, 1},
    {"D5_512x4x4_to_1x1x1", false, kBatch, 512, 1, 4, 4, 1, 0},
};

enum class Pass { Forward, BackwardInput, BackwardWeight };
const char* pass_name(Pass p) { return p == Pass::Forward ? "fwd" : p == Pass::BackwardInput ? "dx" : "dW"; }

void run_layer(benchmark::State& state, const Layer& L, Pass pass) {
  Conv2dOptions opt;
  opt.stride = {L.stride, L.stride};
  opt.padding = {L.pad, L.pad};
  Generator gen(2024);
  const int64_t O = L.out_size();
  Tensor x = randn({L.N, L.IC, L.H, L.H}, gen);       // (N, IC, H, H)
  Tensor w = ops::mul_scalar(randn(L.weight_shape(), gen), 0.02);  // DCGAN's N(0, 0.02) init scale
  Tensor g = randn({L.N, L.OC, O, O}, gen);           // d loss / d y: (N, OC, O, O)
  for (auto _ : state) {
    Tensor r;
    if (L.transposed) {
      switch (pass) {
        case Pass::Forward: r = ops::conv_transpose2d(x, w, Tensor(), opt); break;
        case Pass::BackwardInput: r = ops::conv2d(g, w, Tensor(), opt); break;
        case Pass::BackwardWeight: r = ops::conv2d_backward_weight(x, g, w.shape(), opt); break;
      }
    } else {
      switch (pass) {
        case Pass::Forward: r = ops::conv2d(x, w, Tensor(), opt); break;
        case Pass::BackwardInput: r = ops::conv2d_backward_input(g, w, x.shape(), opt); break;
        case Pass::BackwardWeight: r = ops::conv2d_backward_weight(g, x, w.shape(), opt); break;
      }
    }
    benchmark::DoNotOptimize(r.raw_data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(L.flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  if (std::getenv("OMP_NUM_THREADS") == nullptr) omp_set_num_threads(2);
  for (const Layer& L : kLayers)
    for (Pass p : {Pass::Forward, Pass::BackwardInput, Pass::BackwardWeight}) {
      const std::string name =
          std::string(L.transposed ? "conv_transpose2d/" : "conv2d/") + L.name + "/" + pass_name(p);
      benchmark::RegisterBenchmark(name.c_str(), [&L, p](benchmark::State& s) { run_layer(s, L, p); })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
