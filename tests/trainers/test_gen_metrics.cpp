// test_gen_metrics.cpp: KID, FID, the Jacobi eigen-solver and the clustered
// diversity score (trainers/gen_metrics.h, symmetric_eigen.h), against
// independent references:
// - eigen-decompositions by their definition (A V = V diag(lambda), V^T V = I) and a hand 2x2 case;
// - Tr((S1 S2)^{1/2}) by the 2x2 formula sqrt(tr M + 2 sqrt(det M)) and by numpy's
//   eigenvalues of the non-symmetric product S1 S2 (tests/trainers/gen_metrics_reference.py);
// - FID in closed form for Gaussians with commuting covariances (exact moments, and
//   sampled with a tolerance from the sample size), and against numpy on samples;
// - KID against torch-fidelity's formulas in numpy on the same subsets, against the
//   closed-form MMD^2 of the cubic kernel on isotropic Gaussians, and its unbiasedness
//   (mean over many small draws of one distribution ~ 0, where the biased V-statistic is not);
// - diversity: a hand-computed 1-d case, identical samples -> 0, spread > collapsed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <tuple>

#include "tensor/error.h"
#include "tensor/random.h"
#include "trainers/gen_metrics.h"
#include "trainers/symmetric_eigen.h"

using namespace loom;
using namespace loom::eval;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kPython = "/usr/bin/python3";

// ---- small float64 helpers -------------------------------------------------

std::vector<double> randn_values(int64_t count, Generator& gen) {
  return randn({count}, gen, DType::Float64).to_vector<double>();
}

std::vector<double> transpose(const std::vector<double>& a, int64_t n) {
  std::vector<double> t(a.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) t[j * n + i] = a[i * n + j];
  return t;
}

// A random orthogonal n x n matrix: Gram-Schmidt of Gaussian columns.
std::vector<double> random_orthogonal(int64_t n, Generator& gen) {
  std::vector<double> q = randn_values(n * n, gen);  // (n, n), columns orthonormalised in turn
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t p = 0; p < c; ++p) {
      double proj = 0;
      for (int64_t i = 0; i < n; ++i) proj += q[i * n + c] * q[i * n + p];
      for (int64_t i = 0; i < n; ++i) q[i * n + c] -= proj * q[i * n + p];
    }
    double norm = 0;
    for (int64_t i = 0; i < n; ++i) norm += q[i * n + c] * q[i * n + c];
    for (int64_t i = 0; i < n; ++i) q[i * n + c] /= std::sqrt(norm);
  }
  return q;
}

// Q diag(d) Q^T
std::vector<double> with_eigenvalues(const std::vector<double>& q, const std::vector<double>& d) {
  const auto n = static_cast<int64_t>(d.size());
  std::vector<double> qd(q);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < n; ++k) qd[i * n + k] *= d[k];
  return matmul_square(qd, transpose(q, n), n);
}

// B (rank, n) Gaussian / sqrt(rank): S = B^T B is a random covariance of rank `rank`.
std::vector<double> random_factor(int64_t n, int64_t rank, Generator& gen) {
  std::vector<double> b = randn_values(rank * n, gen);
  for (double& v : b) v /= std::sqrt(static_cast<double>(rank));
  return b;
}

std::vector<double> gram_of_factor(const std::vector<double>& b, int64_t n, int64_t rank) {  // B^T B
  std::vector<double> s(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < rank; ++k) s[i * n + j] += b[k * n + i] * b[k * n + j];
  return s;
}

std::vector<double> random_covariance(int64_t n, int64_t rank, Generator& gen) {
  return gram_of_factor(random_factor(n, rank, gen), n, rank);
}

// n samples of N(mu, Q diag(d) Q^T): mu + Q diag(sqrt d) eps.
FeatureMatrix gaussian_samples(int64_t n, const std::vector<double>& mu, const std::vector<double>& q,
                               const std::vector<double>& d, Generator& gen) {
  const auto dim = static_cast<int64_t>(mu.size());
  const std::vector<double> eps = randn_values(n * dim, gen);
  FeatureMatrix x{.rows = n, .cols = dim, .values = std::vector<double>(static_cast<size_t>(n * dim))};
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < dim; ++i) {
      double v = mu[i];
      for (int64_t k = 0; k < dim; ++k) v += q[i * dim + k] * std::sqrt(d[k]) * eps[r * dim + k];
      x.values[r * dim + i] = v;
    }
  return x;
}

// n samples of N(mean, sigma^2 I).
FeatureMatrix isotropic_samples(int64_t n, const std::vector<double>& mean, double sigma, Generator& gen) {
  const auto dim = static_cast<int64_t>(mean.size());
  FeatureMatrix x{.rows = n, .cols = dim, .values = randn_values(n * dim, gen)};
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < dim; ++i) x.values[r * dim + i] = mean[i] + sigma * x.values[r * dim + i];
  return x;
}

