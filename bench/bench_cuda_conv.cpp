// bench_cuda_conv.cpp: loom's CUDA convolution algorithms (kernels/cuda/conv_algo.h)
// at the layer shapes of its models (bench/cuda_layers.h: DCGAN 64px G and D
// at batch 64 and 128, a U-Net 64px subset at batch 64), each pass, each
// precision, beside cuDNN when loom was built with it, all in one run.
//
//   algorithm  precisions          layers                        (run in this order)
//   cudnn      fp32, tf32          all, when built with cuDNN
//   implicit   fp32, tf32          all
//   auto       fp32                all (what the conv ops pick by default)
//   im2col     fp32, tf32, bf16    all
// (the precisions each algorithm accepts: cuDNN and the implicit GEMM refuse
// bf16 on float32 tensors; im2col passes any precision to gemm::run)
//   direct     fp32                layers with at most 8 channels on one side
//                                  (it is meant for those; elsewhere it is slow)
//
// Passes, as autograd runs them (same mapping as bench/bench_conv.cpp):
//   conv2d layer (D, U-Net convs)        conv_transpose2d layer (G, U-Net ups)
//   fwd  forward(x, W)                   backward_input(x, W, y shape)
//   dx   backward_input(g, W, x shape)   forward(g, W)
//   dW   backward_weight(g, x, W shape)  backward_weight(x, g, W shape)
// with x the layer input, g = d loss / d output, fresh N(0, 1) numbers (W scaled
// by 0.02, DCGAN's init), rotated among several sets when one fits in L2. No
// bias, no activation. Each call allocates its result, as a model's call does.
//
// Name: conv/<algo>/<precision>/<layer>/<pass>, e.g.
// conv/implicit/tf32/dcgan_b128_D2_64x32x32_to_128x16x16/fwd.
// Counter GFLOP/s = layer flops / median time (2 flops per multiply-add over
// every kernel tap; the same count for the backward passes).
// Extra flags (bench/cuda_bench_util.h): --samples=N --min_sample_ms=X
// --max_bench_s=X --list_shapes.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/cuda_bench_util.h"
#include "bench/cuda_layers.h"
#include "kernels/cuda/conv_algo.h"
#include "kernels/ops.h"
#include "kernels/vendor/backend.h"
#include "tensor/random.h"

