// gemm_v4a_blocktile1d.cu: GEMM version 4a, 1-D register (block) tiling.
// Version 3 does one multiply-add per two shared-memory loads. Here each of
// the 512 threads computes a column of TM = 8 outputs of a 64 x 64 C tile:
// per k it loads one B value into a register and reuses it for 8 A values,
// so shared-memory traffic per FMA drops from 2 loads to 9/8, and the
// per-thread accumulators live in registers. K advances in slices of BK = 8.
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/gemm_blocktile.cuh"

namespace loom::cuda::gemm {

namespace {

constexpr int kBM = 64, kBN = 64, kBK = 8, kTM = 8;
constexpr int kThreads = kBM * kBN / kTM;  // 512

__global__ void __launch_bounds__(kThreads) gemm_v4a_blocktile1d(Params<float> p) {
  __shared__ float as[kBM][kBK + 1];  // (i, k); +1 against bank conflicts when trans_a stores columns
  __shared__ float bs[kBK][kBN];      // (k, j)
  const int col = threadIdx.x % kBN, row_group = threadIdx.x / kBN;  // this thread: rows row_group*TM .. +TM
  const int64_t i0 = static_cast<int64_t>(blockIdx.y) * kBM, j0 = static_cast<int64_t>(blockIdx.x) * kBN;
  for (int64_t bz = blockIdx.z; bz < p.batch; bz += gridDim.z) {
    const BatchPtrs<float> ptr = batch_ptrs(p, bz);
    float acc[kTM] = {};
    for (int64_t k0 = 0; k0 < p.k; k0 += kBK) {
      copy_tiles_scalar<kBM, kBN, kBK, kThreads, 1, 0>(p, ptr, i0, j0, k0, as, bs);
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < kBK; ++kk) {
        const float b = bs[kk][col];  // one register, reused TM times
#pragma unroll
        for (int r = 0; r < kTM; ++r) acc[r] = fmaf(as[row_group * kTM + r][kk], b, acc[r]);
      }
      __syncthreads();
    }
#pragma unroll
    for (int r = 0; r < kTM; ++r) store_c(p, ptr.c, i0 + row_group * kTM + r, j0 + col, acc[r]);
  }
}

}  // namespace

void launch_v4a_blocktile1d(const Args& args, cudaStream_t stream) {
  gemm_v4a_blocktile1d<<<tile_grid(args, kBM, kBN, "4a_blocktile1d"), kThreads, 0, stream>>>(to_params(args));
  LOOM_CUDA_CHECK_LAUNCH("gemm_v4a_blocktile1d");
}

}  // namespace loom::cuda::gemm
