// conv_implicit_gemm.cu: the default convolution ("implicit" in conv_algo.h):
// each pass is a GEMM whose operands are read straight from the tensors, the
// unfolded (im2col) operand gathered on the fly while a tile is loaded into
// shared memory. No im2col buffer, no col2im, no atomics.
//
//   forward          y  (OC, N OH OW)  = W (OC, R) @ col(x) (R, N OH OW),        R = C KH KW
//   backward-input   dx (C, N H W)     = W' (C, OC KH KW) @ dcol(dy) (OC KH KW, N H W)
//                    W'[c, (oc,kh,kw)] = w[oc, c, kh, kw]; dcol gathers dy[n, oc, oh, ow] with
//                    oh = (ih + ph - kh dh) / sh where exact and in range (else 0)
//   backward-weight  dW (OC, R)        = dY (OC, N OH OW) @ col(x)^T (N OH OW, R)
//
// v1_tiled (the default): one generic kernel, implicit_gemm_tiled_v1,
// templated on a "problem" that says how to read A (m, k) and B (k, n) and where
// to write C (m, n). 256 threads compute a 64x64 tile of C, each thread 4x4
// outputs strided by 16 (so neighbouring threads write neighbouring columns:
// coalesced stores along OH OW); K advances in steps of 16 through shared
// memory (A tile padded by one column against bank conflicts). It is
// kernels/cuda/gemm's shared-memory + 2-D register tiling step with the loads
// replaced by gathers; the faster GEMM steps (vector loads, warp tiling,
// double buffering, mma.sync) are not applied here yet: the gathers break 16-byte
// alignment, and that work needs a GPU to measure.
//
// Epilogue: forward adds the bias and applies the activation before the store.
//
// backward-weight reduces over K = N OH OW, which is long while M N = OC R can
// be small (few tiles, an idle GPU). Split-K with a fixed order: K is cut into
// S equal slices (multiples of the tile's 16), slice z writes its partial tile
// to a workspace (S, OC, R), and a second kernel adds the S partials in order
// z = 0, 1, ... per element. S depends only on the shapes: the same bits on
// every run, no float atomics.
//
// v2_mma_tf32 (implicit_gemm_mma_tf32_v2): the same tiles, loads and epilogue,
// the inner product on the tensor cores with mma.sync m16n8k8 TF32 (fp32
// accumulate), for precision TF32 on float32 tensors. What it teaches: only the
// multiply changes; the gathers and the fixed-order split-K stay as they are.
//
// Precision: FP32 (default, v1; float64 always v1 in float64), TF32 (v2);
// BF16 throws "not supported by this algorithm" (im2col runs it through gemm::run).
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/conv_common.cuh"