// ---- the numpy reference -----------------------------------------------------

bool numpy_available() {
  if (!fs::exists(kPython)) return false;
  return std::system((std::string(kPython) + " -c 'import numpy' > /dev/null 2>&1").c_str()) == 0;
}

class NumpyReference {
 public:
  NumpyReference() : dir_(fs::temp_directory_path() / ("loom_gen_metrics_" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
  }
  ~NumpyReference() { fs::remove_all(dir_); }

  // Adds a raw matrix to the spec under `name`.
  template <class T>
  void add(const std::string& name, const std::vector<T>& values, std::vector<int64_t> shape) {
    const fs::path path = dir_ / (name + ".raw");
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(T)));
    spec_[name] = {{"path", path.string()}, {"shape", shape}};
  }
  void add(const std::string& name, const FeatureMatrix& m) { add(name, m.values, {m.rows, m.cols}); }

  json run(const std::string& mode) {
    spec_["mode"] = mode;
    const fs::path spec_path = dir_ / "spec.json";
    std::ofstream(spec_path) << spec_.dump();
    const std::string command =
        std::string(kPython) + " " + LOOM_SOURCE_DIR + "/tests/trainers/gen_metrics_reference.py " + spec_path.string();
    FILE* pipe = ::popen(command.c_str(), "r");
    std::string out;
    char buffer[4096];
    while (pipe && std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
    const int status = pipe ? ::pclose(pipe) : -1;
    EXPECT_EQ(status, 0) << command << " failed: " << out;
    return status == 0 ? json::parse(out) : json::object();
  }

 private:
  fs::path dir_;
  json spec_ = json::object();
};

// ---- closed forms ----------------------------------------------------------------

// E k(x, y) = E (x.y / d + 1)^3 for independent x ~ N(a, sa^2 I), y ~ N(b, sb^2 I).
// S = x.y = sum_i x_i y_i, a sum of independent products P_i with raw moments
//   E P = a b,  E P^2 = (a^2 + sa^2)(b^2 + sb^2),  E P^3 = (a^3 + 3 a sa^2)(b^3 + 3 b sb^2)
// whose cumulants add: K1 = sum k1_i, K2 = sum (E P^2 - (E P)^2), K3 = sum (E P^3 - 3 E P^2 E P + 2 (E P)^3);
// then E S = K1, E S^2 = K2 + K1^2, E S^3 = K3 + 3 K2 K1 + K1^3 and
//   E (1 + S/d)^3 = 1 + 3 E S / d + 3 E S^2 / d^2 + E S^3 / d^3.
double expected_cubic_kernel(const std::vector<double>& a, double sa, const std::vector<double>& b, double sb) {
  double k1 = 0, k2 = 0, k3 = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double m1 = a[i] * b[i];
    const double m2 = (a[i] * a[i] + sa * sa) * (b[i] * b[i] + sb * sb);
    const double m3 = (a[i] * a[i] * a[i] + 3 * a[i] * sa * sa) * (b[i] * b[i] * b[i] + 3 * b[i] * sb * sb);
    k1 += m1;
    k2 += m2 - m1 * m1;
    k3 += m3 - 3 * m2 * m1 + 2 * m1 * m1 * m1;
  }
  const double d = static_cast<double>(a.size());
  const double es = k1, es2 = k2 + k1 * k1, es3 = k3 + 3 * k2 * k1 + k1 * k1 * k1;
  return 1 + 3 * es / d + 3 * es2 / (d * d) + es3 / (d * d * d);
}

}  // namespace

// ---- the eigen-solver --------------------------------------------------------------

TEST(SymmetricEigen, HandCaseTwoByTwo) {
  // [[2, 1], [1, 2]]: eigenvalues 1 and 3, eigenvectors (1, -1)/sqrt2 and (1, 1)/sqrt2.
  const SymmetricEigen e = symmetric_eigen({2, 1, 1, 2}, 2);
  EXPECT_NEAR(e.values[0], 1, 1e-15);
  EXPECT_NEAR(e.values[1], 3, 1e-15);
  EXPECT_NEAR(std::abs(e.vectors[0 * 2 + 1]), std::sqrt(0.5), 1e-15);
  EXPECT_NEAR(e.vectors[0 * 2 + 1], e.vectors[1 * 2 + 1], 1e-15);   // (1, 1) for 3
  EXPECT_NEAR(e.vectors[0 * 2 + 0], -e.vectors[1 * 2 + 0], 1e-15);  // (1, -1) for 1
}

