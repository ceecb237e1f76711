// test_gemm.cpp: the CUDA GEMM versions (kernels/cuda/gemm*.cu), the cuBLAS
// comparison routes and the matmul op on CUDA.
//  - Without a GPU: versions() lists every version with its precisions, and
//    gemm::run refuses unknown names, a precision a version does not run, and
//    cuBLAS names in a build without cuBLAS, before touching a device.
//  - With a GPU: every version x each precision it runs x NN/NT/TN/TT x odd
//    shapes x batches (strided, A or B broadcast with stride 0, padded leading
//    dims, misaligned pointers) x alpha/beta, against a float64 reference
//    computed here. C is NaN-poisoned when beta == 0 (beta == 0 must not read
//    C), and the padding between C's rows must stay untouched.
//    Tolerances: elementwise |d| <= (2u + u^2 + 1e-5 max(1, K/256)) (|alpha|
//    sum_k |a b| + |beta c|), u = 0 (FP32), 2^-11 (TF32), 2^-8 (BF16); and
//    normwise ||d|| / ||ref|| <= 5e-4 (TF32), 1e-2 (BF16).
//  - The matmul op on CUDA against the CPU op (float32 and float64, batched,
//    broadcast, transposed views, empty and K = 0 shapes, the same errors).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "kernels/ops.h"
#include "tensor/cuda_runtime.h"
#include "tensor/random.h"
#include "tests/cuda/cuda_test_util.h"

#ifdef LOOM_WITH_CUDA
#include "kernels/cuda/gemm.h"
#include "kernels/vendor/backend.h"
#endif

using namespace loom;
using namespace loom::cuda_test;