namespace loom::cuda::conv::detail {

namespace {

constexpr int kBM = 64, kBN = 64, kBK = 16;  // C tile (kBM, kBN), K step kBK
constexpr int kTileThreads = 256;             // 16 x 16 threads, 4 x 4 outputs each
constexpr int kPer = 4;                       // outputs per thread per dimension

// C (M, N) = A (M, K) @ B (K, N) over k in [z kslice, min(K, (z+1) kslice)),
// z = blockIdx.z; P provides M, N, K, a(m, k), b(k, n), store(m, n, value, z).
template <class T, class P>
__global__ void __launch_bounds__(kTileThreads) implicit_gemm_tiled_v1(P p, int64_t kslice) {
  __shared__ T As[kBK][kBM + 1];  // As[k][m]
  __shared__ T Bs[kBK][kBN];      // Bs[k][n]
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t m0 = int64_t(blockIdx.y) * kBM, n0 = int64_t(blockIdx.x) * kBN;
  const int64_t kb = int64_t(blockIdx.z) * kslice, ke = min(p.K, kb + kslice);
  T acc[kPer][kPer];
#pragma unroll
  for (int i = 0; i < kPer; ++i)
#pragma unroll
    for (int j = 0; j < kPer; ++j) acc[i][j] = T(0);

  for (int64_t k0 = kb; k0 < ke; k0 += kBK) {
    // A tile: element e -> (mm, kk) with k fastest (A rows are contiguous in k for the weights)
#pragma unroll
    for (int r = 0; r < kBM * kBK / kTileThreads; ++r) {
      const int e = tid + r * kTileThreads, mm = e / kBK, kk = e % kBK;
      const int64_t m = m0 + mm, k = k0 + kk;
      As[kk][mm] = (m < p.M && k < ke) ? p.a(m, k) : T(0);
    }
    // B tile: element e -> (kk, nn) with n fastest (B columns run along the image)
#pragma unroll
    for (int r = 0; r < kBN * kBK / kTileThreads; ++r) {
      const int e = tid + r * kTileThreads, kk = e / kBN, nn = e % kBN;
      const int64_t n = n0 + nn, k = k0 + kk;
      Bs[kk][nn] = (n < p.N && k < ke) ? p.b(k, n) : T(0);
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kBK; ++kk) {
      T a[kPer], b[kPer];
#pragma unroll
      for (int i = 0; i < kPer; ++i) a[i] = As[kk][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < kPer; ++j) b[j] = Bs[kk][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < kPer; ++i)
#pragma unroll
        for (int j = 0; j < kPer; ++j) acc[i][j] = fma(a[i], b[j], acc[i][j]);  // explicit: built with --fmad=false
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < kPer; ++i)
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      const int64_t m = m0 + ty + 16 * i, n = n0 + tx + 16 * j;
      if (m < p.M && n < p.N) p.store(m, n, acc[i][j], int64_t(blockIdx.z));
    }
}

// ---- v2: the same tiles on the tensor cores (TF32 in, fp32 accumulate) ----------------------------
// mma.sync.m16n8k8 TF32: the 8 warps of the block form a 2 (m) x 4 (n) grid,
// each warp owning a 32 x 16 piece of the 64 x 64 tile = 2 x 2 mma tiles of
// 16 x 8. Operands are rounded to tf32 (cvt.rna) as they enter shared memory.
// Fragment layout (PTX ISA, m16n8k8 .tf32), g = lane / 4, t = lane % 4:
//   A (16 x 8, row): a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4)
//   B (8 x 8, col):  b0 (t, g), b1 (t+4, g)
//   C (16 x 8):      c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1)
// The shared rows are padded by 8 words so a fragment load hits 32 distinct banks.
constexpr int kPad = 8;

__device__ __forceinline__ uint32_t to_tf32(float v) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(v));
  return r;
}