TEST(SymmetricEigen, DecomposesRandomRepeatedAndSingularMatrices) {
  Generator gen(7);
  const std::vector<double> q = random_orthogonal(12, gen);
  struct Case {
    std::string name;
    std::vector<double> a;
    int64_t n;
  };
  std::vector<double> sym = randn_values(40 * 40, gen);
  for (int64_t i = 0; i < 40; ++i)
    for (int64_t j = 0; j < i; ++j) sym[i * 40 + j] = sym[j * 40 + i];
  const std::vector<Case> cases = {
      {"random symmetric 40x40 (indefinite)", sym, 40},
      {"repeated eigenvalues", with_eigenvalues(q, {2, 2, 2, 5, 5, 1, 1, 1, 1, 0.5, 0.5, 9}), 12},
      {"rank 3 PSD 12x12", random_covariance(12, 3, gen), 12},
      {"identity", with_eigenvalues(q, std::vector<double>(12, 1.0)), 12},
      {"zero", std::vector<double>(9, 0.0), 3},
  };
  for (const Case& c : cases) {
    const SymmetricEigen e = symmetric_eigen(c.a, c.n);
    const int64_t n = c.n;
    double scale = 1e-300;
    for (double v : c.a) scale = std::max(scale, std::abs(v));
    for (int64_t k = 0; k + 1 < n; ++k) EXPECT_LE(e.values[k], e.values[k + 1]) << c.name;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < n; ++k) {
        double av = 0, vtv = 0;
        for (int64_t j = 0; j < n; ++j) {
          av += c.a[i * n + j] * e.vectors[j * n + k];
          vtv += e.vectors[j * n + i] * e.vectors[j * n + k];
        }
        EXPECT_NEAR(av, e.values[k] * e.vectors[i * n + k], 1e-12 * scale * n) << c.name << " A v, " << i << "," << k;
        EXPECT_NEAR(vtv, i == k ? 1.0 : 0.0, 1e-13 * n) << c.name << " V^T V, " << i << "," << k;
      }
  }
  // eigenvalues alone: the same values
  for (const Case& c : cases) {
    const SymmetricEigen values_only = symmetric_eigen(c.a, c.n, /*want_vectors=*/false);
    EXPECT_TRUE(values_only.vectors.empty());
    EXPECT_EQ(values_only.values, symmetric_eigen(c.a, c.n).values) << c.name;
  }
  // the spectrum of the repeated case is exactly what it was built from
  const SymmetricEigen repeated = symmetric_eigen(cases[1].a, 12);
  const std::vector<double> expected = {0.5, 0.5, 1, 1, 1, 1, 2, 2, 2, 5, 5, 9};
  for (int k = 0; k < 12; ++k) EXPECT_NEAR(repeated.values[k], expected[k], 1e-13);
}

TEST(SymmetricEigen, RefusesAsymmetricAndMisSizedInput) {
  EXPECT_THROW(symmetric_eigen({1, 2, 3, 4}, 2), Error);
  EXPECT_THROW(symmetric_eigen({1, 2, 3}, 2), Error);
  EXPECT_THROW(symmetric_eigen({1, NAN, NAN, 1}, 2), Error);
}

TEST(SymmetricEigen, PsdSqrtSquaresBack) {
  Generator gen(3);
  for (int64_t rank : {10, 4}) {
    const std::vector<double> s = random_covariance(10, rank, gen);
    const std::vector<double> root = psd_sqrt(s, 10);
    const std::vector<double> square = matmul_square(root, root, 10);
    for (size_t i = 0; i < s.size(); ++i) EXPECT_NEAR(square[i], s[i], 1e-12) << "rank " << rank << " entry " << i;
    EXPECT_EQ(root, transpose(root, 10));
  }
}

// For a 2x2 matrix M with eigenvalues l1, l2 >= 0: (sqrt l1 + sqrt l2)^2 = tr M + 2 sqrt(det M).
TEST(TraceSqrtProduct, HandFormulaTwoByTwo) {
  const std::vector<double> s1 = {2.0, 0.6, 0.6, 1.0}, s2 = {0.5, -0.2, -0.2, 3.0};
  const std::vector<double> m = matmul_square(s1, s2, 2);
  const double det = (2.0 * 1.0 - 0.36) * (0.5 * 3.0 - 0.04);
  const double expected = std::sqrt(m[0] + m[3] + 2 * std::sqrt(det));
  EXPECT_NEAR(trace_sqrt_product(s1, s2, 2), expected, 1e-14);
  // a singular S1: det = 0
  const std::vector<double> singular = {1.0, 2.0, 2.0, 4.0};
  const std::vector<double> ms = matmul_square(singular, s2, 2);
  EXPECT_NEAR(trace_sqrt_product(singular, s2, 2), std::sqrt(ms[0] + ms[3]), 1e-12);
}

