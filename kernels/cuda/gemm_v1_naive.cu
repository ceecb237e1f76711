// gemm_v1_naive.cu: GEMM version 1, the naive kernel. One thread per output
// element C(i, j), a plain loop over k reading op(A) and op(B) straight from
// global memory. threadIdx.x walks the ROWS i, so the 32 threads of a warp read
// 32 different rows of A (32 separate memory transactions per k) and write 32
// rows of C: uncoalesced on purpose, it is the baseline every later version
// is measured against (version 2 changes exactly this mapping).
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/gemm_common.cuh"

namespace loom::cuda::gemm {

namespace {

constexpr int kTile = 32;  // 32 x 32 threads per block, one output each

__global__ void gemm_v1_naive(Params<float> p) {
  const int64_t i = static_cast<int64_t>(blockIdx.y) * kTile + threadIdx.x;  // row: the fast thread index
  const int64_t j = static_cast<int64_t>(blockIdx.x) * kTile + threadIdx.y;
  for (int64_t bz = blockIdx.z; bz < p.batch; bz += gridDim.z) {
    const BatchPtrs<float> ptr = batch_ptrs(p, bz);
    if (i >= p.m || j >= p.n) continue;
    float acc = 0.f;
    for (int64_t kk = 0; kk < p.k; ++kk) acc = fmaf(load_a(p, ptr.a, i, kk), load_b(p, ptr.b, kk, j), acc);
    store_c(p, ptr.c, i, j, acc);
  }
}

}  // namespace

void launch_v1_naive(const Args& args, cudaStream_t stream) {
  gemm_v1_naive<<<tile_grid(args, kTile, kTile, "1_naive"), dim3(kTile, kTile), 0, stream>>>(to_params(args));
  LOOM_CUDA_CHECK_LAUNCH("gemm_v1_naive");
}

}  // namespace loom::cuda::gemm