__device__ __forceinline__ void mma_tf32_m16n8k8(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

template <class P>
__global__ void __launch_bounds__(kTileThreads) implicit_gemm_mma_tf32_v2(P p, int64_t kslice) {
  __shared__ uint32_t As[kBK][kBM + kPad];  // As[k][m], tf32 bits
  __shared__ uint32_t Bs[kBK][kBN + kPad];  // Bs[k][n]
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int g = lane / 4, t = lane % 4;
  const int wm = (warp / 4) * 32, wn = (warp % 4) * 16;  // the warp's piece of the tile
  const int64_t m0 = int64_t(blockIdx.y) * kBM, n0 = int64_t(blockIdx.x) * kBN;
  const int64_t kb = int64_t(blockIdx.z) * kslice, ke = min(p.K, kb + kslice);
  float acc[2][2][4] = {};  // [m16 tile][n8 tile][c0..c3]

  for (int64_t k0 = kb; k0 < ke; k0 += kBK) {
#pragma unroll
    for (int r = 0; r < kBM * kBK / kTileThreads; ++r) {
      const int e = tid + r * kTileThreads, mm = e / kBK, kk = e % kBK;
      const int64_t m = m0 + mm, k = k0 + kk;
      As[kk][mm] = to_tf32((m < p.M && k < ke) ? p.a(m, k) : 0.0f);
    }
#pragma unroll
    for (int r = 0; r < kBN * kBK / kTileThreads; ++r) {
      const int e = tid + r * kTileThreads, kk = e / kBN, nn = e % kBN;
      const int64_t n = n0 + nn, k = k0 + kk;
      Bs[kk][nn] = to_tf32((n < p.N && k < ke) ? p.b(k, n) : 0.0f);
    }
    __syncthreads();
#pragma unroll
    for (int ks = 0; ks < kBK; ks += 8) {
      uint32_t a[2][4], b[2][2];
#pragma unroll
      for (int mi = 0; mi < 2; ++mi) {
        const int row = wm + mi * 16 + g;
        a[mi][0] = As[ks + t][row];
        a[mi][1] = As[ks + t][row + 8];
        a[mi][2] = As[ks + t + 4][row];
        a[mi][3] = As[ks + t + 4][row + 8];
      }
#pragma unroll
      for (int ni = 0; ni < 2; ++ni) {
        const int col = wn + ni * 8 + g;
        b[ni][0] = Bs[ks + t][col];
        b[ni][1] = Bs[ks + t + 4][col];
      }
#pragma unroll
      for (int mi = 0; mi < 2; ++mi)
#pragma unroll
        for (int ni = 0; ni < 2; ++ni) mma_tf32_m16n8k8(acc[mi][ni], a[mi], b[ni]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int mi = 0; mi < 2; ++mi)
#pragma unroll
    for (int ni = 0; ni < 2; ++ni)
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int64_t m = m0 + wm + mi * 16 + g + (c >= 2 ? 8 : 0), n = n0 + wn + ni * 8 + 2 * t + (c & 1);
        if (m < p.M && n < p.N) p.store(m, n, acc[mi][ni][c], int64_t(blockIdx.z));
      }
}

// x[n, c, ih, iw] for col row k = (c, kh, kw) and output pixel (n, oh, ow); 0 in the padding.
template <class T>
__device__ __forceinline__ T gather_x(const ConvShape& s, const T* x, int64_t k, int64_t n, int64_t oh, int64_t ow) {
  const int64_t kw = k % s.KW, kh = (k / s.KW) % s.KH, c = k / (s.KH * s.KW);
  const int64_t ih = oh * s.sh - s.ph + kh * s.dh, iw = ow * s.sw - s.pw + kw * s.dw;
  if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) return T(0);
  return x[((n * s.C + c) * s.H + ih) * s.W + iw];
}

// forward: M = OC, N = N OH OW (column j = (n, oh, ow)), K = R.
template <class T>
struct ForwardProblem {
  ConvShape s;
  const T* x;  // (N, C, H, W)
  const T* w;  // (OC, R)
  T* y;        // (N, OC, OH, OW)
  Epilogue<T> epi;
  int64_t M, N, K;
  __device__ T a(int64_t m, int64_t k) const { return w[m * K + k]; }
  __device__ T b(int64_t k, int64_t j) const {
    const int64_t l = j % s.L(), n = j / s.L();
    return gather_x(s, x, k, n, l / s.OW, l % s.OW);
  }
  __device__ void store(int64_t m, int64_t j, T v, int64_t) const {
    const int64_t l = j % s.L(), n = j / s.L();
    y[(n * s.OC + m) * s.L() + l] = epi(v, m);
  }
};

// backward-input: M = C, N = N H W (column j = (n, ih, iw)), K = OC KH KW (row k = (oc, kh, kw)).
template <class T>
struct BackwardInputProblem {
  ConvShape s;
  const T* dy;  // (N, OC, OH, OW)
  const T* w;   // (OC, C, KH, KW)
  T* dx;        // (N, C, H, W)
  int64_t M, N, K;
  __device__ T a(int64_t c, int64_t k) const {
    const int64_t khw = k % (s.KH * s.KW), oc = k / (s.KH * s.KW);
    return w[(oc * s.C + c) * s.KH * s.KW + khw];
  }
  __device__ T b(int64_t k, int64_t j) const {
    const int64_t kw = k % s.KW, kh = (k / s.KW) % s.KH, oc = k / (s.KH * s.KW);
    const int64_t hw = j % s.HW(), n = j / s.HW(), ih = hw / s.W, iw = hw % s.W;
    const int64_t th = ih + s.ph - kh * s.dh, tw = iw + s.pw - kw * s.dw;  // = oh sh, ow sw
    if (th < 0 || tw < 0 || th % s.sh != 0 || tw % s.sw != 0) return T(0);
    const int64_t oh = th / s.sh, ow = tw / s.sw;
    if (oh >= s.OH || ow >= s.OW) return T(0);
    return dy[((n * s.OC + oc) * s.OH + oh) * s.OW + ow];
  }
  __device__ void store(int64_t c, int64_t j, T v, int64_t) const {
    const int64_t hw = j % s.HW(), n = j / s.HW();
    dx[(n * s.C + c) * s.HW() + hw] = v;
  }
};

// backward-weight: M = OC, N = R (column r = (c, kh, kw)), K = N OH OW (row k = (n, oh, ow)).
// Slice z stores into out + z M N (out = dw itself when there is one slice).
template <class T>
struct BackwardWeightProblem {
  ConvShape s;
  const T* dy;  // (N, OC, OH, OW)
  const T* x;   // (N, C, H, W)
  T* out;       // (S, OC, R)
  int64_t M, N, K;
  __device__ T a(int64_t oc, int64_t k) const {
    const int64_t l = k % s.L(), n = k / s.L();
    return dy[(n * s.OC + oc) * s.L() + l];
  }
  __device__ T b(int64_t k, int64_t r) const {
    const int64_t l = k % s.L(), n = k / s.L();
    return gather_x(s, x, r, n, l / s.OW, l % s.OW);
  }
  __device__ void store(int64_t oc, int64_t r, T v, int64_t z) const { out[(z * M + oc) * N + r] = v; }
};

// dw[i] = sum_{z = 0 .. S-1} partial[z][i], in that order.
template <class T>
__global__ void split_k_reduce_v1(const T* __restrict__ partial, int64_t slices, int64_t total, T* __restrict__ dw) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    T acc = partial[i];
    for (int64_t z = 1; z < slices; ++z) acc += partial[z * total + i];
    dw[i] = acc;
  }
}

