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
// How it is fast (packing, cache blocking, the register micro-kernel) is
// explained at the top of gemm.cpp and gemm_ukernels.h.
#pragma once
#include <cstdint>

namespace loom::cpu {

void gemm(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t rs_a, int64_t cs_a, const float* B,
          int64_t rs_b, int64_t cs_b, float beta, float* C, int64_t rs_c);
void gemm(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rs_a, int64_t cs_a,
          const double* B, int64_t rs_b, int64_t cs_b, double beta, double* C, int64_t rs_c);

// ---- choosing the micro-kernel and the block sizes (tests and benchmarks) ----
// Auto picks the best kernel this build has: Avx512 when compiled with
// __AVX512F__, else Avx2 (AVX2 + FMA), else Portable (plain C++).
enum class GemmKernel { Auto, Avx512, Avx2, Portable };
struct GemmConfig {
  GemmKernel kernel = GemmKernel::Auto;
  // Cache blocking (see gemm.cpp); 0 takes the tuned default of the kernel.
  int64_t mc = 0;  // rows of A packed per block (L2)
  int64_t kc = 0;  // depth of a packed block (L1: a kc x NR micro-panel of B)
  int64_t nc = 0;  // columns of B packed per block (L3)
};
// True when this build (its compile flags) contains that kernel.
bool gemm_kernel_available(GemmKernel kernel);
// "avx512 14x32", "avx2 6x16", "portable 4x16", ... (Auto resolved), for the
// given element type (float when is_double is false).
const char* gemm_kernel_name(GemmKernel kernel, bool is_double = false);
// gemm with an explicit kernel and blocking. Throws loom::Error if the kernel is
// not available in this build.
void gemm(const GemmConfig& config, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t rs_a,
          int64_t cs_a, const float* B, int64_t rs_b, int64_t cs_b, float beta, float* C, int64_t rs_c);
void gemm(const GemmConfig& config, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rs_a,
          int64_t cs_a, const double* B, int64_t rs_b, int64_t cs_b, double beta, double* C, int64_t rs_c);

// The plain triple loop, kept forever as the oracle the fast version is tested against.
void gemm_reference(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rs_a, int64_t cs_a,
                    const double* B, int64_t rs_b, int64_t cs_b, double beta, double* C, int64_t rs_c);

}  // namespace loom::cpu
