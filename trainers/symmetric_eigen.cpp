// symmetric_eigen.cpp: cyclic Jacobi eigen-solver and the matrix square roots
// of FID (see symmetric_eigen.h).
#include "trainers/symmetric_eigen.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "tensor/error.h"

namespace loom::eval {
namespace {

constexpr int kMaxSweeps = 100;

double frobenius_norm(const std::vector<double>& a) {
  double sum = 0;
  for (double v : a) sum += v * v;
  return std::sqrt(sum);
}

double off_diagonal_norm(const std::vector<double>& a, int64_t n) {
  double sum = 0;
  for (int64_t p = 0; p < n; ++p)
    for (int64_t q = 0; q < n; ++q)
      if (p != q) sum += a[p * n + q] * a[p * n + q];
  return std::sqrt(sum);
}

// The symmetric part (a + a^T) / 2, after checking that `a` is symmetric up to rounding.
std::vector<double> checked_symmetric(const std::vector<double>& a, int64_t n) {
  LOOM_CHECK(n >= 1 && static_cast<int64_t>(a.size()) == n * n, "symmetric_eigen: expected ", n, " x ", n, " = ", n * n,
             " values, got ", a.size());
  double largest = 0;
  for (double v : a) {
    LOOM_CHECK(std::isfinite(v), "symmetric_eigen: the matrix holds a non-finite value (", v, ")");
    largest = std::max(largest, std::abs(v));
  }
  std::vector<double> s(a.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const double aij = a[i * n + j], aji = a[j * n + i];
      LOOM_CHECK(std::abs(aij - aji) <= 1e-9 * largest, "symmetric_eigen: the matrix is not symmetric: a[", i, ",", j,
                 "] = ", aij, " but a[", j, ",", i, "] = ", aji);
      s[i * n + j] = 0.5 * (aij + aji);
    }
  return s;
}

// One Jacobi rotation A <- J^T A J, V <- V J that zeroes A[p, q], with
// J = identity except J[p,p] = J[q,q] = c, J[p,q] = s, J[q,p] = -s, where
//   (J^T A J)[p,q] = c s (a_pp - a_qq) + (c^2 - s^2) a_pq = 0
//   <=> cot(2 phi) = (a_qq - a_pp) / (2 a_pq) =: theta,   t = tan(phi) = s / c
//   t^2 + 2 theta t - 1 = 0, the smaller root t = sign(theta) / (|theta| + sqrt(theta^2 + 1))
// (|phi| <= pi/4: the rotation moves the matrix least, which makes Jacobi converge).
// Rows p and q change as a'_pk = c a_pk - s a_qk, a'_qk = s a_pk + c a_qk (k != p, q),
// read and written along the rows (contiguous); columns p and q are their
// mirror images. The 2x2 block: a'_pp = a_pp - t a_pq, a'_qq = a_qq + t a_pq
// (c^2 a_pp - 2 c s a_pq + s^2 a_qq simplified with the choice of t), a'_pq = 0.
// V is kept transposed (vt: row k = column k of V), so V J also changes two rows.
void rotate(std::vector<double>& a, std::vector<double>& vt, int64_t n, int64_t p, int64_t q) {  // vt may be empty
  const double apq = a[p * n + q];
  const double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
  const double sign = theta >= 0 ? 1.0 : -1.0;
  const double t = std::abs(theta) > 1e150 ? 1 / (2 * theta)  // theta^2 would overflow; t ~ 1 / (2 theta)
                                           : sign / (std::abs(theta) + std::sqrt(theta * theta + 1));
  const double c = 1 / std::sqrt(t * t + 1), s = t * c;
  double* row_p = a.data() + p * n;
  double* row_q = a.data() + q * n;
  for (int64_t k = 0; k < n; ++k) {
    if (k == p || k == q) continue;
    const double apk = row_p[k], aqk = row_q[k];
    row_p[k] = c * apk - s * aqk;
    row_q[k] = s * apk + c * aqk;
  }
  for (int64_t k = 0; k < n; ++k) {  // the columns, by symmetry
    if (k == p || k == q) continue;
    a[k * n + p] = row_p[k];
    a[k * n + q] = row_q[k];
  }
  row_p[p] -= t * apq;
  row_q[q] += t * apq;
  row_p[q] = row_q[p] = 0;
  if (vt.empty()) return;
  double* v_p = vt.data() + p * n;
  double* v_q = vt.data() + q * n;
  for (int64_t k = 0; k < n; ++k) {
    const double vkp = v_p[k], vkq = v_q[k];
    v_p[k] = c * vkp - s * vkq;
    v_q[k] = s * vkp + c * vkq;
  }
}

}  // namespace

double eigenvalue_noise_floor(const std::vector<double>& values) {
  double largest = 0;
  for (double v : values) largest = std::max(largest, std::abs(v));
  return 64 * static_cast<double>(values.size()) * std::numeric_limits<double>::epsilon() * largest;
}

SymmetricEigen symmetric_eigen(const std::vector<double>& input, int64_t n, bool want_vectors) {
  std::vector<double> a = checked_symmetric(input, n);                         // (n, n), becomes diag(lambda)
  std::vector<double> vt(want_vectors ? static_cast<size_t>(n * n) : 0, 0.0);  // (n, n): V^T, row k = eigenvector k
  if (want_vectors)
    for (int64_t i = 0; i < n; ++i) vt[i * n + i] = 1;
  const double norm = frobenius_norm(a);
  // An entry below eps * ||A||_F is rounding noise of earlier rotations:
  // rotating it away changes no eigenvalue by more than the rounding of the
  // input already has (backward stable); so is one negligible next to both
  // diagonal entries it couples (Numerical Recipes' test).
  const double negligible = 1e-16 * norm;
  bool converged = norm == 0;
  for (int sweep = 0; sweep < kMaxSweeps && !converged; ++sweep) {
    bool rotated = false;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        const double apq = std::abs(a[p * n + q]), app = std::abs(a[p * n + p]), aqq = std::abs(a[q * n + q]);
        if (apq == 0) continue;
        if (apq <= negligible || (app + 100 * apq == app && aqq + 100 * apq == aqq)) {
          a[p * n + q] = a[q * n + p] = 0;
          continue;
        }
        rotate(a, vt, n, p, q);
        rotated = true;
      }
    converged = !rotated;
  }
  LOOM_CHECK(converged || off_diagonal_norm(a, n) <= 1e-10 * norm, "symmetric_eigen: Jacobi did not converge in ",
             kMaxSweeps, " sweeps for a ", n, " x ", n, " matrix (off-diagonal norm ", off_diagonal_norm(a, n), " of ",
             norm, ")");

  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return a[i * n + i] < a[j * n + j]; });
  SymmetricEigen result;
  result.values.resize(static_cast<size_t>(n));
  result.vectors.resize(want_vectors ? static_cast<size_t>(n * n) : 0);
  for (int64_t k = 0; k < n; ++k) {
    result.values[k] = a[order[k] * n + order[k]];
    if (want_vectors)
      for (int64_t i = 0; i < n; ++i) result.vectors[i * n + k] = vt[order[k] * n + i];
  }
  return result;
}