// v1 (SIMT, T = float or double), or v2 (TF32 tensor cores) for float32 when tf32 is true.
template <class T, class P>
void launch_tiled(const P& p, int64_t slices, int64_t kslice, bool tf32, cudaStream_t stream, const char* name) {
  const int64_t grid_n = (p.N + kBN - 1) / kBN, grid_m = (p.M + kBM - 1) / kBM;
  LOOM_CHECK(grid_m <= 65535 && slices <= 65535, name, ": GEMM of ", p.M, " rows is too large for the grid");
  LOOM_CHECK(grid_n <= 0x7fffffff, name, ": GEMM of ", p.N, " columns is too large for the grid");
  const dim3 grid{unsigned(grid_n), unsigned(grid_m), unsigned(slices)};
  if constexpr (std::is_same_v<T, float>) {
    if (tf32) {
      implicit_gemm_mma_tf32_v2<P><<<grid, kTileThreads, 0, stream>>>(p, kslice);
      LOOM_CUDA_CHECK_LAUNCH("implicit_gemm_mma_tf32_v2");
      return;
    }
  }
  implicit_gemm_tiled_v1<T, P><<<grid, kTileThreads, 0, stream>>>(p, kslice);
  LOOM_CUDA_CHECK_LAUNCH(name);
}

// FP32 and TF32 run here; BF16 is refused naming the algorithm.
bool wants_tf32(gemm::Precision precision, const char* op) {
  if (precision == gemm::Precision::TF32) return true;
  require_fp32(precision, "implicit", op);
  return false;
}

// K (padded to whole kBK steps) in the widest slices that still give about
// kTargetBlocks blocks; at least kMinSliceSteps steps per slice. Shapes only.
int64_t split_k_slices(int64_t M, int64_t N, int64_t K) {
  constexpr int64_t kTargetBlocks = 264, kMinSliceSteps = 8, kMaxSlices = 64;
  const int64_t tiles = ((M + kBM - 1) / kBM) * ((N + kBN - 1) / kBN);
  const int64_t steps = (K + kBK - 1) / kBK;
  int64_t slices = std::max<int64_t>(1, kTargetBlocks / std::max<int64_t>(tiles, 1));
  slices = std::min({slices, std::max<int64_t>(1, steps / kMinSliceSteps), kMaxSlices});
  return slices;
}

}  // namespace

