// bench_cuda_gemm.cpp: every CUDA GEMM version of loom (kernels/cuda/gemm.h,
// gemm::versions()) in every precision it supports, beside cuBLAS (the
// versions "cublas" = SGEMM, "cublas_tf32", "cublas_bf16" and "cublaslt", which
// versions() lists when loom was built with cuBLAS), all in one run, at
//   - square 1024, 2048, 4096 (the naive version only up to 2048: at 4096 one
//     call takes seconds);
//   - the GEMM shapes of loom's model layers (bench/cuda_layers.h has the list
//     and its sources): DCGAN 64px G and D at batch 64 and 128, U-Net 64px
//     batch 64, and the WAE's two Linear layers (its convs are DCGAN's):
//       conv2d            M = N*OH*OW, N = OC, K = C*KH*KW (implicit GEMM)
//       conv_transpose2d  M = N*H*W,   N = OC*KH*KW, K = IC (GEMM before col2im)
//       Linear in->out    M = batch,   N = out, K = in
// Layout NN, row-major, alpha 1, beta 0, batch 1; A (M, K) and B (K, N) are
// fresh N(0, 1) numbers (loom's Philox on the device), rotated among several
// sets when one set fits in L2 (bench/cuda_bench_util.h).
//
// Name: gemm/<version>/<precision>/<shape>, e.g. gemm/6_warptile/fp32/square_4096.
// Counters: GFLOP/s = 2 M N K / median time; pct_peak = GFLOP/s / the
// precision's peak (printed at start, also in the JSON context); M, N, K.
// Peaks (dense, datasheet): H100 SXM and H200: fp32 SIMT 66.9, TF32 494.7,
// BF16 989.4 TFLOP/s; H100 PCIe 51.2 / 378 / 756; H100 and H200 NVL 60 / 418 / 835.
// Another GPU: fp32 = SMs x 128 lanes x 2 x clock, tensor peaks unknown (0);
// LOOM_PEAK_FP32_TFLOPS, LOOM_PEAK_TF32_TFLOPS, LOOM_PEAK_BF16_TFLOPS override.
//
// Extra flags (bench/cuda_bench_util.h): --samples=N --min_sample_ms=X
// --max_bench_s=X --list_shapes.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/cuda_bench_util.h"
#include "bench/cuda_layers.h"
#include "kernels/cuda/gemm.h"
#include "kernels/vendor/backend.h"
#include "tensor/random.h"

