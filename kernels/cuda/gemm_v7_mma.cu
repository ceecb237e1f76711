// gemm_v7_mma.cu: GEMM version 7, tensor cores through mma.sync (inline PTX),
// fp32 accumulation, in two input precisions:
//  - TF32 (7_mma_tf32): mma.m16n8k8 .tf32, inputs rounded to nearest tf32
//    (cvt.rna.tf32.f32, 10-bit mantissa) when the tile is written to shared memory;
//  - BF16 (7_mma_bf16): mma.m16n8k16 .bf16, fp32 inputs rounded to bf16
//    (__float2bfloat16_rn, 7-bit mantissa) when the tile is written to shared memory.
// One warp instruction does 16 x 8 x 8 (tf32) or 16 x 8 x 16 (bf16)
// multiply-adds, far beyond what fp32 FMAs reach (H100: ~495 / ~989 dense
// TFLOP/s against 67 for SIMT fp32). The block structure is version 6's:
// 128 x 128 tile, 8 warps of 64 x 32, float4 global loads into registers,
// double-buffered shared memory. Shared tiles are stored K-contiguous,
// as[i][k] and bs[j][k], padded so each lane's fragment load (row g = lane/4,
// column t = lane%4) hits a distinct bank. Fragment layouts: PTX ISA,
// "Matrix fragments for mma.m16n8k8 / m16n8k16".
#include <cuda_bf16.h>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/gemm_common.cuh"

