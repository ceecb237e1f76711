// symmetric_eigen.h: eigenvalues and eigenvectors of a real symmetric matrix by
// the cyclic Jacobi method, in float64, and the two things FID needs from them:
// the square root of a symmetric positive semi-definite matrix and
// Tr((S1 S2)^{1/2}) for two covariance matrices.
//
// Jacobi (Golub & Van Loan, "Matrix Computations", 8.5): sweep over every pair
// p < q and apply the plane rotation J(p, q, theta) that zeroes A[p, q] in
// J^T A J, until the off-diagonal part is negligible; A -> diag(lambda) and the
// product of the rotations -> V, with A_in = V diag(lambda) V^T. Each sweep costs
// O(n^3); convergence is quadratic once the off-diagonal part is small (about
// 6-10 sweeps for the covariance matrices here). Slower than a tridiagonal QR
// (LAPACK's dsyevd) but short, exact to a few ulps on symmetric input, and
// robust for the rank-deficient covariances of few samples.
//
// Matrices are row-major std::vector<double> of n * n values.
#pragma once
#include <cstdint>
#include <vector>

namespace loom::eval {

struct SymmetricEigen {
  std::vector<double> values;   // (n): the eigenvalues, ascending
  std::vector<double> vectors;  // (n, n): column k is the unit eigenvector of values[k]
};

// Throws unless `a` holds n * n values and is symmetric (|a_ij - a_ji| <= 1e-9
// relative to the largest entry; the mean of the two is used), or when Jacobi
// has not converged after 100 sweeps.
// With want_vectors = false only the eigenvalues are computed (a third less
// work); `vectors` is then empty.
SymmetricEigen symmetric_eigen(const std::vector<double>& a, int64_t n, bool want_vectors = true);

// The level below which a computed eigenvalue is rounding noise of a zero
// one: 64 n eps max_k |lambda_k| (Jacobi is backward stable: each eigenvalue
// is exact for a matrix within a few n eps ||A|| of the input). The square
// roots below take such eigenvalues, and negative ones, as exactly 0: sqrt is
// steep at 0, and the noise (~1e-15 ||A||) of the zero eigenvalues of a
// singular covariance (fewer images than feature dimensions) would otherwise
// add ~3e-8 sqrt(||A||) each to the trace.
double eigenvalue_noise_floor(const std::vector<double>& values);

// S^{1/2} = V diag(sqrt(lambda)) V^T of a symmetric PSD matrix S, with the
// eigenvalues at or below eigenvalue_noise_floor taken as 0.
std::vector<double> psd_sqrt(const std::vector<double>& s, int64_t n);

// Tr((S1 S2)^{1/2}) for symmetric PSD S1, S2 (n x n). S1 S2 is not symmetric,
// but it is similar to M = S1^{1/2} S2 S1^{1/2} (symmetric PSD):
//   S1 S2 = S1^{1/2} M S1^{-1/2},  so  Tr((S1 S2)^{1/2}) = Tr(M^{1/2}) = sum_k sqrt(mu_k)
// over the eigenvalues mu_k of M above eigenvalue_noise_floor. (Holds for singular S1 too, by
// continuity.) This avoids scipy.linalg.sqrtm's complex Schur route and its
// imaginary rounding residue.
double trace_sqrt_product(const std::vector<double>& s1, const std::vector<double>& s2, int64_t n);

// Row-major products of n x n matrices (plain triple loops, float64).
std::vector<double> matmul_square(const std::vector<double>& a, const std::vector<double>& b, int64_t n);

}  // namespace loom::eval