namespace {

// The error message of f, or "" when it does not throw loom::Error.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

[[maybe_unused]] bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

#ifdef LOOM_WITH_CUDA

namespace gemm = loom::cuda::gemm;

namespace {

const std::vector<std::string> kOwnVersions = {"1_naive",        "2_coalesce",  "3_smem",     "4a_blocktile1d",
                                               "4b_blocktile2d", "5_vectorize", "6_warptile", "7_mma_tf32",
                                               "7_mma_bf16"};

// ---------------------------------------------------------------------------
// Tests that need no GPU
// ---------------------------------------------------------------------------

TEST(GemmVersions, ListsEveryVersionWithItsPrecisions) {
  const std::vector<gemm::VersionInfo> vs = gemm::versions();
  std::vector<std::string> names;
  for (const auto& v : vs) {
    names.push_back(v.name);
    EXPECT_FALSE(v.summary.empty()) << v.name;
    EXPECT_FALSE(v.precisions.empty()) << v.name;
  }
  ASSERT_GE(names.size(), kOwnVersions.size());
  for (size_t i = 0; i < kOwnVersions.size(); ++i) EXPECT_EQ(names[i], kOwnVersions[i]) << "position " << i;
  for (const auto& v : vs) {
    const bool mma_tf32 = v.name == "7_mma_tf32", mma_bf16 = v.name == "7_mma_bf16";
    if (v.name[0] >= '1' && v.name[0] <= '6') {
      EXPECT_EQ(v.precisions, std::vector<gemm::Precision>{gemm::Precision::FP32}) << v.name;
    }
    if (mma_tf32) {
      EXPECT_EQ(v.precisions, std::vector<gemm::Precision>{gemm::Precision::TF32});
    }
    if (mma_bf16) {
      EXPECT_EQ(v.precisions, std::vector<gemm::Precision>{gemm::Precision::BF16});
    }
  }
  const bool has_cublas = std::find(names.begin(), names.end(), "cublas") != names.end();
  EXPECT_EQ(has_cublas, vendor::cublas_built());
  EXPECT_STREQ(gemm::precision_name(gemm::Precision::TF32), "TF32");
}

TEST(GemmVersions, UnknownNameIsAnErrorListingTheKnownOnes) {
  const std::string msg = error_of([] { gemm::run(gemm::Args{}, gemm::Precision::FP32, "9_magic"); });
  EXPECT_TRUE(contains(msg, "unknown version '9_magic'")) << msg;
  EXPECT_TRUE(contains(msg, "6_warptile")) << msg;
  EXPECT_TRUE(contains(msg, "7_mma_bf16")) << msg;
}

TEST(GemmVersions, PrecisionAVersionDoesNotRunIsAnError) {
  std::string msg = error_of([] { gemm::run(gemm::Args{}, gemm::Precision::TF32, "3_smem"); });
  EXPECT_TRUE(contains(msg, "'3_smem' does not run TF32 (it runs FP32)")) << msg;
  msg = error_of([] { gemm::run(gemm::Args{}, gemm::Precision::FP32, "7_mma_bf16"); });
  EXPECT_TRUE(contains(msg, "'7_mma_bf16' does not run FP32 (it runs BF16)")) << msg;
}

TEST(GemmVersions, CublasNamesNeedCublas) {
  if (vendor::cublas_built()) GTEST_SKIP() << "this build has cuBLAS (the GPU tests run its names)";
  for (const char* name : {"cublas", "cublas_tf32", "cublaslt"}) {
    const std::string msg = error_of([&] { gemm::run(gemm::Args{}, gemm::Precision::FP32, name); });
    EXPECT_TRUE(contains(msg, "built without")) << name << ": " << msg;
  }
}

TEST(GemmVersions, BadArgumentsAreErrors) {
  gemm::Args a;
  a.m = 4;
  a.n = 4;
  a.k = 8;
  a.lda = 4;  // < K for a row-major (M, K) A
  a.ldb = 4;
  a.ldc = 4;
  EXPECT_TRUE(contains(error_of([&] { gemm::run(a, gemm::Precision::FP32, "1_naive"); }), "leading dimension"));
  a.lda = 8;
  a.m = -1;
  EXPECT_TRUE(contains(error_of([&] { gemm::run(a, gemm::Precision::FP32, "1_naive"); }), "negative size"));
}

TEST(GemmVersions, EmptyProductLaunchesNothing) {
  // M = 0: valid, nothing to do, no device needed.
  gemm::Args a;
  a.n = 3;
  a.k = 2;
  a.lda = 2;
  a.ldb = 3;
  a.ldc = 3;
  for (const std::string& name : kOwnVersions) {
    const gemm::Precision p = name == "7_mma_tf32"   ? gemm::Precision::TF32
                              : name == "7_mma_bf16" ? gemm::Precision::BF16
                                                     : gemm::Precision::FP32;
    EXPECT_NO_THROW(gemm::run(a, p, name)) << name;
  }
}

// ---------------------------------------------------------------------------
// GEMM versions on the GPU against a float64 reference
// ---------------------------------------------------------------------------

// How the operands of one case are laid out in memory.
struct Layout {
  int64_t batch;
  bool broadcast_a, broadcast_b;  // stride 0
  int64_t pad;                    // extra leading-dimension elements (also in C)
  int64_t offset;                 // A and B start this many floats into their buffers (1: not 16-byte aligned)
};

struct Case {
  int64_t m, n, k;
  bool ta, tb;
  Layout layout;
  float alpha, beta;
  std::string str() const {
    return "m " + std::to_string(m) + " n " + std::to_string(n) + " k " + std::to_string(k) + (ta ? " T" : " N") +
           (tb ? "T" : "N") + " batch " + std::to_string(layout.batch) + (layout.broadcast_a ? " A-broadcast" : "") +
           (layout.broadcast_b ? " B-broadcast" : "") + " pad " + std::to_string(layout.pad) + " offset " +
           std::to_string(layout.offset) + " alpha " + std::to_string(alpha) + " beta " + std::to_string(beta);
  }
};

// One case's host data, device buffers and float64 reference.
struct Problem {
  Case cs;
  int64_t lda, ldb, ldc, stride_a, stride_b, stride_c;
  std::vector<float> a, b, c0;  // host copies (A, B with offset, C before the product)
  std::vector<double> ref;      // expected C (every element, padding included)
  std::vector<double> scale;    // |alpha| sum |a b| + |beta c| per element
  Tensor a_dev, b_dev;          // (elements,) float32 on the GPU