namespace {

using namespace loom;
using namespace loom::cuda_bench;
namespace conv = loom::cuda::conv;
using loom::cuda::gemm::Precision;

enum class Pass { Forward, BackwardInput, BackwardWeight };
const char* pass_name(Pass p) { return p == Pass::Forward ? "fwd" : p == Pass::BackwardInput ? "dx" : "dW"; }

std::string prec_tag(Precision p) {
  return p == Precision::FP32 ? "fp32" : p == Precision::TF32 ? "tf32" : "bf16";
}

struct AlgoRun {
  conv::Algo algo;
  std::vector<Precision> precisions;
};

// In the order they run: cuDNN first (the reference), then the default
// implicit GEMM, so that a run cut short by a time limit still compares them.
std::vector<AlgoRun> algos_to_time() {
  std::vector<AlgoRun> runs;
  if (vendor::cudnn_built()) runs.push_back({conv::Algo::Cudnn, {Precision::FP32, Precision::TF32}});
  runs.push_back({conv::Algo::ImplicitGemm, {Precision::FP32, Precision::TF32}});
  runs.push_back({conv::Algo::Auto, {Precision::FP32}});
  runs.push_back({conv::Algo::Im2colGemm, {Precision::FP32, Precision::TF32, Precision::BF16}});
  runs.push_back({conv::Algo::Direct, {Precision::FP32}});
  return runs;
}

bool algo_applies(conv::Algo a, const ConvLayer& L) {
  return a != conv::Algo::Direct || std::min(L.in_ch, L.out_ch) <= 8;
}

struct Operands {
  Tensor x, w, g;  // layer input (N, IC, H, H), weight, d loss / d output (N, OC, O, O)
};

Tensor run_pass(const ConvLayer& L, Pass pass, const Operands& o, const Conv2dOptions& opt, conv::Algo algo,
                Precision prec) {
  const int64_t O = L.out_size();
  if (L.transposed) {
    switch (pass) {
      case Pass::Forward: return conv::backward_input(o.x, o.w, {L.batch, L.out_ch, O, O}, opt, algo, prec);
      case Pass::BackwardInput: return conv::forward(o.g, o.w, Tensor(), opt, algo, prec);
      case Pass::BackwardWeight: return conv::backward_weight(o.x, o.g, o.w.shape(), opt, algo, prec);
    }
  } else {
    switch (pass) {
      case Pass::Forward: return conv::forward(o.x, o.w, Tensor(), opt, algo, prec);
      case Pass::BackwardInput: return conv::backward_input(o.g, o.w, o.x.shape(), opt, algo, prec);
      case Pass::BackwardWeight: return conv::backward_weight(o.g, o.x, o.w.shape(), opt, algo, prec);
    }
  }
  return Tensor();
}

void bm_conv(benchmark::State& state, const ConvLayer& L, Pass pass, conv::Algo algo, Precision prec,
             uint64_t seed) {
  Conv2dOptions opt;
  opt.stride = {L.stride, L.stride};
  opt.padding = {L.pad, L.pad};
  const int64_t O = L.out_size();
  const Shape x_shape{L.batch, L.in_ch, L.in_size, L.in_size};
  const Shape w_shape = L.transposed ? Shape{L.in_ch, L.out_ch, L.kernel, L.kernel}
                                     : Shape{L.out_ch, L.in_ch, L.kernel, L.kernel};
  const Shape g_shape{L.batch, L.out_ch, O, O};
  std::vector<Operands> sets;
  std::vector<Tensor> results;
  const bool ready = guarded(state, [&] {
    const GpuInfo gi = gpu_info();
    const double set_bytes = 4.0 * static_cast<double>(numel_of(x_shape) + 2 * numel_of(w_shape) +
                                                       2 * numel_of(g_shape));  // inputs and the largest result
    const int count = rotation_sets(set_bytes, gi.l2_bytes);
    Generator gen(seed);
    for (int i = 0; i < count; ++i)
      sets.push_back({randn(x_shape, gen, DType::Float32, Device::cuda(0)),
                      ops::mul_scalar(randn(w_shape, gen, DType::Float32, Device::cuda(0)), 0.02),
                      randn(g_shape, gen, DType::Float32, Device::cuda(0))});
    results.resize(sets.size());
  });
  if (!ready) return release_memory();
  Timing t;
  const bool ok = run_timed(
      state,
      [&](int64_t i) {
        const size_t slot = static_cast<size_t>(i) % sets.size();
        results[slot] = run_pass(L, pass, sets[slot], opt, algo, prec);
      },
      &t);
  if (ok && t.median_s > 0) {
    state.counters["GFLOP/s"] = L.flops() / t.median_s * 1e-9;
    state.counters["input_sets"] = static_cast<double>(sets.size());
    state.SetLabel(std::string(conv::algo_name(algo)) + " " + prec_tag(prec));
  }
  results.clear();
  sets.clear();
  release_memory();
}

void list_shapes() {
  std::printf("{\"conv\": [");
  const std::vector<ConvLayer> layers = benchmark_conv_layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    const ConvLayer& L = layers[i];
    std::printf("%s\n  {\"name\": %s, \"transposed\": %s, \"batch\": %lld, \"in_ch\": %lld, \"out_ch\": %lld, "
                "\"in_size\": %lld, \"out_size\": %lld, \"kernel\": %lld, \"stride\": %lld, \"pad\": %lld, "
                "\"flops\": %.0f}",
                i ? "," : "", json_str(L.name).c_str(), L.transposed ? "true" : "false",
                static_cast<long long>(L.batch), static_cast<long long>(L.in_ch), static_cast<long long>(L.out_ch),
                static_cast<long long>(L.in_size), static_cast<long long>(L.out_size()),
                static_cast<long long>(L.kernel), static_cast<long long>(L.stride), static_cast<long long>(L.pad),
                L.flops());
  }
  std::printf("\n]}\n");
}

}  // namespace

int main(int argc, char** argv) {
  GpuInfo g;
  if (const int rc = start_cuda_bench(argc, argv, "bench_cuda_conv", list_shapes, g); rc >= 0) return rc;
  std::fprintf(stderr, "bench_cuda_conv: %s; cuDNN %s\n", g.name.c_str(),
               vendor::cudnn_built() ? "built" : "not built (no cudnn rows)");
  benchmark::AddCustomContext("cudnn_built", vendor::cudnn_built() ? "yes" : "no");

  static const std::vector<ConvLayer> layers = benchmark_conv_layers();
  uint64_t seed = 5000;
  for (const AlgoRun& run : algos_to_time())
    for (Precision p : run.precisions)
      for (const ConvLayer& L : layers) {
        if (!algo_applies(run.algo, L)) continue;
        for (Pass pass : {Pass::Forward, Pass::BackwardInput, Pass::BackwardWeight}) {
          const std::string name = std::string("conv/") + conv::algo_name(run.algo) + "/" + prec_tag(p) + "/" +
                                   L.name + "/" + pass_name(pass);
          const conv::Algo algo = run.algo;
          const uint64_t bench_seed = seed++;
          benchmark::RegisterBenchmark(name.c_str(),
                                       [&L, pass, algo, p, bench_seed](benchmark::State& st) {
                                         bm_conv(st, L, pass, algo, p, bench_seed);
                                       })
              ->Iterations(1)
              ->UseManualTime()
              ->Unit(benchmark::kMicrosecond);
        }
      }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
