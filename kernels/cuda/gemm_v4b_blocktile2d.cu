// gemm_v4b_blocktile2d.cu: GEMM version 4b, 2-D register tiling. Each of 256
// threads computes an 8 x 8 patch of a 128 x 128 C tile: per k it loads 8 A
// values and 8 B values into registers and forms their 64-term outer product,
// 64 FMAs per 16 shared-memory loads (4 FMAs per load, against 8/9 in 4a).
// Arithmetic intensity per block also doubles (128 x 128 tile), so global
// traffic per FLOP halves. Shared memory is still filled by scalar loads.
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/gemm_blocktile.cuh"

namespace loom::cuda::gemm {

namespace {

constexpr int kBM = 128, kBN = 128, kBK = 8, kTM = 8, kTN = 8;
constexpr int kThreads = (kBM / kTM) * (kBN / kTN);  // 256

__global__ void __launch_bounds__(kThreads) gemm_v4b_blocktile2d(Params<float> p) {
  __shared__ float as[kBM][kBK + 1];  // (i, k)
  __shared__ float bs[kBK][kBN];      // (k, j)
  const int tr = threadIdx.x / (kBN / kTN), tc = threadIdx.x % (kBN / kTN);  // patch (tr*TM.., tc*TN..)
  const int64_t i0 = static_cast<int64_t>(blockIdx.y) * kBM, j0 = static_cast<int64_t>(blockIdx.x) * kBN;
  for (int64_t bz = blockIdx.z; bz < p.batch; bz += gridDim.z) {
    const BatchPtrs<float> ptr = batch_ptrs(p, bz);
    float acc[kTM][kTN] = {};
    for (int64_t k0 = 0; k0 < p.k; k0 += kBK) {
      copy_tiles_scalar<kBM, kBN, kBK, kThreads, 1, 0>(p, ptr, i0, j0, k0, as, bs);
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < kBK; ++kk) {
        float ra[kTM], rb[kTN];
#pragma unroll
        for (int r = 0; r < kTM; ++r) ra[r] = as[tr * kTM + r][kk];
#pragma unroll
        for (int c = 0; c < kTN; ++c) rb[c] = bs[kk][tc * kTN + c];
#pragma unroll
        for (int r = 0; r < kTM; ++r)
#pragma unroll
          for (int c = 0; c < kTN; ++c) acc[r][c] = fmaf(ra[r], rb[c], acc[r][c]);
      }
      __syncthreads();
    }
#pragma unroll
    for (int r = 0; r < kTM; ++r)
#pragma unroll
      for (int c = 0; c < kTN; ++c) store_c(p, ptr.c, i0 + tr * kTM + r, j0 + tc * kTN + c, acc[r][c]);
  }
}

}  // namespace

void launch_v4b_blocktile2d(const Args& args, cudaStream_t stream) {
  gemm_v4b_blocktile2d<<<tile_grid(args, kBM, kBN, "4b_blocktile2d"), kThreads, 0, stream>>>(to_params(args));
  LOOM_CUDA_CHECK_LAUNCH("gemm_v4b_blocktile2d");
}

}  // namespace loom::cuda::gemm
