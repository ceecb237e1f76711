// test_gemm.cpp: the packed GEMM (kernels/cpu/gemm.h) against gemm_reference
// and cpu::matmul (ops::matmul) against plain loops written here: odd shapes
// and edges, strided / transposed operands, alpha / beta (beta == 0 must not
// read C), every compiled micro-kernel, float and double, small block sizes
// that force every loop of the blocking, bit-identical results for 1 and 2
// OpenMP threads, and the error messages of bad matmul shapes.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/ops.h"
#include "tensor/random.h"

using namespace loom;
using loom::cpu::GemmConfig;
using loom::cpu::GemmKernel;

namespace {

// Restores the OpenMP thread count when a test ends.
struct ThreadCountGuard {
  int saved = omp_get_max_threads();
  ~ThreadCountGuard() { omp_set_num_threads(saved); }
};

// Deterministic values in [-1, 1) (a small LCG: independent of loom's RNG).
std::vector<double> random_values(size_t n, uint64_t seed) {
  std::vector<double> v(n);
  uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<double>(s >> 11) / static_cast<double>(1ULL << 53) * 2.0 - 1.0;
  }
  return v;
}

struct Case {
  int64_t M, N, K;
};

// How the operands are laid out in memory.
struct Layout {
  bool a_transposed = false;  // A stored as (K, M): rs_a = 1, cs_a = lda
  bool b_transposed = false;  // B stored as (N, K): rs_b = 1, cs_b = ldb
  int64_t pad = 0;            // extra elements at the end of each stored row (lda > cols)
};

// Runs gemm<T> for one case and compares with gemm_reference in double:
//   |C - ref| <= (2 K + 4) u (|alpha| sum_k |A||B| + |beta C0|)   (u = unit roundoff of T)
// which is the classical bound for a sum of K products; a wrong index or a
// missed element is off by O(|ref|). Also checks that the row padding of C
// (between N and rs_c) is never written.
template <class T>
::testing::AssertionResult check_gemm(const GemmConfig& cfg, Case c, Layout lay, double alpha, double beta,
                                      bool c_starts_nan, uint64_t seed) {
  const int64_t M = c.M, N = c.N, K = c.K;
  // Stored shapes and strides.
  const int64_t a_rows = lay.a_transposed ? K : M, a_cols = lay.a_transposed ? M : K;
  const int64_t b_rows = lay.b_transposed ? N : K, b_cols = lay.b_transposed ? K : N;
  const int64_t lda = a_cols + lay.pad, ldb = b_cols + lay.pad, ldc = N + lay.pad;
  const int64_t rs_a = lay.a_transposed ? 1 : lda, cs_a = lay.a_transposed ? lda : 1;
  const int64_t rs_b = lay.b_transposed ? 1 : ldb, cs_b = lay.b_transposed ? ldb : 1;

  std::vector<double> a = random_values(static_cast<size_t>(std::max<int64_t>(1, a_rows * lda)), seed);
  std::vector<double> b = random_values(static_cast<size_t>(std::max<int64_t>(1, b_rows * ldb)), seed + 1);
  std::vector<double> c0 = random_values(static_cast<size_t>(std::max<int64_t>(1, M * ldc)), seed + 2);
  const double sentinel = 12345.0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = N; j < ldc; ++j) c0[i * ldc + j] = sentinel;
  // Round the inputs to T so both sides see the same numbers.
  for (auto* v : {&a, &b, &c0})
    for (auto& x : *v) x = static_cast<double>(static_cast<T>(x));

  std::vector<double> ref = c0, abs_ref(c0.size(), 0.0);
  if (c_starts_nan && beta == 0)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) ref[i * ldc + j] = std::numeric_limits<double>::quiet_NaN();
  cpu::gemm_reference(M, N, K, alpha, a.data(), rs_a, cs_a, b.data(), rs_b, cs_b, beta, ref.data(), ldc);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += std::abs(a[i * rs_a + k * cs_a] * b[k * rs_b + j * cs_b]);
      abs_ref[i * ldc + j] = std::abs(alpha) * s + (beta == 0 ? 0.0 : std::abs(beta * c0[i * ldc + j]));
    }

  std::vector<T> at(a.begin(), a.end()), bt(b.begin(), b.end()), ct(c0.begin(), c0.end());
  if (c_starts_nan)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) ct[i * ldc + j] = std::numeric_limits<T>::quiet_NaN();
  cpu::gemm(cfg, M, N, K, static_cast<T>(alpha), at.data(), rs_a, cs_a, bt.data(), rs_b, cs_b, static_cast<T>(beta),
            ct.data(), ldc);

  const double u = std::numeric_limits<T>::epsilon() / 2;
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      const double got = ct[i * ldc + j], want = ref[i * ldc + j];
      const double tol = (2.0 * K + 4.0) * u * abs_ref[i * ldc + j] + 1e-300;
      if (!(std::abs(got - want) <= tol))
        return ::testing::AssertionFailure()
               << "C(" << i << ", " << j << ") = " << got << ", reference " << want << " (tol " << tol << ")";
    }
    for (int64_t j = N; j < ldc; ++j)
      if (ct[i * ldc + j] != static_cast<T>(sentinel))
        return ::testing::AssertionFailure() << "row padding C(" << i << ", " << j << ") was written";
  }
  return ::testing::AssertionSuccess();
}