TEST(TraceSqrtProduct, MatchesNumpyEigenvaluesOfTheProduct) {
  if (!numpy_available()) GTEST_SKIP() << kPython << " with numpy is not available";
  Generator gen(11);
  for (int64_t rank : {30, 8}) {  // full rank, and S1 singular as with fewer images than dimensions
    const std::vector<double> b = random_factor(30, rank, gen);
    const std::vector<double> s1 = gram_of_factor(b, 30, rank), s2 = random_covariance(30, 30, gen);
    NumpyReference numpy;
    numpy.add("s1", s1, {30, 30});
    numpy.add("s2", s2, {30, 30});
    if (rank < 30) numpy.add("b", b, {rank, 30});  // the reference then avoids the 22 zero eigenvalues
    const double reference = numpy.run("trace_sqrt")["trace"].get<double>();
    EXPECT_NEAR(trace_sqrt_product(s1, s2, 30), reference, 1e-9 * std::abs(reference)) << "rank " << rank;
  }
}

// ---- FID ------------------------------------------------------------------------------

// S1 = Q D1 Q^T and S2 = Q D2 Q^T commute: (S1 S2)^{1/2} = Q (D1 D2)^{1/2} Q^T, so
// FID = ||mu1 - mu2||^2 + sum_k (sqrt(d1_k) - sqrt(d2_k))^2.
TEST(Fid, ClosedFormForCommutingCovariances) {
  Generator gen(5);
  const int64_t d = 8;
  const std::vector<double> q = random_orthogonal(d, gen);
  const std::vector<double> d1 = {0.5, 1, 1.5, 2, 0.2, 3, 0.7, 1.1}, d2 = {1, 1, 0.5, 4, 0.3, 1, 0.7, 2.5};
  const std::vector<double> mu1 = randn_values(d, gen), mu2 = randn_values(d, gen);
  double expected = 0;
  for (int64_t k = 0; k < d; ++k)
    expected += (mu1[k] - mu2[k]) * (mu1[k] - mu2[k]) + std::pow(std::sqrt(d1[k]) - std::sqrt(d2[k]), 2);
  const GaussianMoments a{.dim = d, .count = 0, .mean = mu1, .covariance = with_eigenvalues(q, d1)};
  const GaussianMoments b{.dim = d, .count = 0, .mean = mu2, .covariance = with_eigenvalues(q, d2)};
  EXPECT_NEAR(frechet_distance(a, b), expected, 1e-12 * expected);
  EXPECT_NEAR(frechet_distance(a, a), 0, 1e-12);
  // diagonal covariances (Q = I) with a zero variance: sqrt(0) enters exactly
  const std::vector<double> diag1 = {1, 0, 4}, diag2 = {9, 1, 4};
  std::vector<double> identity(9, 0.0);
  identity[0] = identity[4] = identity[8] = 1;
  const GaussianMoments c{.dim = 3, .count = 0, .mean = {0, 0, 0}, .covariance = with_eigenvalues(identity, diag1)};
  const GaussianMoments e{.dim = 3, .count = 0, .mean = {1, 0, 2}, .covariance = with_eigenvalues(identity, diag2)};
  EXPECT_NEAR(frechet_distance(c, e), 1 + 4 + (1 - 3) * (1 - 3) + (0 - 1) * (0 - 1) + 0, 1e-12);
}