std::vector<double> psd_sqrt(const std::vector<double>& s, int64_t n) {
  const SymmetricEigen eig = symmetric_eigen(s, n);
  // S^{1/2} = V diag(sqrt(lambda)) V^T = W W^T with W = V diag(lambda^{1/4}):
  // symmetric by construction.
  const double floor = eigenvalue_noise_floor(eig.values);
  std::vector<double> w(eig.vectors);  // (n, n)
  for (int64_t k = 0; k < n; ++k) {
    const double scale = eig.values[k] > floor ? std::sqrt(std::sqrt(eig.values[k])) : 0.0;
    for (int64_t i = 0; i < n; ++i) w[i * n + k] *= scale;
  }
  std::vector<double> root(static_cast<size_t>(n * n));  // (n, n)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) sum += w[i * n + k] * w[j * n + k];
      root[i * n + j] = root[j * n + i] = sum;
    }
  return root;
}

std::vector<double> matmul_square(const std::vector<double>& a, const std::vector<double>& b, int64_t n) {
  LOOM_CHECK(static_cast<int64_t>(a.size()) == n * n && static_cast<int64_t>(b.size()) == n * n,
             "matmul_square: expected two ", n, " x ", n, " matrices, got ", a.size(), " and ", b.size(), " values");
  std::vector<double> c(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < n; ++k) {
      const double aik = a[i * n + k];
      for (int64_t j = 0; j < n; ++j) c[i * n + j] += aik * b[k * n + j];
    }
  return c;
}

double trace_sqrt_product(const std::vector<double>& s1, const std::vector<double>& s2, int64_t n) {
  const std::vector<double> root1 = psd_sqrt(s1, n);                             // S1^{1/2}
  std::vector<double> m = matmul_square(matmul_square(root1, s2, n), root1, n);  // S1^{1/2} S2 S1^{1/2}
  for (int64_t i = 0; i < n; ++i)  // symmetric up to rounding: take the symmetric part
    for (int64_t j = i + 1; j < n; ++j) m[i * n + j] = m[j * n + i] = 0.5 * (m[i * n + j] + m[j * n + i]);
  const SymmetricEigen eig = symmetric_eigen(m, n, /*want_vectors=*/false);
  const double floor = eigenvalue_noise_floor(eig.values);
  double trace = 0;
  for (double mu : eig.values)
    if (mu > floor) trace += std::sqrt(mu);
  return trace;
}

}  // namespace loom::eval
