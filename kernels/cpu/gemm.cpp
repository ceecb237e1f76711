// gemm.cpp: TEMPORARY simple GEMM (the packed, SIMD version replaces it).
#include "kernels/cpu/gemm.h"

namespace loom::cpu {

namespace {
template <class T>
void gemm_simple(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rs_a, int64_t cs_a, const T* B,
                 int64_t rs_b, int64_t cs_b, T beta, T* C, int64_t rs_c) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < M; ++i) {
    T* c = C + i * rs_c;
    for (int64_t j = 0; j < N; ++j) c[j] = beta == T(0) ? T(0) : beta * c[j];
    for (int64_t k = 0; k < K; ++k) {
      const T a = alpha * A[i * rs_a + k * cs_a];
      const T* b = B + k * rs_b;
      for (int64_t j = 0; j < N; ++j) c[j] += a * b[j * cs_b];
    }
  }
}
}  // namespace

void gemm(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t rs_a, int64_t cs_a, const float* B,
          int64_t rs_b, int64_t cs_b, float beta, float* C, int64_t rs_c) {
  gemm_simple(M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c);
}
void gemm(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rs_a, int64_t cs_a,
          const double* B, int64_t rs_b, int64_t cs_b, double beta, double* C, int64_t rs_c) {
  gemm_simple(M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c);
}
void gemm_reference(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rs_a, int64_t cs_a,
                    const double* B, int64_t rs_b, int64_t cs_b, double beta, double* C, int64_t rs_c) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += A[i * rs_a + k * cs_a] * B[k * rs_b + j * cs_b];
      C[i * rs_c + j] = alpha * s + (beta == 0 ? 0.0 : beta * C[i * rs_c + j]);
    }
}

}  // namespace loom::cpu