const std::vector<Case> kOddShapes = {
    {1, 1, 1},   {17, 33, 5},  {129, 257, 65}, {5, 7, 0},    {0, 5, 3},     {3, 0, 4},  {2, 100, 3},
    {100, 3, 2}, {13, 31, 300}, {14, 32, 256}, {28, 64, 513}, {6, 16, 1},   {7, 17, 9}, {1, 50, 70},
    {50, 1, 70}, {31, 45, 1},
};

std::vector<GemmKernel> compiled_kernels() {
  std::vector<GemmKernel> ks;
  for (GemmKernel k : {GemmKernel::Avx512, GemmKernel::Avx2, GemmKernel::Portable})
    if (cpu::gemm_kernel_available(k)) ks.push_back(k);
  return ks;
}

template <class T>
void sweep_shapes(const GemmConfig& cfg) {
  uint64_t seed = 1;
  for (const Case& c : kOddShapes)
    for (Layout lay : {Layout{false, false, 0}, Layout{true, false, 3}, Layout{false, true, 1}, Layout{true, true, 0}})
      EXPECT_TRUE(check_gemm<T>(cfg, c, lay, 1.0, 0.0, true, seed++))
          << cpu::gemm_kernel_name(cfg.kernel, sizeof(T) == 8) << " M=" << c.M << " N=" << c.N << " K=" << c.K
          << " a_t=" << lay.a_transposed << " b_t=" << lay.b_transposed;
}

}  // namespace

TEST(Gemm, OddShapesEveryKernelFloat) {
  for (GemmKernel k : compiled_kernels()) sweep_shapes<float>(GemmConfig{k});
}

TEST(Gemm, OddShapesEveryKernelDouble) {
  for (GemmKernel k : compiled_kernels()) sweep_shapes<double>(GemmConfig{k});
}

TEST(Gemm, AlphaBeta) {
  struct AB {
    double alpha, beta;
    bool nan_c;
  };
  const std::vector<AB> cases = {{1, 0, true}, {0.5, 2, false}, {-1.5, 1, false}, {2, -0.25, false},
                                 {0, 0.5, false}, {0, 0, true},   {3, 0, true}};
  uint64_t seed = 100;
  for (GemmKernel k : compiled_kernels())
    for (const AB& ab : cases)
      for (Case c : {Case{37, 45, 29}, Case{5, 7, 0}, Case{40, 50, 300}}) {
        EXPECT_TRUE(check_gemm<float>(GemmConfig{k}, c, {false, false, 2}, ab.alpha, ab.beta, ab.nan_c, seed++))
            << cpu::gemm_kernel_name(k) << " alpha " << ab.alpha << " beta " << ab.beta << " K=" << c.K;
        EXPECT_TRUE(check_gemm<double>(GemmConfig{k}, c, {true, false, 0}, ab.alpha, ab.beta, ab.nan_c, seed++))
            << cpu::gemm_kernel_name(k, true) << " alpha " << ab.alpha << " beta " << ab.beta << " K=" << c.K;
      }
}