  explicit Problem(const Case& c, Generator& g) : cs(c) {
    const Layout& L = c.layout;
    lda = (c.ta ? c.m : c.k) + L.pad;
    ldb = (c.tb ? c.k : c.n) + L.pad;
    ldc = c.n + L.pad;
    const int64_t a_rows = c.ta ? c.k : c.m, b_rows = c.tb ? c.n : c.k;
    stride_a = L.broadcast_a ? 0 : a_rows * lda + L.pad;
    stride_b = L.broadcast_b ? 0 : b_rows * ldb + L.pad;
    stride_c = c.m * ldc + L.pad;
    const int64_t a_size = L.offset + (L.batch - 1) * stride_a + a_rows * lda;
    const int64_t b_size = L.offset + (L.batch - 1) * stride_b + b_rows * ldb;
    const int64_t c_size = (L.batch - 1) * stride_c + c.m * ldc;
    a = uniform({a_size}, g).to_vector<float>();
    b = uniform({b_size}, g).to_vector<float>();
    // C: NaN everywhere when beta == 0 (it must not be read); else random, padding included.
    c0 = c.beta == 0 ? std::vector<float>(c_size, std::numeric_limits<float>::quiet_NaN())
                     : uniform({c_size}, g).to_vector<float>();
    a_dev = to_gpu(Tensor::from_vector(a, {a_size}));
    b_dev = to_gpu(Tensor::from_vector(b, {b_size}));
    ref.assign(c0.begin(), c0.end());  // padding keeps its value
    scale.assign(c_size, 0.0);
    for (int64_t bz = 0; bz < L.batch; ++bz) {
      const float* ab = a.data() + L.offset + bz * stride_a;
      const float* bb = b.data() + L.offset + bz * stride_b;
      for (int64_t i = 0; i < c.m; ++i)
        for (int64_t j = 0; j < c.n; ++j) {
          double sum = 0, abs_sum = 0;
          for (int64_t kk = 0; kk < c.k; ++kk) {
            const double av = c.ta ? ab[kk * lda + i] : ab[i * lda + kk];
            const double bv = c.tb ? bb[j * ldb + kk] : bb[kk * ldb + j];
            sum += av * bv;
            abs_sum += std::fabs(av * bv);
          }
          const int64_t at = bz * stride_c + i * ldc + j;
          const double old = c0[at];
          ref[at] = c.alpha * sum + (c.beta == 0 ? 0.0 : c.beta * old);
          scale[at] = std::fabs(c.alpha) * abs_sum + (c.beta == 0 ? 0.0 : std::fabs(c.beta * old));
        }
    }
  }

  bool inside(int64_t at) const {
    const int64_t r = at % stride_c;
    return at / stride_c < cs.layout.batch && r < cs.m * ldc && r % ldc < cs.n;
  }

  // Runs `version` at `precision` into a fresh copy of C; returns the result.
  std::vector<float> run(const std::string& version, gemm::Precision precision) const {
    Tensor c_dev = to_gpu(Tensor::from_vector(c0, {static_cast<int64_t>(c0.size())}));
    gemm::Args args;
    args.trans_a = cs.ta;
    args.trans_b = cs.tb;
    args.m = cs.m;
    args.n = cs.n;
    args.k = cs.k;
    args.alpha = cs.alpha;
    args.beta = cs.beta;
    args.a = a_dev.data<float>() + cs.layout.offset;
    args.lda = lda;
    args.stride_a = stride_a;
    args.b = b_dev.data<float>() + cs.layout.offset;
    args.ldb = ldb;
    args.stride_b = stride_b;
    args.c = c_dev.data<float>();
    args.ldc = ldc;
    args.stride_c = stride_c;
    args.batch = cs.layout.batch;
    gemm::run(args, precision, version);
    cuda_rt::synchronize(0);
    return to_cpu(c_dev).to_vector<float>();
  }