namespace loom::cuda::gemm {

namespace {

constexpr int kBM = 128, kBN = 128;
constexpr int kWM = 64, kWN = 32;
constexpr int kWarpsN = kBN / kWN;                     // 4
constexpr int kThreads = (kBM / kWM) * kWarpsN * 32;  // 256
constexpr int kMI = kWM / 16, kNI = kWN / 8;          // mma tiles per warp: 4 x 4

// Per input precision: the shared element type, the K slice, the mma's K and the padding.
template <bool BF16>
struct MmaTraits;
template <>
struct MmaTraits<false> {  // TF32: tf32 bit patterns in 32-bit words
  using Elem = uint32_t;
  static constexpr int kBK = 16, kMmaK = 8, kPad = 4;  // row stride 20 words: lanes on distinct banks
  static __device__ __forceinline__ Elem convert(float v) {
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(v));
    return r;
  }
};
template <>
struct MmaTraits<true> {  // BF16: pairs along k form one 32-bit fragment register
  using Elem = __nv_bfloat16;
  static constexpr int kBK = 32, kMmaK = 16, kPad = 8;  // row stride 20 words
  static __device__ __forceinline__ Elem convert(float v) { return __float2bfloat16_rn(v); }
};

// d += a (16 x 8, row) @ b (8 x 8, col), tf32 in, fp32 accumulate.
__device__ __forceinline__ void mma_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// d += a (16 x 16, row) @ b (16 x 8, col), bf16 in, fp32 accumulate.
__device__ __forceinline__ void mma_bf16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

template <class E>
__device__ __forceinline__ uint32_t word_at(const E* p) {
  return *reinterpret_cast<const uint32_t*>(p);
}

template <bool BF16, bool TA, bool TB>
__global__ void __launch_bounds__(kThreads) gemm_v7_mma(Params<float> p) {
  using T = MmaTraits<BF16>;
  using Elem = typename T::Elem;
  constexpr int kBK = T::kBK, kStride = T::kBK + T::kPad;
  __shared__ __align__(16) Elem as[2][kBM][kStride];  // (buffer, i, k)
  __shared__ __align__(16) Elem bs[2][kBN][kStride];  // (buffer, j, k)
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;  // the fragment coordinates of this lane
  const int wm0 = (warp / kWarpsN) * kWM, wn0 = (warp % kWarpsN) * kWN;
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
      load_a_tile.store([&](int i, int kk, float v) { as[buf][i][kk] = T::convert(v); });
      load_b_tile.store([&](int kk, int j, float v) { bs[buf][j][kk] = T::convert(v); });
    };
    // (mma row tile, mma col tile, fragment): c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1)
    float acc[kMI][kNI][4] = {};
    if (slices > 0) {
      fetch(0);
      store(0);
      __syncthreads();
    }
    for (int64_t s = 0; s < slices; ++s) {
      const int buf = static_cast<int>(s & 1);
      const bool has_next = s + 1 < slices;
      if (has_next) fetch(s + 1);
#pragma unroll
      for (int ks = 0; ks < kBK; ks += T::kMmaK) {
        uint32_t a[kMI][4], b[kNI][2];
        if constexpr (BF16) {
          // A fragment: a0 (g, 2t..2t+1), a1 (g+8, 2t..), a2 (g, 2t+8..), a3 (g+8, 2t+8..);
          // B fragment: b0 (k 2t..2t+1, n g), b1 (k 2t+8.., n g).
#pragma unroll
          for (int mi = 0; mi < kMI; ++mi) {
            const int r = wm0 + mi * 16 + g;
            a[mi][0] = word_at(&as[buf][r][ks + 2 * t]);
            a[mi][1] = word_at(&as[buf][r + 8][ks + 2 * t]);
            a[mi][2] = word_at(&as[buf][r][ks + 2 * t + 8]);
            a[mi][3] = word_at(&as[buf][r + 8][ks + 2 * t + 8]);
          }
#pragma unroll
          for (int ni = 0; ni < kNI; ++ni) {
            const int c = wn0 + ni * 8 + g;
            b[ni][0] = word_at(&bs[buf][c][ks + 2 * t]);
            b[ni][1] = word_at(&bs[buf][c][ks + 2 * t + 8]);
          }
#pragma unroll
          for (int mi = 0; mi < kMI; ++mi)
#pragma unroll
            for (int ni = 0; ni < kNI; ++ni) mma_bf16(acc[mi][ni], a[mi], b[ni]);
        } else {
          // A fragment: a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4); B: b0 (k t, n g), b1 (k t+4, n g).
#pragma unroll
          for (int mi = 0; mi < kMI; ++mi) {
            const int r = wm0 + mi * 16 + g;
            a[mi][0] = as[buf][r][ks + t];
            a[mi][1] = as[buf][r + 8][ks + t];
            a[mi][2] = as[buf][r][ks + t + 4];
            a[mi][3] = as[buf][r + 8][ks + t + 4];
          }
#pragma unroll
          for (int ni = 0; ni < kNI; ++ni) {
            const int c = wn0 + ni * 8 + g;
            b[ni][0] = bs[buf][c][ks + t];
            b[ni][1] = bs[buf][c][ks + t + 4];
          }
#pragma unroll
          for (int mi = 0; mi < kMI; ++mi)
#pragma unroll
            for (int ni = 0; ni < kNI; ++ni) mma_tf32(acc[mi][ni], a[mi], b[ni]);
        }
      }
      if (has_next) store(buf ^ 1);  // the other buffer's readers finished before the last barrier
      __syncthreads();
    }
#pragma unroll
    for (int mi = 0; mi < kMI; ++mi)
#pragma unroll
      for (int ni = 0; ni < kNI; ++ni) {
        const int64_t r = i0 + wm0 + mi * 16 + g, c = j0 + wn0 + ni * 8 + 2 * t;
        store_c(p, ptr.c, r, c, acc[mi][ni][0]);
        store_c(p, ptr.c, r, c + 1, acc[mi][ni][1]);
        store_c(p, ptr.c, r + 8, c, acc[mi][ni][2]);
        store_c(p, ptr.c, r + 8, c + 1, acc[mi][ni][3]);
      }
  }
}

template <bool BF16>
void launch_mma(const Args& args, cudaStream_t stream, const char* name) {
  const dim3 grid = tile_grid(args, kBM, kBN, name);
  const Params<float> p = to_params(args);
  with_layout(args.trans_a, args.trans_b, [&]<bool TA, bool TB>() {
    gemm_v7_mma<BF16, TA, TB><<<grid, kThreads, 0, stream>>>(p);
    LOOM_CUDA_CHECK_LAUNCH(name);
  });
}

}  // namespace

void launch_v7_mma(const Args& args, Precision precision, cudaStream_t stream) {
  if (precision == Precision::BF16) launch_mma<true>(args, stream, "gemm_v7_mma_bf16");
  else launch_mma<false>(args, stream, "gemm_v7_mma_tf32");
}

}  // namespace loom::cuda::gemm