namespace {

using namespace loom;
using namespace loom::cuda_bench;
namespace gemm = loom::cuda::gemm;

struct GemmShape {
  std::string name;  // square_4096, dcgan_b64_D2_..., wae_b64_enc_linear_8192_to_64
  int64_t m, n, k;
  double flops() const { return 2.0 * static_cast<double>(m) * n * k; }
};

std::vector<GemmShape> benchmark_shapes() {
  std::vector<GemmShape> shapes;
  for (int64_t s : {1024, 2048, 4096}) shapes.push_back({"square_" + std::to_string(s), s, s, s});
  std::vector<ConvLayer> layers = dcgan_layers(64);
  for (const ConvLayer& L : dcgan_layers(128)) layers.push_back(L);
  for (const ConvLayer& L : unet_layers(64)) layers.push_back(L);
  for (const ConvLayer& L : layers) {
    const ConvLayer::Gemm g = L.forward_gemm();
    shapes.push_back({L.name, g.m, g.n, g.k});
  }
  // WAE 64px, width 64, latent 64, batch 64: Linear 512*4*4 -> 64 and 64 -> 512*4*4.
  shapes.push_back({"wae_b64_enc_linear_8192_to_64", 64, 64, 8192});
  shapes.push_back({"wae_b64_dec_project_64_to_8192", 64, 8192, 64});
  return shapes;
}

// ---- peaks ----
struct Peaks {
  double fp32 = 0, tf32 = 0, bf16 = 0;  // TFLOP/s, dense
  std::string source;
};

double env_or(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atof(v) : fallback;
}

Peaks peaks_for(const GpuInfo& g) {
  Peaks p;
  const std::string& n = g.name;
  auto has = [&](const char* s) { return n.find(s) != std::string::npos; };
  if ((has("H100") || has("H200")) && has("NVL")) {
    p = {60.0, 417.5, 835.0, "H100 NVL / H200 NVL datasheet (dense)"};
  } else if (has("H100") && has("PCIe")) {
    p = {51.2, 378.0, 756.0, "H100 PCIe datasheet (dense)"};
  } else if (has("H100") || has("H200")) {
    p = {66.9, 494.7, 989.4, "H100 SXM / H200 datasheet (dense)"};
  } else {
    p.fp32 = g.sm_count * 128.0 * 2.0 * g.clock_khz * 1e3 * 1e-12;
    p.source = "estimated: SMs x 128 fp32 lanes x 2 x clock; tensor-core peaks unknown";
  }
  p.fp32 = env_or("LOOM_PEAK_FP32_TFLOPS", p.fp32);
  p.tf32 = env_or("LOOM_PEAK_TF32_TFLOPS", p.tf32);
  p.bf16 = env_or("LOOM_PEAK_BF16_TFLOPS", p.bf16);
  return p;
}

double peak_of(const Peaks& p, gemm::Precision prec) {
  switch (prec) {
    case gemm::Precision::FP32: return p.fp32;
    case gemm::Precision::TF32: return p.tf32;
    case gemm::Precision::BF16: return p.bf16;
  }
  return 0;
}

// "fp32", "tf32", "bf16": the precision as it appears in every result name.
std::string prec_tag(gemm::Precision p) {
  switch (p) {
    case gemm::Precision::FP32: return "fp32";
    case gemm::Precision::TF32: return "tf32";
    case gemm::Precision::BF16: return "bf16";
  }
  return "?";
}

// Versions to time, in the order they run: the vendor ones (cuBLAS SGEMM,
// TF32, BF16 and cublasLt, which versions() lists when loom was built with
// cuBLAS) first, then loom's from the last version to the first, so that a run
// cut short by a time limit still has the reference and the fast versions.
std::vector<gemm::VersionInfo> versions_to_time() {
  std::vector<gemm::VersionInfo> all = gemm::versions(), ordered;
  auto vendor_version = [](const gemm::VersionInfo& v) { return v.name.rfind("cublas", 0) == 0; };
  for (const auto& v : all)
    if (vendor_version(v)) ordered.push_back(v);
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (!vendor_version(*it)) ordered.push_back(*it);
  return ordered;
}

bool is_slow_version(const std::string& name) {
  return name.rfind("1_", 0) == 0 || name.find("naive") != std::string::npos;
}

struct Operands {
  Tensor a, b, c;  // (M, K), (K, N), (M, N) on the GPU
};

void bm_gemm(benchmark::State& state, const std::string& version, gemm::Precision prec, const GemmShape& s,
             double peak_tflops, uint64_t seed) {
  std::vector<Operands> sets;
  const bool ready = guarded(state, [&] {
    const GpuInfo g = gpu_info();
    const double set_bytes = 4.0 * static_cast<double>(s.m * s.k + s.k * s.n + s.m * s.n);
    const int count = rotation_sets(set_bytes, g.l2_bytes);
    Generator gen(seed);
    for (int i = 0; i < count; ++i)
      sets.push_back({randn({s.m, s.k}, gen, DType::Float32, Device::cuda(0)),
                      randn({s.k, s.n}, gen, DType::Float32, Device::cuda(0)),
                      Tensor::empty({s.m, s.n}, DType::Float32, Device::cuda(0))});
  });
  if (!ready) return release_memory();
  Timing t;
  const bool ok = run_timed(
      state,
      [&](int64_t i) {
        const Operands& o = sets[static_cast<size_t>(i) % sets.size()];
        gemm::Args args;
        args.m = s.m;
        args.n = s.n;
        args.k = s.k;
        args.a = o.a.data<float>();
        args.lda = s.k;
        args.b = o.b.data<float>();
        args.ldb = s.n;
        args.c = o.c.data<float>();
        args.ldc = s.n;
        gemm::run(args, prec, version);
      },
      &t);
  if (ok && t.median_s > 0) {
    const double gflops = s.flops() / t.median_s * 1e-9;
    state.counters["GFLOP/s"] = gflops;
    state.counters["pct_peak"] = peak_tflops > 0 ? 100.0 * gflops / (1e3 * peak_tflops) : 0;
    state.counters["M"] = static_cast<double>(s.m);
    state.counters["N"] = static_cast<double>(s.n);
    state.counters["K"] = static_cast<double>(s.k);
    state.counters["input_sets"] = static_cast<double>(sets.size());
    state.SetLabel(prec_tag(prec) + " " + version);
  }
  sets.clear();
  release_memory();
}

void list_shapes() {
  std::printf("{\"gemm\": [");
  const std::vector<GemmShape> shapes = benchmark_shapes();
  for (size_t i = 0; i < shapes.size(); ++i)
    std::printf("%s\n  {\"name\": %s, \"m\": %lld, \"n\": %lld, \"k\": %lld}", i ? "," : "",
                json_str(shapes[i].name).c_str(), static_cast<long long>(shapes[i].m),
                static_cast<long long>(shapes[i].n), static_cast<long long>(shapes[i].k));
  std::printf("\n]}\n");
}

}  // namespace

int main(int argc, char** argv) {
  GpuInfo g;
  if (const int rc = start_cuda_bench(argc, argv, "bench_cuda_gemm", list_shapes, g); rc >= 0) return rc;
  Peaks peaks;
  std::vector<gemm::VersionInfo> versions;
  try {
    peaks = peaks_for(g);
    versions = versions_to_time();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda_gemm: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "bench_cuda_gemm: %s, %d SMs, L2 %lld MB; peaks used (TFLOP/s): fp32 %.1f, tf32 %.1f, "
               "bf16 %.1f (%s)\n",
               g.name.c_str(), g.sm_count, static_cast<long long>(g.l2_bytes >> 20), peaks.fp32, peaks.tf32,
               peaks.bf16, peaks.source.c_str());
  benchmark::AddCustomContext("peak_fp32_tflops", std::to_string(peaks.fp32));
  benchmark::AddCustomContext("peak_tf32_tflops", std::to_string(peaks.tf32));
  benchmark::AddCustomContext("peak_bf16_tflops", std::to_string(peaks.bf16));
  benchmark::AddCustomContext("peak_source", peaks.source);
  benchmark::AddCustomContext("cublas_built", vendor::cublas_built() ? "yes" : "no");

  static const std::vector<GemmShape> shapes = benchmark_shapes();
  uint64_t seed = 1000;
  for (const gemm::VersionInfo& v : versions) {
    for (gemm::Precision p : v.precisions) {
      for (const GemmShape& s : shapes) {
        if (is_slow_version(v.name) && s.m * s.n * s.k > int64_t{2048} * 2048 * 2048) continue;
        const std::string name = "gemm/" + v.name + "/" + prec_tag(p) + "/" + s.name;
        const double peak = peak_of(peaks, p);
        const std::string version = v.name;
        const uint64_t bench_seed = seed++;
        benchmark::RegisterBenchmark(name.c_str(),
                                     [version, p, &s, peak, bench_seed](benchmark::State& st) {
                                       bm_gemm(st, version, p, s, peak, bench_seed);
                                     })
            ->Iterations(1)
            ->UseManualTime()
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
