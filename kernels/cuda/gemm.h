// gemm.h: the one entry to loom's CUDA matrix products (kernels/cuda/gemm*.cu)
// for the matmul op, the convolutions and the benchmarks. Numbered versions
// sit side by side behind run(); each version's file says what it adds.
//
// Layout: row-major, as the tensors are. For each batch b,
//   C_b (M, N) = alpha * op(A_b) (M, K) @ op(B_b) (K, N) + beta * C_b
// with op(A) = A (M, K) read with leading dimension lda (A[i*lda + k]), or,
// when trans_a, A stored as (K, M) (A[k*lda + i]); likewise B. Batch b starts
// at a + b*stride_a (stride 0 broadcasts one matrix to every batch).
// beta == 0 never reads C (so C may hold NaN, as a poisoned buffer does).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace loom::cuda::gemm {

enum class Precision {
  FP32,  // fp32 multiply and accumulate (SIMT): the default everywhere
  TF32,  // tensor cores, inputs rounded to tf32 (10-bit mantissa), fp32 accumulate: opt-in
  BF16,  // tensor cores, inputs rounded to bf16 (7-bit mantissa), fp32 accumulate: opt-in
};
const char* precision_name(Precision p);

struct Args {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  float alpha = 1, beta = 0;
  const float* a = nullptr;
  int64_t lda = 0, stride_a = 0;
  const float* b = nullptr;
  int64_t ldb = 0, stride_b = 0;
  float* c = nullptr;
  int64_t ldc = 0, stride_c = 0;
  int64_t batch = 1;
};

// Same for float64 (one simple tiled kernel: float64 is for gradchecks, not speed).
struct ArgsF64 {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  double alpha = 1, beta = 0;
  const double* a = nullptr;
  int64_t lda = 0, stride_a = 0;
  const double* b = nullptr;
  int64_t ldb = 0, stride_b = 0;
  double* c = nullptr;
  int64_t ldc = 0, stride_c = 0;
  int64_t batch = 1;
};

// Runs the product on the current device's current stream. `version` empty:
// the dispatcher's default for this shape and precision (chosen from
// measurements, see gemm_dispatch.cu); else a name from versions(), e.g.
// "1_naive", "6_warptile", "7_mma_tf32", or "cublas" when built with it.
// The environment variable LOOM_GEMM=<name> forces a version everywhere.
// Throws naming the version when it cannot run the precision asked for.
void run(const Args& args, Precision precision = Precision::FP32, const std::string& version = "");
void run(const ArgsF64& args);

// Every version name this build has, in order, with the precisions each supports.
struct VersionInfo {
  std::string name;
  std::vector<Precision> precisions;
  std::string summary;  // one line: what it adds
};
std::vector<VersionInfo> versions();

}  // namespace loom::cuda::gemm
