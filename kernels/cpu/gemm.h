// gemm.h: the CPU matrix product every dense op is built on (matmul, linear,
// and convolution through im2col).
//
//   C (M, N) = alpha * A (M, K) @ B (K, N) + beta * C
//
// Operands are described BLIS-style by a row stride and a column stride, so a
// transposed view is just swapped strides and is never copied:
//   A(i, k) = A[i * rs_a + k * cs_a],  B(k, j) = B[k * rs_b + j * cs_b],
//   C(i, j) = C[i * rs_c + j]          (C rows must be dense: column stride 1)
// beta == 0 overwrites C without reading it (so C may hold garbage or NaN).
// Results do not depend on the number of OpenMP threads: the K loop of every
// C element runs in the same order whatever the split.
#pragma once
#include <cstdint>

namespace loom::cpu {

void gemm(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t rs_a, int64_t cs_a, const float* B,
          int64_t rs_b, int64_t cs_b, float beta, float* C, int64_t rs_c);
void gemm(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rs_a, int64_t cs_a,
          const double* B, int64_t rs_b, int64_t cs_b, double beta, double* C, int64_t rs_c);

// The plain triple loop, kept forever as the oracle the fast version is tested against.
void gemm_reference(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rs_a, int64_t cs_a,
                    const double* B, int64_t rs_b, int64_t cs_b, double beta, double* C, int64_t rs_c);

}  // namespace loom::cpu
