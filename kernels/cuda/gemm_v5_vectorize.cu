// gemm_v5_vectorize.cu: GEMM version 5, vectorised 16-byte loads and a
// transposed A tile. Same 128 x 128 tile and 8 x 8 thread patch as 4b, with
// two changes:
//  - global -> shared copies move 4 floats per instruction (LDG.128) along the
//    operand's contiguous dimension when the pointer, leading dimension and
//    batch stride allow 16-byte alignment (scalar guarded loads otherwise and
//    at the matrix edges), a quarter of the load instructions;
//  - op(A)'s tile is stored transposed, as[k][i], so the 8 A values a thread
//    needs per k are contiguous and come in two LDS.128 (as do the 8 B values)
//    instead of 8 scalar shared loads with a bank-conflicting stride.
// Templated on the layout (NN/NT/TN/TT) so the tile loaders' direction is fixed
// at compile time.
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/gemm_common.cuh"

namespace loom::cuda::gemm {

namespace {

constexpr int kBM = 128, kBN = 128, kBK = 8, kTM = 8, kTN = 8;
constexpr int kThreads = (kBM / kTM) * (kBN / kTN);  // 256

template <bool TA, bool TB>
__global__ void __launch_bounds__(kThreads) gemm_v5_vectorize(Params<float> p) {
  __shared__ __align__(16) float as[kBK][kBM];  // (k, i): A transposed
  __shared__ __align__(16) float bs[kBK][kBN];  // (k, j)
  const int tr = threadIdx.x / (kBN / kTN), tc = threadIdx.x % (kBN / kTN);
  const int64_t i0 = static_cast<int64_t>(blockIdx.y) * kBM, j0 = static_cast<int64_t>(blockIdx.x) * kBN;
  ATileLoader<kBM, kBK, kThreads, TA> load_a_tile;
  BTileLoader<kBK, kBN, kThreads, TB> load_b_tile;
  for (int64_t bz = blockIdx.z; bz < p.batch; bz += gridDim.z) {
    const BatchPtrs<float> ptr = batch_ptrs(p, bz);
    float acc[kTM][kTN] = {};
    for (int64_t k0 = 0; k0 < p.k; k0 += kBK) {
      load_a_tile.fetch(p, ptr.a, i0, k0);
      load_b_tile.fetch(p, ptr.b, k0, j0);
      load_a_tile.store([&](int i, int kk, float v) { as[kk][i] = v; });
      load_b_tile.store([&](int kk, int j, float v) { bs[kk][j] = v; });
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < kBK; ++kk) {
        float ra[kTM], rb[kTN];
        const float4* a4 = reinterpret_cast<const float4*>(&as[kk][tr * kTM]);
        const float4* b4 = reinterpret_cast<const float4*>(&bs[kk][tc * kTN]);
#pragma unroll
        for (int q = 0; q < kTM / 4; ++q) *reinterpret_cast<float4*>(&ra[4 * q]) = a4[q];
#pragma unroll
        for (int q = 0; q < kTN / 4; ++q) *reinterpret_cast<float4*>(&rb[4 * q]) = b4[q];
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

void launch_v5_vectorize(const Args& args, cudaStream_t stream) {
  const dim3 grid = tile_grid(args, kBM, kBN, "5_vectorize");
  const Params<float> p = to_params(args);
  with_layout(args.trans_a, args.trans_b, [&]<bool TA, bool TB>() {
    gemm_v5_vectorize<TA, TB><<<grid, kThreads, 0, stream>>>(p);
    LOOM_CUDA_CHECK_LAUNCH("gemm_v5_vectorize");
  });
}

}  // namespace loom::cuda::gemm