// Samples of the two Gaussians: the estimate is within its sampling error of
// the closed form. Error budget for n samples each, by the delta method in the
// common eigenbasis (the covariances commute):
//   ||mu1^ - mu2^||^2: std 2 sqrt(dmu^T (S1 + S2) dmu / n), bias (tr S1 + tr S2) / n;
//   dFID / d(S1)_kk = 1 - sqrt(d2_k / d1_k) and Var((S1^)_kk) = 2 d1_k^2 / n (likewise for S2);
//   the second-order terms: a bias of order d max_k(d_k) / n.
// Allowed: 4 standard deviations plus twice the biases.
TEST(Fid, SampledGaussiansApproachTheClosedForm) {
  Generator gen(21);
  const int64_t d = 6, n = 20000;
  const double nd = static_cast<double>(n);
  const std::vector<double> q = random_orthogonal(d, gen);
  const std::vector<double> d1 = {0.5, 1, 1.5, 2, 0.8, 1.2}, d2 = {1, 2, 0.5, 1, 0.8, 3};
  const std::vector<double> mu1 = {0, 0.5, 0, -0.5, 1, 0}, mu2 = {0.3, 0.5, -0.2, 0, 1, 0.4};
  double expected = 0, trace_sum = 0, largest = 0, variance = 0;
  std::vector<double> d_sum(d);
  for (int64_t k = 0; k < d; ++k) {
    expected += (mu1[k] - mu2[k]) * (mu1[k] - mu2[k]) + std::pow(std::sqrt(d1[k]) - std::sqrt(d2[k]), 2);
    trace_sum += d1[k] + d2[k];
    largest = std::max({largest, d1[k], d2[k]});
    d_sum[k] = d1[k] + d2[k];
    variance += std::pow(1 - std::sqrt(d2[k] / d1[k]), 2) * 2 * d1[k] * d1[k] / nd +
                std::pow(1 - std::sqrt(d1[k] / d2[k]), 2) * 2 * d2[k] * d2[k] / nd;
  }
  const std::vector<double> s_sum = with_eigenvalues(q, d_sum);  // S1 + S2
  double quad = 0;                                               // dmu^T (S1 + S2) dmu
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j) quad += (mu1[i] - mu2[i]) * s_sum[i * d + j] * (mu1[j] - mu2[j]);
  variance += 4 * quad / nd;
  const double bias = trace_sum / nd + d * largest / nd;
  const double tolerance = 2 * bias + 4 * std::sqrt(variance);
  const FeatureMatrix x = gaussian_samples(n, mu1, q, d1, gen), y = gaussian_samples(n, mu2, q, d2, gen);
  const double fid = frechet_distance(x, y);
  EXPECT_NEAR(fid, expected, tolerance) << "closed form " << expected << ", tolerance " << tolerance;
  EXPECT_LT(tolerance, 0.1 * expected);  // the check means something
  // the same distribution twice: the first-order terms vanish, the bias is left
  const double same = frechet_distance(x, gaussian_samples(n, mu1, q, d1, gen));
  EXPECT_GE(same, -1e-9);
  EXPECT_LT(same, 4 * bias);
}

TEST(Fid, MatchesNumpyOnSamples) {
  if (!numpy_available()) GTEST_SKIP() << kPython << " with numpy is not available";
  Generator gen(4);
  // 40 samples in 25 dimensions (full-rank covariances) and 12 samples (rank 11 < d)
  for (int64_t n : {40, 12}) {
    const FeatureMatrix x = isotropic_samples(n, std::vector<double>(25, 0.0), 1.0, gen);
    FeatureMatrix y = isotropic_samples(n, std::vector<double>(25, 0.3), 1.5, gen);
    for (int64_t r = 0; r < n; ++r) y.values[r * 25 + 1] += 0.8 * y.values[r * 25];  // correlated dimensions
    NumpyReference numpy;
    numpy.add("x", x);
    numpy.add("y", y);
    const double reference = numpy.run("fid")["fid"].get<double>();
    EXPECT_NEAR(frechet_distance(x, y), reference, 1e-9 * std::abs(reference)) << n << " samples";
  }
}

// Tr((S_x S_y)^{1/2}) as the nuclear norm of A_x A_y^T (the r x r route) equals
// the d x d route on the covariances, with more rows than dimensions (both full
// rank) and with fewer (the d x d route then sums rounding noise of its d - r
// zero eigenvalues above the floor at most: a looser tolerance).
TEST(Fid, SampleRouteEqualsCovarianceRoute) {
  Generator gen(6);
  for (const auto& [n, d, tolerance] :
       std::vector<std::tuple<int64_t, int64_t, double>>{{40, 12, 1e-11}, {9, 16, 1e-6}}) {
    const FeatureMatrix x = isotropic_samples(n, std::vector<double>(d, 0.0), 1.0, gen);
    FeatureMatrix y = isotropic_samples(n + 3, std::vector<double>(d, 0.5), 2.0, gen);
    for (int64_t r = 0; r < y.rows; ++r) y.values[r * d + 2] -= 0.5 * y.values[r * d + 1];
    const GaussianMoments mx = gaussian_moments(x), my = gaussian_moments(y);
    const double by_covariances = trace_sqrt_product(mx.covariance, my.covariance, d);
    EXPECT_NEAR(trace_sqrt_product_of_samples(x, y), by_covariances, tolerance * by_covariances) << n << " x " << d;
    EXPECT_NEAR(trace_sqrt_product_of_samples(y, x), by_covariances, tolerance * by_covariances) << n << " x " << d;
    EXPECT_NEAR(frechet_distance(x, y), frechet_distance(mx, my), tolerance * frechet_distance(mx, my));
  }
}

TEST(Fid, RefusesTooFewSamplesAndDimensionMismatch) {
  const FeatureMatrix one{.rows = 1, .cols = 2, .values = {1, 2}};
  const FeatureMatrix two{.rows = 2, .cols = 2, .values = {1, 2, 3, 4}};
  const FeatureMatrix three_dims{.rows = 2, .cols = 3, .values = {1, 2, 3, 4, 5, 6}};
  EXPECT_THROW(frechet_distance(one, two), Error);
  EXPECT_THROW(frechet_distance(two, three_dims), Error);
}