  // Checks `got` against the reference at `precision`'s tolerance: elementwise
  // the rigorous bound (2u + u^2 + fp32 accumulation) * scale, u the unit
  // roundoff of the input rounding (0, tf32 2^-11, bf16 2^-8); and normwise,
  // on products large enough for the statistics to settle, ||d|| / ||ref|| <=
  // 5e-4 (TF32; ~3e-4 expected) or 1e-2 (BF16; ~2.5e-3 expected).
  // `truncating`: the route may truncate inputs instead of rounding them
  // (cuBLAS does not document which): u and the TF32 normwise bound double.
  ::testing::AssertionResult check(const std::vector<float>& got, gemm::Precision precision,
                                   bool truncating = false) const {
    const double u = (truncating ? 2.0 : 1.0) * (precision == gemm::Precision::TF32   ? std::ldexp(1.0, -11)
                                                 : precision == gemm::Precision::BF16 ? std::ldexp(1.0, -8)
                                                                                      : 0.0);
    const double rtol = 2 * u + u * u + 1e-5 * std::max(1.0, static_cast<double>(cs.k) / 256.0);
    double err2 = 0, ref2 = 0;
    for (size_t at = 0; at < got.size(); ++at) {
      if (!inside(static_cast<int64_t>(at))) {  // padding: untouched (NaN stays NaN)
        const bool same = std::isnan(c0[at]) ? std::isnan(got[at]) : got[at] == c0[at];
        if (!same) return ::testing::AssertionFailure() << "padding element " << at << " was written: " << got[at];
        continue;
      }
      const double d = got[at] - ref[at];
      if (!(std::fabs(d) <= rtol * scale[at] + 1e-30))  // NaN fails
        return ::testing::AssertionFailure() << "element " << at << ": " << got[at] << " vs " << ref[at] << " (|d| "
                                             << std::fabs(d) << " > " << rtol * scale[at] << ")";
      err2 += d * d;
      ref2 += ref[at] * ref[at];
    }
    const double work = static_cast<double>(cs.m) * cs.n * cs.k * cs.layout.batch;
    if (precision != gemm::Precision::FP32 && work >= 4096) {
      const double tol = precision == gemm::Precision::TF32 ? (truncating ? 1e-3 : 5e-4) : 1e-2;
      const double rel = std::sqrt(err2) / std::max(std::sqrt(ref2), 1e-30);
      if (!(rel <= tol))
        return ::testing::AssertionFailure() << "||out - ref|| / ||ref|| = " << rel << " > " << tol;
    }
    return ::testing::AssertionSuccess();
  }
};

// Every (version, precision) pair this build runs.
std::vector<std::pair<std::string, gemm::Precision>> all_routes() {
  std::vector<std::pair<std::string, gemm::Precision>> out;
  for (const auto& v : gemm::versions())
    for (gemm::Precision p : v.precisions) out.push_back({v.name, p});
  return out;
}

std::vector<Case> all_cases() {
  struct Mnk {
    int64_t m, n, k;
  };
  const std::vector<Mnk> shapes = {{1, 1, 1},    {7, 13, 5},    {33, 65, 129}, {257, 31, 300},
                                   {128, 128, 64}, {130, 190, 17}, {64, 256, 8},  {5, 300, 33}};
  const std::vector<Layout> layouts = {
      {1, false, false, 0, 0},  // plain
      {3, false, false, 4, 0},  // strided batch, padded (16-byte aligned when the row length is a multiple of 4)
      {3, true, false, 1, 1},   // A broadcast, odd padding, misaligned pointers
      {2, false, true, 0, 0},   // B broadcast
  };
  const std::vector<std::pair<float, float>> alpha_beta = {{1.f, 0.f}, {1.5f, 0.f}, {0.5f, -2.f}};
  std::vector<Case> cases;
  size_t pick = 0;
  for (const Mnk& s : shapes)
    for (int t = 0; t < 4; ++t)
      for (const Layout& L : layouts) {
        const auto& [alpha, beta] = alpha_beta[pick++ % alpha_beta.size()];  // every pair meets every shape
        cases.push_back({s.m, s.n, s.k, (t & 1) != 0, (t & 2) != 0, L, alpha, beta});
      }
  return cases;
}

TEST(GemmGpu, EveryVersionEveryLayoutAgainstFloat64) {
  REQUIRE_GPU();
  Generator g(2024);
  const auto routes = all_routes();
  for (const Case& c : all_cases()) {
    const Problem problem(c, g);
    for (const auto& [name, precision] : routes) {
      const std::vector<float> got = problem.run(name, precision);
      const bool vendor_route = name.rfind("cublas", 0) == 0;
      EXPECT_TRUE(problem.check(got, precision, vendor_route))
          << name << " " << gemm::precision_name(precision) << ": " << c.str();
    }
  }
}

TEST(GemmGpu, DefaultsPerPrecisionAndLargeBatch) {
  REQUIRE_GPU();
  Generator g(7);
  // batch > 65535 walks the kernels' batch loop past gridDim.z.
  const Case big_batch{3, 5, 4, false, true, {70000, false, false, 0, 0}, 1.f, 0.f};
  const Problem p1(big_batch, g);
  EXPECT_TRUE(p1.check(p1.run("", gemm::Precision::FP32), gemm::Precision::FP32));
  EXPECT_TRUE(p1.check(p1.run("6_warptile", gemm::Precision::FP32), gemm::Precision::FP32));
  const Case large{300, 260, 200, true, false, {2, false, false, 0, 0}, 1.f, 1.f};
  const Problem p2(large, g);
  for (gemm::Precision p : {gemm::Precision::FP32, gemm::Precision::TF32, gemm::Precision::BF16})
    EXPECT_TRUE(p2.check(p2.run("", p), p, vendor::use_cublas())) << gemm::precision_name(p);
}

TEST(GemmGpu, KZeroScalesC) {
  REQUIRE_GPU();
  Generator g(8);
  for (float beta : {0.f, 0.5f}) {
    const Case c{9, 7, 0, false, false, {2, false, false, 0, 0}, 1.f, beta};
    const Problem p(c, g);
    for (const auto& [name, precision] : all_routes())
      EXPECT_TRUE(p.check(p.run(name, precision), precision, name.rfind("cublas", 0) == 0))
          << name << " beta " << beta;
  }
}

TEST(GemmGpu, Float64Kernel) {
  REQUIRE_GPU();
  Generator g(9);
  for (const Case& c : all_cases()) {
    if (c.layout.offset != 0) continue;
    const int64_t a_rows = c.ta ? c.k : c.m, b_rows = c.tb ? c.n : c.k;
    const int64_t lda = (c.ta ? c.m : c.k) + c.layout.pad, ldb = (c.tb ? c.k : c.n) + c.layout.pad;
    const int64_t sa = c.layout.broadcast_a ? 0 : a_rows * lda, sb = c.layout.broadcast_b ? 0 : b_rows * ldb;
    const int64_t batch = c.layout.batch, ldc = c.n;
    const Tensor a = uniform({(batch - 1) * sa + a_rows * lda}, g, -1, 1, DType::Float64);
    const Tensor b = uniform({(batch - 1) * sb + b_rows * ldb}, g, -1, 1, DType::Float64);
    const Tensor c_init = uniform({batch * c.m * ldc}, g, -1, 1, DType::Float64);
    const std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>(), cv = c_init.to_vector<double>();
    const Tensor a_dev = to_gpu(a), b_dev = to_gpu(b);
    Tensor c_dev = to_gpu(c.beta == 0 ? Tensor::full({batch * c.m * ldc}, std::nan(""), DType::Float64) : c_init);
    gemm::ArgsF64 args;
    args.trans_a = c.ta;
    args.trans_b = c.tb;
    args.m = c.m;
    args.n = c.n;
    args.k = c.k;
    args.alpha = c.alpha;
    args.beta = c.beta;
    args.a = a_dev.data<double>();
    args.lda = lda;
    args.stride_a = sa;
    args.b = b_dev.data<double>();
    args.ldb = ldb;
    args.stride_b = sb;
    args.c = c_dev.data<double>();
    args.ldc = ldc;
    args.stride_c = c.m * ldc;
    args.batch = batch;
    gemm::run(args);
    const std::vector<double> got = to_cpu(c_dev).to_vector<double>();
    for (int64_t bz = 0; bz < batch; ++bz)
      for (int64_t i = 0; i < c.m; ++i)
        for (int64_t j = 0; j < c.n; ++j) {
          double sum = 0, abs_sum = 0;
          for (int64_t kk = 0; kk < c.k; ++kk) {
            const double x = c.ta ? av[bz * sa + kk * lda + i] : av[bz * sa + i * lda + kk];
            const double y = c.tb ? bv[bz * sb + j * ldb + kk] : bv[bz * sb + kk * ldb + j];
            sum += x * y;
            abs_sum += std::fabs(x * y);
          }
          const int64_t at = bz * c.m * ldc + i * ldc + j;
          const double expect = c.alpha * sum + (c.beta == 0 ? 0.0 : c.beta * cv[at]);
          ASSERT_LE(std::fabs(got[at] - expect), 1e-13 * (abs_sum + 1)) << c.str() << " at " << at;
        }
  }
}

}  // namespace

#endif  // LOOM_WITH_CUDA

// ---------------------------------------------------------------------------
// The matmul op on CUDA against the CPU op
// ---------------------------------------------------------------------------

Tol matmul_tol(DType dt) { return dt == DType::Float64 ? Tol{1e-12, 1e-10} : Tol{1e-4, 1e-4}; }

TEST(MatmulCuda, MatchesCpuOnEveryShapeFamily) {
  REQUIRE_GPU();
  Generator g(11);
  auto mm = [](const std::vector<Tensor>& in) { return ops::matmul(in[0], in[1]); };
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tol tol = matmul_tol(dt);
    for (auto [m, k, n] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {7, 5, 13}, {33, 129, 65}, {257, 300, 31}}) {
      EXPECT_TRUE(parity1(mm, {uniform({m, k}, g, -1, 1, dt), uniform({k, n}, g, -1, 1, dt)}, tol)) << m << k << n;
      EXPECT_TRUE(parity1(mm, {uniform({3, m, k}, g, -1, 1, dt), uniform({3, k, n}, g, -1, 1, dt)}, tol));
      EXPECT_TRUE(parity1(mm, {uniform({3, m, k}, g, -1, 1, dt), uniform({k, n}, g, -1, 1, dt)}, tol));
    }
  }
}