// Tiny block sizes force several M, K and N blocks (and uneven last blocks).
TEST(Gemm, SmallBlockingExercisesEveryLoop) {
  uint64_t seed = 500;
  for (GemmKernel k : compiled_kernels())
    for (GemmConfig cfg : {GemmConfig{k, 30, 7, 40}, GemmConfig{k, 1, 1, 1}, GemmConfig{k, 50, 64, 100}})
      for (Case c : {Case{61, 97, 45}, cfg.kc == 1 ? Case{23, 19, 17} : Case{77, 70, 130}})
        for (Layout lay : {Layout{false, false, 1}, Layout{true, true, 0}}) {
          EXPECT_TRUE(check_gemm<float>(cfg, c, lay, 0.75, 0.5, false, seed++))
              << cpu::gemm_kernel_name(k) << " mc " << cfg.mc << " kc " << cfg.kc << " nc " << cfg.nc;
          EXPECT_TRUE(check_gemm<double>(cfg, c, lay, 1.0, 0.0, true, seed++))
              << cpu::gemm_kernel_name(k, true) << " mc " << cfg.mc << " kc " << cfg.kc << " nc " << cfg.nc;
        }
}

TEST(Gemm, DefaultEntryPointMatchesReference) {
  // The plain gemm(...) overloads (no config) are what matmul and conv call.
  const int64_t M = 70, N = 90, K = 33;
  std::vector<double> a = random_values(M * K, 7), b = random_values(K * N, 8), ref(M * N);
  cpu::gemm_reference(M, N, K, 1.0, a.data(), K, 1, b.data(), N, 1, 0.0, ref.data(), N);
  std::vector<float> af(a.begin(), a.end()), bf(b.begin(), b.end()), cf(M * N, NAN);
  std::vector<double> cd(M * N, NAN);
  cpu::gemm(M, N, K, 1.0f, af.data(), K, 1, bf.data(), N, 1, 0.0f, cf.data(), N);
  cpu::gemm(M, N, K, 1.0, a.data(), K, 1, b.data(), N, 1, 0.0, cd.data(), N);
  for (int64_t i = 0; i < M * N; ++i) {
    EXPECT_NEAR(cf[i], ref[i], 1e-4) << i;
    EXPECT_NEAR(cd[i], ref[i], 1e-12) << i;
  }
}

TEST(Gemm, UnavailableKernelIsAnError) {
  for (GemmKernel k : {GemmKernel::Avx512, GemmKernel::Avx2}) {
    if (cpu::gemm_kernel_available(k)) continue;
    float x = 1, y = 1, z = 0;
    EXPECT_THROW(cpu::gemm(GemmConfig{k}, 1, 1, 1, 1.0f, &x, 1, 1, &y, 1, 1, 0.0f, &z, 1), Error);
  }
}