// ---- KID --------------------------------------------------------------------------------

TEST(Kid, MatchesTorchFidelityFormulasInNumpy) {
  if (!numpy_available()) GTEST_SKIP() << kPython << " with numpy is not available";
  Generator gen(9);
  const FeatureMatrix x = isotropic_samples(60, {0, 0.2, 0, 0.1, 0, 0, 0.5}, 1.0, gen);
  const FeatureMatrix y = isotropic_samples(45, {0.3, 0.2, 0, 0, -0.4, 0, 0.5}, 1.2, gen);
  const KidOptions options{.subset_size = 20, .subsets = 7};
  Generator subset_gen(123), kid_gen(123);
  const std::vector<SubsetPair> subsets = kid_subsets(x.rows, y.rows, options, subset_gen);
  std::vector<int64_t> indices;  // (subsets, 2, m)
  for (const SubsetPair& pair : subsets) {
    std::vector<int64_t> sx = pair.x, sy = pair.y;
    EXPECT_EQ(sx.size(), 20u);
    std::sort(sx.begin(), sx.end());
    std::sort(sy.begin(), sy.end());
    EXPECT_EQ(std::adjacent_find(sx.begin(), sx.end()), sx.end()) << "a row drawn twice";
    EXPECT_EQ(std::adjacent_find(sy.begin(), sy.end()), sy.end()) << "a row drawn twice";
    EXPECT_TRUE(sx.front() >= 0 && sx.back() < 60 && sy.front() >= 0 && sy.back() < 45);
    indices.insert(indices.end(), pair.x.begin(), pair.x.end());
    indices.insert(indices.end(), pair.y.begin(), pair.y.end());
  }
  EXPECT_NE(subsets[0].x, subsets[1].x);
  NumpyReference numpy;
  numpy.add("x", x);
  numpy.add("y", y);
  numpy.add("subsets", indices, {7, 2, 20});
  const json reference = numpy.run("kid");
  const KidResult kid = kernel_inception_distance(x, y, options, kid_gen);
  ASSERT_EQ(kid.per_subset.size(), 7u);
  for (size_t s = 0; s < 7; ++s)
    EXPECT_NEAR(kid.per_subset[s], reference["mmd2"][s].get<double>(), 1e-12) << "subset " << s;
  EXPECT_NEAR(kid.mean, reference["mean"].get<double>(), 1e-12);
  EXPECT_NEAR(kid.std, reference["std"].get<double>(), 1e-12);
  // all rows at once, m = 45
  NumpyReference whole;
  const FeatureMatrix x45 = x.select_rows([] {
    std::vector<int64_t> first(45);
    std::iota(first.begin(), first.end(), 0);
    return first;
  }());
  whole.add("x", x45);
  whole.add("y", y);
  std::vector<int64_t> identity(2 * 45);
  for (int64_t i = 0; i < 45; ++i) identity[i] = identity[45 + i] = i;
  whole.add("subsets", identity, {1, 2, 45});
  EXPECT_NEAR(mmd2_unbiased(x45, y), whole.run("kid")["mmd2"][0].get<double>(), 1e-12);
}

// The cubic kernel's MMD^2 between two isotropic Gaussians in closed form
// (expected_cubic_kernel), against KID on large samples. The mean over
// subsets of m out of n has a standard error of about std * sqrt(m / n) (the
// subsets overlap; n / m of them would be independent): allowed 4x that.
TEST(Kid, ApproachesTheClosedFormMmdOfGaussians) {
  Generator gen(13);
  const std::vector<double> a = {0.5, -0.3, 0.2, 0.0}, b = {1.0, -0.3, -0.2, 0.6};
  const double sa = 1.0, sb = 1.5;
  const double exact = expected_cubic_kernel(a, sa, a, sa) + expected_cubic_kernel(b, sb, b, sb) -
                       2 * expected_cubic_kernel(a, sa, b, sb);
  const int64_t n = 4000, m = 1000;
  const FeatureMatrix x = isotropic_samples(n, a, sa, gen), y = isotropic_samples(n, b, sb, gen);
  const KidResult kid = kernel_inception_distance(x, y, {.subset_size = m, .subsets = 20}, gen);
  const double tolerance = 4 * kid.std * std::sqrt(static_cast<double>(m) / n);
  EXPECT_NEAR(kid.mean, exact, tolerance) << "exact " << exact << ", std " << kid.std;
  EXPECT_LT(tolerance, 0.3 * exact);  // the check means something
  // one distribution against itself: MMD^2 = 0
  const KidResult same =
      kernel_inception_distance(x, isotropic_samples(n, a, sa, gen), {.subset_size = m, .subsets = 20}, gen);
  EXPECT_NEAR(same.mean, 0, 4 * same.std * std::sqrt(static_cast<double>(m) / n));
}