// More rows than one launch's grid holds (65535 row tiles): gemm::run splits
// them into row chunks; (B, M, K) @ (K, N) merges B*M rows into one product.
TEST(MatmulCuda, TallProductsRunInRowChunks) {
  REQUIRE_GPU();
  Generator g(12);
  auto mm = [](const std::vector<Tensor>& in) { return ops::matmul(in[0], in[1]); };
  const Tol tol = matmul_tol(DType::Float32);
  EXPECT_TRUE(parity1(mm, {uniform({2200001, 5}, g), uniform({5, 3}, g)}, tol));
  EXPECT_TRUE(parity1(mm, {uniform({3, 1100003, 4}, g), uniform({4, 7}, g)}, tol));
  EXPECT_TRUE(parity1([](const auto& in) { return ops::matmul(in[0].transpose(0, 1), in[1]); },
                      {uniform({5, 2100007}, g), uniform({5, 2}, g)}, tol));  // A read in place as stored (K, M)
}

TEST(MatmulCuda, TransposedBroadcastAndSlicedViews) {
  REQUIRE_GPU();
  Generator g(12);
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tol tol = matmul_tol(dt);
    const Tensor a = uniform({37, 19}, g, -1, 1, dt), b = uniform({23, 37}, g, -1, 1, dt);  // used transposed
    // (19, 37)^T-view @ (37, 23)^T-view: both read in place with trans flags.
    EXPECT_TRUE(parity1([](const auto& in) { return ops::matmul(in[0].transpose(0, 1), in[1].transpose(0, 1)); },
                        {a, b}, tol));
    // Batched transposes, and (B, M, K) @ (K, N) where a is a transposed batch (rows do not continue).
    const Tensor ab = uniform({4, 19, 37}, g, -1, 1, dt), bb = uniform({4, 23, 19}, g, -1, 1, dt);
    EXPECT_TRUE(parity1([](const auto& in) { return ops::matmul(in[0].transpose(1, 2), in[1].transpose(1, 2)); },
                        {ab, bb}, tol));
    EXPECT_TRUE(parity1([](const auto& in) { return ops::matmul(in[0].transpose(1, 2), in[1]); },
                        {ab, uniform({19, 11}, g, -1, 1, dt)}, tol));
    // Expanded batch (stride 0) and a column slice (stride 2: made dense first).
    const Tensor one = uniform({1, 19, 37}, g, -1, 1, dt);
    EXPECT_TRUE(parity1([](const auto& in) { return ops::matmul(in[0].expand({5, 19, 37}), in[1]); },
                        {one, uniform({5, 37, 6}, g, -1, 1, dt)}, tol));
    const Tensor wide = uniform({19, 74}, g, -1, 1, dt);
    EXPECT_TRUE(parity1([](const auto& in) { return ops::matmul(in[0].slice(1, 0, 74, 2), in[1]); },
                        {wide, uniform({37, 9}, g, -1, 1, dt)}, tol));
    // A row slice: ld > K, pointer offset.
    EXPECT_TRUE(parity1([](const auto& in) { return ops::matmul(in[0].narrow(1, 3, 30), in[1]); },
                        {uniform({17, 41}, g, -1, 1, dt), uniform({30, 21}, g, -1, 1, dt)}, tol));
  }
}

