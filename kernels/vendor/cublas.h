// cublas.h: the cuBLAS comparison backend of gemm::run (kernels/vendor/cublas.cu,
// compiled only with LOOM_WITH_CUBLAS): loom's row-major product handed to
// column-major cuBLAS by swapping the operands (C^T = op(B)^T op(A)^T).
#pragma once
#include <cuda_runtime.h>

#include "kernels/cuda/gemm.h"

namespace loom::vendor::cublas {

enum class Api {
  Sgemm,   // cublasSgemm / cublasSgemmStridedBatched (FP32 only)
  GemmEx,  // cublasGemmStridedBatchedEx, compute type from the precision (FP32, FAST_TF32, FAST_16BF)
  Lt,      // cublasLtMatmul with a strided-batch layout, compute type as GemmEx
};

// Runs args on `stream` of the current device with the per-device handle.
// Throws naming the cuBLAS call and its status on failure.
void gemm(const cuda::gemm::Args& args, cuda::gemm::Precision precision, Api api, cudaStream_t stream);

}  // namespace loom::vendor::cublas