// Every C element is summed in the same order whatever the thread count
// (3 threads on a 2-core machine still gives a different partition).
TEST(Gemm, SameBitsForOneTwoAndThreeThreads) {
  ThreadCountGuard guard;
  for (GemmKernel k : compiled_kernels())
    for (Case c : {Case{129, 257, 300}, Case{300, 64, 600}, Case{9, 700, 77}, Case{500, 5, 40}, Case{80, 300, 1100}}) {
      const int64_t M = c.M, N = c.N, K = c.K;
      std::vector<double> a = random_values(M * K, 11), b = random_values(K * N, 12);
      std::vector<float> af(a.begin(), a.end()), bf(b.begin(), b.end());
      std::vector<float> c1(M * N);
      std::vector<double> d1(M * N);
      omp_set_num_threads(1);
      cpu::gemm(GemmConfig{k}, M, N, K, 1.0f, af.data(), K, 1, bf.data(), N, 1, 0.0f, c1.data(), N);
      cpu::gemm(GemmConfig{k}, M, N, K, 1.0, a.data(), 1, M, b.data(), N, 1, 0.0, d1.data(), N);
      for (int threads : {2, 3}) {
        std::vector<float> c2(M * N);
        std::vector<double> d2(M * N);
        omp_set_num_threads(threads);
        cpu::gemm(GemmConfig{k}, M, N, K, 1.0f, af.data(), K, 1, bf.data(), N, 1, 0.0f, c2.data(), N);
        cpu::gemm(GemmConfig{k}, M, N, K, 1.0, a.data(), 1, M, b.data(), N, 1, 0.0, d2.data(), N);
        EXPECT_EQ(0, std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)))
            << cpu::gemm_kernel_name(k) << " M=" << M << " N=" << N << " K=" << K << " threads " << threads;
        EXPECT_EQ(0, std::memcmp(d1.data(), d2.data(), d1.size() * sizeof(double)))
            << cpu::gemm_kernel_name(k, true) << " M=" << M << " N=" << N << " K=" << K << " threads " << threads;
      }
    }
}

// ---- cpu::matmul through ops::matmul -----------------------------------------------

namespace {

// (.., M, K) @ (.., K, N) by plain loops in double over row-major copies;
// b may be 2-D and shared by every batch.
std::vector<double> naive_matmul(const Tensor& a, const Tensor& b) {
  const bool batched = a.dim() == 3;
  const int64_t B = batched ? a.shape()[0] : 1;
  const int64_t M = a.shape()[a.dim() - 2], K = a.shape()[a.dim() - 1], N = b.shape()[b.dim() - 1];
  const bool b_batched = b.dim() == 3;
  std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>(), out(B * M * N, 0.0);
  for (int64_t n = 0; n < B; ++n)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += av[(n * M + i) * K + k] * bv[((b_batched ? n : 0) * K + k) * N + j];  // sum_k a(n,i,k) b(n,k,j)
        out[(n * M + i) * N + j] = s;
      }
  return out;
}

void expect_matmul_matches(const Tensor& a, const Tensor& b, const std::string& what) {
  Tensor y = ops::matmul(a, b);
  Shape want_shape = a.dim() == 3 ? Shape{a.shape()[0], a.shape()[1], b.shape()[b.dim() - 1]}
                                  : Shape{a.shape()[0], b.shape()[1]};
  ASSERT_EQ(y.shape(), want_shape) << what;
  if (y.numel() > 0) {
    EXPECT_TRUE(y.is_contiguous()) << what;
  }
  EXPECT_EQ(y.dtype(), a.dtype()) << what;
  const std::vector<double> got = y.to_vector<double>(), ref = naive_matmul(a, b);
  const double tol = a.dtype() == DType::Float32 ? 1e-4 : 1e-12;
  const int64_t K = a.shape()[a.dim() - 1];
  for (size_t i = 0; i < ref.size(); ++i)
    ASSERT_NEAR(got[i], ref[i], tol * std::sqrt(static_cast<double>(K) + 1)) << what << " element " << i;
}

}  // namespace