// Unbiased: averaged over many independent draws of m = 8 from one
// distribution, MMD^2_u is 0 within its standard error, while the biased
// V-statistic (diagonal terms kept, divided by m^2) is clearly positive.
TEST(Kid, UnbiasedForIdenticalDistributions) {
  Generator gen(17);
  const int64_t draws = 400, m = 8;
  const std::vector<double> mean = {0.5, 0, -0.5};
  std::vector<double> unbiased, biased;
  for (int64_t t = 0; t < draws; ++t) {
    const FeatureMatrix x = isotropic_samples(m, mean, 1.0, gen), y = isotropic_samples(m, mean, 1.0, gen);
    unbiased.push_back(mmd2_unbiased(x, y));
    double v = 0;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < m; ++j)
        v += cubic_kernel(x.row(i), x.row(j), 3) + cubic_kernel(y.row(i), y.row(j), 3) -
             2 * cubic_kernel(x.row(i), y.row(j), 3);
    biased.push_back(v / (m * m));
  }
  const auto mean_and_error = [](const std::vector<double>& v) {
    const double mu = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
    double var = 0;
    for (double e : v) var += (e - mu) * (e - mu);
    return std::pair{mu, std::sqrt(var / (v.size() - 1) / v.size())};
  };
  const auto [u_mean, u_error] = mean_and_error(unbiased);
  const auto [b_mean, b_error] = mean_and_error(biased);
  EXPECT_LT(std::abs(u_mean), 4 * u_error) << "unbiased mean " << u_mean;
  EXPECT_GT(b_mean, 4 * b_error) << "the biased estimate should be visibly positive";
}

