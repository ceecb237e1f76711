// cublas.cu: the cuBLAS comparison backend (kernels/vendor/cublas.h), built
// only with LOOM_WITH_CUBLAS. loom is row-major, cuBLAS column-major: a
// row-major (R, C) buffer with leading dimension ld is the column-major (C, R)
// matrix, its transpose. So C = op(A) op(B) (row-major) is computed as the
// column-major C^T (N, M) = op(B)^T (N, K) op(A)^T (K, M): B is passed first
// with B's trans flag, then A with A's, and m/n swapped.
//   cublas       cublasSgemmStridedBatched                    (FP32)
//   cublas_tf32  cublasGemmStridedBatchedEx, COMPUTE_32F_FAST_TF32
//   cublas_bf16  cublasGemmStridedBatchedEx, COMPUTE_32F_FAST_16BF
//   cublaslt     cublasLtMatmul, strided-batch layouts, heuristic's first algorithm
// One handle (and one Lt handle and workspace) per device, created on first
// use; every call runs on the stream it is given (the current stream).
#ifdef LOOM_WITH_CUBLAS
#include <cublasLt.h>
#include <cublas_v2.h>

#include <algorithm>
#include <climits>
#include <mutex>
#include <vector>

#include "kernels/cuda/check.cuh"
#include "kernels/vendor/cublas.h"
#include "tensor/error.h"

namespace loom::vendor::cublas {

namespace {

using cuda::gemm::Args;
using cuda::gemm::Precision;

void check(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS)
    detail::throw_error("cuBLAS error in ", call, ": ", cublasGetStatusName(status), " (",
                        cublasGetStatusString(status), ")");
}

// Per-device state, created on first use and kept for the process.
struct DeviceHandles {
  cublasHandle_t blas = nullptr;
  cublasLtHandle_t lt = nullptr;
  void* workspace = nullptr;  // cublasLt workspace (shared by the device's streams: comparison runs use one)
};
constexpr size_t kLtWorkspaceBytes = size_t{32} << 20;

DeviceHandles& handles_of_current_device() {
  static std::mutex mutex;
  static std::vector<DeviceHandles> per_device;
  int device = 0;
  LOOM_CUDA_CHECK(cudaGetDevice(&device));
  std::lock_guard<std::mutex> lock(mutex);
  if (per_device.size() <= static_cast<size_t>(device)) per_device.resize(device + 1);
  DeviceHandles& h = per_device[device];
  if (h.blas == nullptr) {
    check(cublasCreate(&h.blas), "cublasCreate");
    check(cublasLtCreate(&h.lt), "cublasLtCreate");
    LOOM_CUDA_CHECK(cudaMalloc(&h.workspace, kLtWorkspaceBytes));
  }
  return h;
}

int as_int(int64_t v, const char* what) {
  LOOM_CHECK(v >= 0 && v <= INT_MAX, "cuBLAS gemm: ", what, " = ", v, " does not fit cuBLAS's 32-bit int");
  return static_cast<int>(v);
}

cublasComputeType_t compute_type(Precision p) {
  switch (p) {
    case Precision::FP32: return CUBLAS_COMPUTE_32F;
    case Precision::TF32: return CUBLAS_COMPUTE_32F_FAST_TF32;
    case Precision::BF16: return CUBLAS_COMPUTE_32F_FAST_16BF;
  }
  return CUBLAS_COMPUTE_32F;
}

// The column-major problem: C^T (n x m) = op(B)^T (n x k) op(A)^T (k x m).
struct ColumnMajor {
  cublasOperation_t op_first, op_second;  // applied to B (first operand), A (second)
  int m, n, k, ld_first, ld_second, ldc, batch;
};

ColumnMajor column_major(const Args& a) {
  return {a.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
          a.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
          as_int(a.n, "n"),
          as_int(a.m, "m"),
          as_int(a.k, "k"),
          // cuBLAS wants ld >= 1 even for an empty (k = 0) operand, which has no element to misplace.
          as_int(std::max<int64_t>(a.ldb, 1), "ldb"),
          as_int(std::max<int64_t>(a.lda, 1), "lda"),
          as_int(std::max<int64_t>(a.ldc, 1), "ldc"),
          as_int(a.batch, "batch")};
}

void lt_matmul(const DeviceHandles& h, const Args& a, const ColumnMajor& cm, Precision precision, cudaStream_t stream) {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t lay_first = nullptr, lay_second = nullptr, lay_c = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  // Releases every descriptor on any exit (a throw included).
  struct Release {
    cublasLtMatmulDesc_t& d;
    cublasLtMatrixLayout_t &l1, &l2, &l3;
    cublasLtMatmulPreference_t& p;
    ~Release() {
      if (p) cublasLtMatmulPreferenceDestroy(p);
      if (l3) cublasLtMatrixLayoutDestroy(l3);
      if (l2) cublasLtMatrixLayoutDestroy(l2);
      if (l1) cublasLtMatrixLayoutDestroy(l1);
      if (d) cublasLtMatmulDescDestroy(d);
    }
  } release{desc, lay_first, lay_second, lay_c, pref};

  check(cublasLtMatmulDescCreate(&desc, compute_type(precision), CUDA_R_32F), "cublasLtMatmulDescCreate");
  check(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &cm.op_first, sizeof(cm.op_first)),
        "cublasLtMatmulDescSetAttribute(TRANSA)");
  check(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &cm.op_second, sizeof(cm.op_second)),
        "cublasLtMatmulDescSetAttribute(TRANSB)");
  // Stored (column-major) shapes: first operand n x k (k x n when transposed), second k x m (m x k), C n x m.
  const bool t1 = cm.op_first == CUBLAS_OP_T, t2 = cm.op_second == CUBLAS_OP_T;
  check(cublasLtMatrixLayoutCreate(&lay_first, CUDA_R_32F, t1 ? cm.k : cm.m, t1 ? cm.m : cm.k, cm.ld_first),
        "cublasLtMatrixLayoutCreate(B)");
  check(cublasLtMatrixLayoutCreate(&lay_second, CUDA_R_32F, t2 ? cm.n : cm.k, t2 ? cm.k : cm.n, cm.ld_second),
        "cublasLtMatrixLayoutCreate(A)");
  check(cublasLtMatrixLayoutCreate(&lay_c, CUDA_R_32F, cm.m, cm.n, cm.ldc), "cublasLtMatrixLayoutCreate(C)");
  const int64_t strides[3] = {a.stride_b, a.stride_a, a.stride_c};
  cublasLtMatrixLayout_t layouts[3] = {lay_first, lay_second, lay_c};
  for (int i = 0; i < 3; ++i) {
    check(cublasLtMatrixLayoutSetAttribute(layouts[i], CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &cm.batch, sizeof(cm.batch)),
          "cublasLtMatrixLayoutSetAttribute(BATCH_COUNT)");
    check(cublasLtMatrixLayoutSetAttribute(layouts[i], CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &strides[i],
                                           sizeof(strides[i])),
          "cublasLtMatrixLayoutSetAttribute(STRIDED_BATCH_OFFSET)");
  }
  check(cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate");
  check(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &kLtWorkspaceBytes,
                                             sizeof(kLtWorkspaceBytes)),
        "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)");
  // The heuristic assumes 256-byte-aligned operands unless told otherwise;
  // matmul passes views in place (an offset slice is 4-byte aligned), so give
  // each operand's real alignment: the largest power of two dividing its
  // address and its batch stride in bytes. (Lt's "A" is loom's B: the
  // operands are swapped for column-major.)
  auto alignment = [](const void* p, int64_t stride_elements) {
    const uintptr_t v = reinterpret_cast<uintptr_t>(p) | static_cast<uintptr_t>(stride_elements * 4);
    uint32_t align = 256;
    while (align > 4 && v % align != 0) align /= 2;
    return align;
  };
  const uint32_t aligns[4] = {alignment(a.b, a.stride_b), alignment(a.a, a.stride_a), alignment(a.c, a.stride_c),
                              alignment(a.c, a.stride_c)};
  const cublasLtMatmulPreferenceAttributes_t align_attrs[4] = {
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
  for (int i = 0; i < 4; ++i)
    check(cublasLtMatmulPreferenceSetAttribute(pref, align_attrs[i], &aligns[i], sizeof(aligns[i])),
          "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT)");
  cublasLtMatmulHeuristicResult_t heuristic{};
  int found = 0;
  check(cublasLtMatmulAlgoGetHeuristic(h.lt, desc, lay_first, lay_second, lay_c, lay_c, pref, 1, &heuristic, &found),
        "cublasLtMatmulAlgoGetHeuristic");
  LOOM_CHECK(found > 0, "cublasLtMatmulAlgoGetHeuristic: no algorithm for m ", a.m, ", n ", a.n, ", k ", a.k);
  check(cublasLtMatmul(h.lt, desc, &a.alpha, a.b, lay_first, a.a, lay_second, &a.beta, a.c, lay_c, a.c, lay_c,
                       &heuristic.algo, h.workspace, kLtWorkspaceBytes, stream),
        "cublasLtMatmul");
}

}  // namespace

