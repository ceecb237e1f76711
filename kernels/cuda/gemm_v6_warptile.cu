// gemm_v6_warptile.cu: GEMM version 6, warp tiling with double-buffered shared
// memory: loom's fp32 SIMT peak version (the FP32 default for large shapes).
// On top of version 5 (float4 global loads, transposed A tile, 8 x 8 register
// patch per thread):
//  - warp tiling: the 128 x 128 block tile is split into 8 warp tiles of
//    64 x 32 (2 warps down, 4 across); a warp's 32 threads cover their warp
//    tile as 8 x 4 patches, so the shared-memory addresses a warp reads per k
//    span only 64 A and 32 B values (few wavefronts, many broadcasts) and the
//    work maps onto the hardware's scheduling unit;
//  - double buffering: BK = 16 slices of K ping-pong between two shared
//    buffers. The global loads of slice t+1 are issued into registers before
//    slice t is computed and written to the other buffer after it, so their
//    latency hides behind the FMAs, with one __syncthreads per slice.
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/gemm_common.cuh"

namespace loom::cuda::gemm {

namespace {

constexpr int kBM = 128, kBN = 128, kBK = 16;
constexpr int kWM = 64, kWN = 32;  // warp tile
constexpr int kTM = 8, kTN = 8;    // thread patch
constexpr int kWarpsN = kBN / kWN;                     // 4
constexpr int kThreads = (kBM / kWM) * kWarpsN * 32;  // 256
static_assert((kWM / kTM) * (kWN / kTN) == 32, "a warp's threads must cover its warp tile");

template <bool TA, bool TB>
__global__ void __launch_bounds__(kThreads) gemm_v6_warptile(Params<float> p) {
  __shared__ __align__(16) float as[2][kBK][kBM];  // (buffer, k, i): A transposed
  __shared__ __align__(16) float bs[2][kBK][kBN];  // (buffer, k, j)
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int wm0 = (warp / kWarpsN) * kWM, wn0 = (warp % kWarpsN) * kWN;  // warp tile origin in the block tile
  const int row0 = wm0 + (lane / (kWN / kTN)) * kTM;                     // this thread's patch origin
  const int col0 = wn0 + (lane % (kWN / kTN)) * kTN;
  const int64_t i0 = static_cast<int64_t>(blockIdx.y) * kBM, j0 = static_cast<int64_t>(blockIdx.x) * kBN;
  const int64_t slices = (p.k + kBK - 1) / kBK;
  ATileLoader<kBM, kBK, kThreads, TA> load_a_tile;
  BTileLoader<kBK, kBN, kThreads, TB> load_b_tile;

  for (int64_t bz = blockIdx.z; bz < p.batch; bz += gridDim.z) {
    const BatchPtrs<float> ptr = batch_ptrs(p, bz);
    auto fetch = [&](int64_t slice) {
      load_a_tile.fetch(p, ptr.a, i0, slice * kBK);
      load_b_tile.fetch(p, ptr.b, slice * kBK, j0);
    };
    auto store = [&](int buf) {
      load_a_tile.store([&](int i, int kk, float v) { as[buf][kk][i] = v; });
      load_b_tile.store([&](int kk, int j, float v) { bs[buf][kk][j] = v; });
    };
    float acc[kTM][kTN] = {};
    if (slices > 0) {
      fetch(0);
      store(0);
      __syncthreads();
    }
    for (int64_t s = 0; s < slices; ++s) {
      const int buf = static_cast<int>(s & 1);
      const bool has_next = s + 1 < slices;
      if (has_next) fetch(s + 1);  // in flight while this slice is computed
#pragma unroll
      for (int kk = 0; kk < kBK; ++kk) {
        float ra[kTM], rb[kTN];
#pragma unroll
        for (int q = 0; q < kTM / 4; ++q)
          *reinterpret_cast<float4*>(&ra[4 * q]) = *reinterpret_cast<const float4*>(&as[buf][kk][row0 + 4 * q]);
#pragma unroll
        for (int q = 0; q < kTN / 4; ++q)
          *reinterpret_cast<float4*>(&rb[4 * q]) = *reinterpret_cast<const float4*>(&bs[buf][kk][col0 + 4 * q]);
#pragma unroll
        for (int r = 0; r < kTM; ++r)
#pragma unroll
          for (int c = 0; c < kTN; ++c) acc[r][c] = fmaf(ra[r], rb[c], acc[r][c]);
      }
      // The other buffer was last read in slice s-1, which every thread finished
      // before the __syncthreads that ended it.
      if (has_next) store(buf ^ 1);
      __syncthreads();
    }
#pragma unroll
    for (int r = 0; r < kTM; ++r)
#pragma unroll
      for (int c = 0; c < kTN; ++c) store_c(p, ptr.c, i0 + row0 + r, j0 + col0 + c, acc[r][c]);
  }
}

}  // namespace

void launch_v6_warptile(const Args& args, cudaStream_t stream) {
  const dim3 grid = tile_grid(args, kBM, kBN, "6_warptile");
  const Params<float> p = to_params(args);
  with_layout(args.trans_a, args.trans_b, [&]<bool TA, bool TB>() {
    gemm_v6_warptile<TA, TB><<<grid, kThreads, 0, stream>>>(p);
    LOOM_CUDA_CHECK_LAUNCH("gemm_v6_warptile");
  });
}

}  // namespace loom::cuda::gemm