TEST(GemmMatmul, ShapesLayoutsAndDtypes) {
  Generator g(42);
  for (DType dt : {DType::Float32, DType::Float64}) {
    const std::string d = dtype_name(dt);
    expect_matmul_matches(randn({7, 13}, g, dt), randn({13, 5}, g, dt), d + " 2-D");
    expect_matmul_matches(randn({1, 1}, g, dt), randn({1, 1}, g, dt), d + " 1x1");
    expect_matmul_matches(randn({33, 70}, g, dt), randn({70, 129}, g, dt), d + " 2-D larger");
    expect_matmul_matches(randn({3, 5, 9}, g, dt), randn({3, 9, 4}, g, dt), d + " batched");
    expect_matmul_matches(randn({4, 6, 9}, g, dt), randn({9, 11}, g, dt), d + " batch @ 2-D (merged rows)");
    // Transposed operands: read in place through their strides.
    expect_matmul_matches(randn({13, 7}, g, dt).transpose(0, 1), randn({5, 13}, g, dt).transpose(0, 1),
                          d + " both transposed");
    expect_matmul_matches(randn({3, 9, 5}, g, dt).transpose(1, 2), randn({3, 4, 9}, g, dt).transpose(1, 2),
                          d + " batched transposed");
    // (B, M, K) whose batch and row dims do not merge: one GEMM per batch.
    expect_matmul_matches(randn({6, 4, 9}, g, dt).permute({1, 0, 2}), randn({9, 11}, g, dt),
                          d + " batch @ 2-D (unmerged rows)");
    expect_matmul_matches(randn({2, 9, 6}, g, dt).transpose(1, 2), randn({9, 3}, g, dt).expand({2, 9, 3}),
                          d + " transposed batch @ expanded batch");
    // No unit stride in the last two dims: made dense first.
    expect_matmul_matches(randn({7, 26}, g, dt).slice(1, 0, 26, 2), randn({13, 10}, g, dt).slice(1, 0, 10, 2),
                          d + " step-2 slices");
    // Empty dims.
    expect_matmul_matches(randn({4, 0}, g, dt), randn({0, 3}, g, dt), d + " K = 0");
    expect_matmul_matches(randn({2, 0, 5}, g, dt), randn({2, 5, 3}, g, dt), d + " M = 0");
  }
}

TEST(GemmMatmul, ManySmallBatchesSameBitsForOneAndTwoThreads) {
  ThreadCountGuard guard;
  Generator g(3);
  for (auto [a_shape, b_shape] : std::vector<std::pair<Shape, Shape>>{{{512, 8, 9}, {512, 9, 10}},
                                                                      {{3, 100, 80}, {3, 80, 90}}}) {
    Tensor a = randn(a_shape, g), b = randn(b_shape, g);
    omp_set_num_threads(1);
    std::vector<float> y1 = ops::matmul(a, b).to_vector<float>();
    omp_set_num_threads(2);
    std::vector<float> y2 = ops::matmul(a, b).to_vector<float>();
    EXPECT_EQ(y1, y2);
  }
}

namespace {
void expect_error(const Tensor& a, const Tensor& b, const std::vector<std::string>& fragments) {
  try {
    ops::matmul(a, b);
    ADD_FAILURE() << "expected loom::Error for " << shape_str(a.shape()) << " @ " << shape_str(b.shape());
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const std::string& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
  }
}
}  // namespace

TEST(GemmMatmul, BadInputsGiveClearErrors) {
  expect_error(Tensor::zeros({2, 3}), Tensor::zeros({4, 5}), {"matmul", "[2, 3]", "[4, 5]", "inner"});
  expect_error(Tensor::zeros({2, 3, 4}), Tensor::zeros({3, 4, 5}), {"matmul", "batch", "[2, 3, 4]", "[3, 4, 5]"});
  expect_error(Tensor::zeros({3}), Tensor::zeros({3, 2}), {"matmul", "[3]", "[3, 2]", "(M, K) @ (K, N)"});
  expect_error(Tensor::zeros({2, 3}), Tensor::zeros({2, 3, 4}), {"matmul", "[2, 3]", "[2, 3, 4]"});
  expect_error(Tensor::zeros({1, 2, 3, 4}), Tensor::zeros({4, 2}), {"matmul", "[1, 2, 3, 4]"});
  expect_error(Tensor::zeros({2, 3}), Tensor::zeros({3, 2}, DType::Float64), {"matmul", "float32", "float64"});
  expect_error(Tensor::zeros({2, 3}, DType::Int64), Tensor::zeros({3, 2}, DType::Int64), {"matmul", "int64"});
}