TEST(Kid, RefusesTooFewImagesForTheSubsetSize) {
  Generator gen(1);
  const FeatureMatrix x = isotropic_samples(10, {0, 0}, 1.0, gen), y = isotropic_samples(30, {0, 0}, 1.0, gen);
  try {
    kernel_inception_distance(x, y, {.subset_size = 20, .subsets = 2}, gen);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("need at least 20 real images, but there are 10"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(kernel_inception_distance(y, x, {.subset_size = 20, .subsets = 2}, gen), Error);
  EXPECT_THROW(kernel_inception_distance(x, y, {.subset_size = 1, .subsets = 2}, gen), Error);
  EXPECT_NO_THROW(kernel_inception_distance(x, y, {.subset_size = 10, .subsets = 2}, gen));
}

// ---- diversity ------------------------------------------------------------------------------

// 1-d: real {0, 1, 10, 11}: mean 5.5, std s = sqrt(25.25); generated {0.2, 0.4, 10.4, 10.9, 11}.
TEST(Diversity, HandCaseOneDimension) {
  const FeatureMatrix real{.rows = 4, .cols = 1, .values = {0, 1, 10, 11}};
  const FeatureMatrix fake{.rows = 5, .cols = 1, .values = {0.2, 0.4, 10.4, 10.9, 11}};
  const double s = std::sqrt(25.25);
  Generator gen(0);
  // K = 0: centres 0, 1, 10, 11 -> {0.2, 0.4} at 0, {10.4} at 10, {10.9, 11} at 11
  const DiversityResult nearest = DiversityReference(real, {.clusters = 0}, gen).score(fake);
  EXPECT_EQ(nearest.clusters_scored, 2);
  ASSERT_EQ(nearest.clusters.size(), 4u);
  EXPECT_EQ(nearest.clusters[0].members, 2);
  EXPECT_EQ(nearest.clusters[1].members, 0);
  EXPECT_EQ(nearest.clusters[2].members, 1);
  EXPECT_EQ(nearest.clusters[3].members, 2);
  EXPECT_NEAR(nearest.score, (0.2 + 0.1) / 2 / s, 1e-12);
  // K = 2: k-means finds {0, 1} and {10, 11} -> {0.2, 0.4}, {10.4, 10.9, 11}: pairs 0.5, 0.6, 0.1
  const DiversityResult two = DiversityReference(real, {.clusters = 2}, gen).score(fake);
  EXPECT_EQ(two.clusters_scored, 2);
  EXPECT_NEAR(two.score, (0.2 + (0.5 + 0.6 + 0.1) / 3) / 2 / s, 1e-12);
  // the real set against its own two clusters: 1 / s in each
  EXPECT_NEAR(DiversityReference(real, {.clusters = 2}, gen).score(real).score, 1 / s, 1e-12);
}

TEST(Diversity, IdenticalSamplesScoreZeroAndSpreadBeatsCollapse) {
  Generator gen(31);
  const int64_t d = 6;
  // real: three blobs
  FeatureMatrix real{.rows = 0, .cols = d, .values = {}};
  for (double centre : {-3.0, 0.0, 3.0}) {
    const FeatureMatrix blob = isotropic_samples(40, std::vector<double>(d, centre), 1.0, gen);
    real.values.insert(real.values.end(), blob.values.begin(), blob.values.end());
    real.rows += 40;
  }
  const DiversityReference reference(real, {.clusters = 3}, gen);
  // one image repeated 50 times: total mode collapse
  FeatureMatrix collapsed{.rows = 50, .cols = d, .values = {}};
  for (int64_t i = 0; i < 50; ++i) collapsed.values.insert(collapsed.values.end(), real.row(5), real.row(5) + d);
  EXPECT_EQ(reference.score(collapsed).score, 0);
  // near-collapse (every sample within 0.05 of one of three points) vs samples like the real ones
  FeatureMatrix clustered = isotropic_samples(60, std::vector<double>(d, 0.0), 0.05, gen);
  for (int64_t i = 0; i < 60; ++i)
    for (int64_t k = 0; k < d; ++k) clustered.values[i * d + k] += real.row((i % 3) * 40)[k];
  FeatureMatrix spread{.rows = 0, .cols = d, .values = {}};
  for (double centre : {-3.0, 0.0, 3.0}) {
    const FeatureMatrix blob = isotropic_samples(20, std::vector<double>(d, centre), 1.0, gen);
    spread.values.insert(spread.values.end(), blob.values.begin(), blob.values.end());
    spread.rows += 20;
  }
  const double clustered_score = reference.score(clustered).score, spread_score = reference.score(spread).score;
  const double real_score = reference.score(real).score;
  EXPECT_LT(clustered_score, 0.1 * spread_score);
  EXPECT_NEAR(spread_score, real_score, 0.15 * real_score);  // samples like the real ones score like them
}

TEST(Diversity, NoClusterWithTwoMembersIsNaNAndBadInputThrows) {
  const FeatureMatrix real{.rows = 3, .cols = 1, .values = {0, 5, 10}};
  Generator gen(0);
  const DiversityReference reference(real, {.clusters = 0}, gen);
  EXPECT_TRUE(std::isnan(reference.score(real).score));  // every real image alone in its cluster
  EXPECT_THROW(DiversityReference(real, {.clusters = 4}, gen), Error);
  const FeatureMatrix constant{.rows = 3, .cols = 2, .values = {1, 2, 1, 2, 1, 2}};
  EXPECT_THROW(DiversityReference(constant, {.clusters = 1}, gen), Error);
}

TEST(Kmeans, FindsSeparatedBlobs) {
  Generator gen(2);
  FeatureMatrix points{.rows = 0, .cols = 2, .values = {}};
  const std::vector<std::pair<double, double>> centres = {{-10, 0}, {10, 0}, {0, 10}};
  for (const auto& [cx, cy] : centres) {
    const FeatureMatrix blob = isotropic_samples(30, {cx, cy}, 0.5, gen);
    points.values.insert(points.values.end(), blob.values.begin(), blob.values.end());
    points.rows += 30;
  }
  const FeatureMatrix found = kmeans(points, 3, 100, gen);
  for (const auto& [cx, cy] : centres) {
    double best = 1e300;
    for (int64_t c = 0; c < 3; ++c) best = std::min(best, std::hypot(found.row(c)[0] - cx, found.row(c)[1] - cy));
    EXPECT_LT(best, 0.5) << "no centre near (" << cx << ", " << cy << ")";
  }
}

// A NaN or infinite feature (a diverged generator) is refused naming the
// source, the image and the feature; finite features pass.
TEST(FeatureMatrixCheck, NonFiniteFeaturesNameTheSourceAndImage) {
  loom::eval::FeatureMatrix f{.rows = 3, .cols = 2, .values = {0.0, 1.0, 2.0, 3.0, 4.0, 5.0}};
  EXPECT_NO_THROW(loom::eval::check_finite_features(f, "--real x"));
  f.values[3] = std::nan("");
  try {
    loom::eval::check_finite_features(f, "--generator runs/g");
    FAIL() << "a NaN feature was accepted";
  } catch (const loom::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("--generator runs/g"), std::string::npos) << message;
    EXPECT_NE(message.find("image 1, feature 1"), std::string::npos) << message;
  }
  f.values[3] = 3.0;
  f.values[4] = std::numeric_limits<double>::infinity();
  EXPECT_THROW(loom::eval::check_finite_features(f, "--fake y"), loom::Error);
}