void gemm(const Args& a, Precision precision, Api api, cudaStream_t stream) {
  DeviceHandles& h = handles_of_current_device();
  const ColumnMajor cm = column_major(a);
  if (api == Api::Lt) return lt_matmul(h, a, cm, precision, stream);
  check(cublasSetStream(h.blas, stream), "cublasSetStream");
  if (api == Api::Sgemm) {
    LOOM_CHECK(precision == Precision::FP32, "cuBLAS Sgemm runs FP32 only, not ",
               cuda::gemm::precision_name(precision));
    check(cublasSgemmStridedBatched(h.blas, cm.op_first, cm.op_second, cm.m, cm.n, cm.k, &a.alpha, a.b, cm.ld_first,
                                    a.stride_b, a.a, cm.ld_second, a.stride_a, &a.beta, a.c, cm.ldc, a.stride_c,
                                    cm.batch),
          "cublasSgemmStridedBatched");
    return;
  }
  check(cublasGemmStridedBatchedEx(h.blas, cm.op_first, cm.op_second, cm.m, cm.n, cm.k, &a.alpha, a.b, CUDA_R_32F,
                                   cm.ld_first, a.stride_b, a.a, CUDA_R_32F, cm.ld_second, a.stride_a, &a.beta, a.c,
                                   CUDA_R_32F, cm.ldc, a.stride_c, cm.batch, compute_type(precision),
                                   CUBLAS_GEMM_DEFAULT),
        "cublasGemmStridedBatchedEx");
}

}  // namespace loom::vendor::cublas

#endif  // LOOM_WITH_CUBLAS