void implicit_forward(const ConvShape& s, const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                      gemm::Precision precision, Activation act, double slope) {
  const bool tf32 = wants_tf32(precision, "conv2d");
  if (y.numel() == 0) return;
  LOOM_DISPATCH_FLOATING(x.dtype(), "conv2d (implicit)", [&] {
    ForwardProblem<scalar_t> p;
    p.s = s, p.x = x.data<scalar_t>(), p.w = w.data<scalar_t>(), p.y = y.data<scalar_t>();
    p.epi.bias = bias.defined() ? bias.data<scalar_t>() : nullptr;
    p.epi.act = act, p.epi.slope = scalar_t(slope);
    p.M = s.OC, p.N = s.N * s.L(), p.K = s.R();
    launch_tiled<scalar_t>(p, 1, std::max<int64_t>(p.K, 1), tf32, stream_of(x),
                           "implicit_gemm_tiled_v1 (conv forward)");
  });
}

void implicit_backward_input(const ConvShape& s, const Tensor& dy, const Tensor& w, Tensor& dx,
                             gemm::Precision precision) {
  const bool tf32 = wants_tf32(precision, "conv2d_backward_input");
  if (dx.numel() == 0) return;
  LOOM_DISPATCH_FLOATING(dy.dtype(), "conv2d_backward_input (implicit)", [&] {
    BackwardInputProblem<scalar_t> p;
    p.s = s, p.dy = dy.data<scalar_t>(), p.w = w.data<scalar_t>(), p.dx = dx.data<scalar_t>();
    p.M = s.C, p.N = s.N * s.HW(), p.K = s.OC * s.KH * s.KW;
    launch_tiled<scalar_t>(p, 1, std::max<int64_t>(p.K, 1), tf32, stream_of(dy),
                           "implicit_gemm_tiled_v1 (conv backward-input)");
  });
}

void implicit_backward_weight(const ConvShape& s, const Tensor& dy, const Tensor& x, Tensor& dw,
                              gemm::Precision precision) {
  const bool tf32 = wants_tf32(precision, "conv2d_backward_weight");
  const int64_t total = dw.numel();
  if (total == 0) return;
  LOOM_DISPATCH_FLOATING(x.dtype(), "conv2d_backward_weight (implicit)", [&] {
    BackwardWeightProblem<scalar_t> p;
    p.s = s, p.dy = dy.data<scalar_t>(), p.x = x.data<scalar_t>();
    p.M = s.OC, p.N = s.R(), p.K = s.N * s.L();
    const int64_t slices = split_k_slices(p.M, p.N, p.K);
    // slice length: whole kBK steps, so every slice but the last is full
    const int64_t steps = (p.K + kBK - 1) / kBK;
    const int64_t kslice = std::max<int64_t>(1, (steps + slices - 1) / slices) * kBK;
    const int64_t used = std::max<int64_t>(1, (p.K + kslice - 1) / kslice);  // slices that hold any k
    const char* name = "implicit_gemm_tiled_v1 (conv backward-weight)";
    if (used == 1) {
      p.out = dw.data<scalar_t>();  // K == 0 too: the kernel stores zeros
      launch_tiled<scalar_t>(p, 1, std::max<int64_t>(kslice, p.K), tf32, stream_of(x), name);
      return;
    }
    Tensor partial = Tensor::empty({used, p.M, p.N}, x.dtype(), x.device());  // (S, OC, R)
    p.out = partial.data<scalar_t>();
    launch_tiled<scalar_t>(p, used, kslice, tf32, stream_of(x), name);
    split_k_reduce_v1<scalar_t><<<blocks_for(total), kThreads, 0, stream_of(x)>>>(p.out, used, total,
                                                                                  dw.data<scalar_t>());
    LOOM_CUDA_CHECK_LAUNCH("split_k_reduce_v1");
  });
}

}  // namespace loom::cuda::conv::detail