TEST(MatmulCuda, EmptyAndKZero) {
  REQUIRE_GPU();
  Generator g(13);
  auto mm = [](const std::vector<Tensor>& in) { return ops::matmul(in[0], in[1]); };
  EXPECT_TRUE(parity1(mm, {uniform({0, 4}, g), uniform({4, 3}, g)}, matmul_tol(DType::Float32)));
  EXPECT_TRUE(parity1(mm, {uniform({5, 0}, g), uniform({0, 3}, g)}, matmul_tol(DType::Float32)));  // zeros
  EXPECT_TRUE(parity1(mm, {uniform({2, 5, 0}, g, -1, 1, DType::Float64), uniform({2, 0, 3}, g, -1, 1, DType::Float64)},
                      matmul_tol(DType::Float64)));
}

TEST(MatmulCuda, SameErrorsAsCpu) {
  REQUIRE_GPU();
  Generator g(14);
  const std::vector<std::pair<Tensor, Tensor>> bad = {
      {uniform({3, 4}, g), uniform({5, 2}, g)},        // inner dims
      {uniform({2, 3, 4}, g), uniform({3, 4, 2}, g)},  // batch sizes
      {uniform({4}, g), uniform({4, 2}, g)},           // unsupported shapes
  };
  for (const auto& [a, b] : bad) {
    const std::string cpu = error_of([&] { ops::matmul(a, b); });
    const std::string gpu = error_of([&] { ops::matmul(to_gpu(a), to_gpu(b)); });
    EXPECT_FALSE(cpu.empty());
    EXPECT_EQ(gpu, cpu);
  }
}

#ifdef LOOM_WITH_CUDA  // kernels/vendor is part of the CUDA library
TEST(MatmulCuda, CublasBackendMatchesCpu) {
  REQUIRE_GPU();
  if (!vendor::cublas_built()) GTEST_SKIP() << "loom was built without cuBLAS";
  Generator g(15);
  vendor::set_use_cublas(true);
  auto mm = [](const std::vector<Tensor>& in) { return ops::matmul(in[0], in[1]); };
  const bool ok = parity1(mm, {uniform({3, 33, 70}, g), uniform({70, 17}, g)}, matmul_tol(DType::Float32)) &&
                  parity1([](const auto& in) { return ops::matmul(in[0].transpose(1, 2), in[1]); },
                          {uniform({2, 70, 33}, g), uniform({2, 70, 17}, g)}, matmul_tol(DType::Float32));
  vendor::set_use_cublas(false);
  EXPECT_TRUE(ok);
}
#endif  // LOOM_WITH_CUDA
