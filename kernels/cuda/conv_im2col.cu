// conv_im2col.cu: convolution as im2col / col2im around kernels/cuda/gemm.h's
// gemm::run ("im2col" in conv_algo.h), the GPU twin of kernels/cpu/conv.cpp.
//
//   v1 im2col_v1   col (B, R, L) <- x: col[b, (c,kh,kw), (oh,ow)] = x[b, c, ih, iw] (0 in the padding)
//   v1 col2im_v1   dx (B, C, H, W) <- col, gather form: one thread per dx element
//                  sums the (kh, kw) entries that read it (oh = (ih + ph - kh dh) / sh
//                  where exact and in range) in a fixed order: no atomics
//
//   forward          y_b (OC, L)  = w (OC, R) @ col_b (R, L)        one batched GEMM per chunk
//   backward-input   col_b (R, L) = w^T (R, OC) @ dy_b (OC, L), then col2im
//   backward-weight  dW (OC, R)   = sum_b dy_b (OC, L) @ col_b^T (L, R), one GEMM per image
//                    in batch order (beta = 1 after the first): a fixed summation order
//
// What it teaches: the simplest way onto a fast GEMM, and its price: col holds
// every pixel up to KH KW times (the memory traffic the implicit version avoids).
// Images go through in chunks so col stays under kMaxColElems elements.
// Precision: passed to gemm::run (FP32 default; TF32/BF16 on its tensor-core
// versions). float64 always runs the float64 GEMM (the precision applies to float32).
// Forward's bias and activation run as a separate in-place pass over y.
#include <algorithm>

#include "kernels/cuda/conv_common.cuh"

namespace loom::cuda::conv::detail {

namespace {

constexpr int64_t kMaxColElems = int64_t(1) << 26;  // 256 MB of float32 at most per chunk

int64_t images_per_chunk(const ConvShape& s) {
  const int64_t per_image = std::max<int64_t>(s.R() * s.L(), 1);
  return std::max<int64_t>(1, std::min<int64_t>(s.N, kMaxColElems / per_image));
}

template <class T>
__global__ void im2col_v1(ConvShape s, const T* __restrict__ x, T* __restrict__ col, int64_t total) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    // i = (b R + r) L + l, r = (c KH + kh) KW + kw, l = oh OW + ow; x here starts at the chunk's first image
    const int64_t l = i % s.L(), r = (i / s.L()) % s.R(), b = i / (s.L() * s.R());
    const int64_t ow = l % s.OW, oh = l / s.OW;
    const int64_t kw = r % s.KW, kh = (r / s.KW) % s.KH, c = r / (s.KH * s.KW);
    const int64_t ih = oh * s.sh - s.ph + kh * s.dh, iw = ow * s.sw - s.pw + kw * s.dw;
    col[i] = (ih >= 0 && ih < s.H && iw >= 0 && iw < s.W) ? x[((b * s.C + c) * s.H + ih) * s.W + iw] : T(0);
  }
}

template <class T>
__global__ void col2im_v1(ConvShape s, const T* __restrict__ col, T* __restrict__ dx, int64_t total) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    // i = ((b C + c) H + ih) W + iw
    const int64_t iw = i % s.W, ih = (i / s.W) % s.H, c = (i / s.HW()) % s.C, b = i / (s.HW() * s.C);
    T acc = T(0);
    for (int64_t kh = 0; kh < s.KH; ++kh) {
      const int64_t th = ih + s.ph - kh * s.dh;
      if (th < 0 || th % s.sh != 0 || th / s.sh >= s.OH) continue;
      const int64_t oh = th / s.sh;
      for (int64_t kw = 0; kw < s.KW; ++kw) {
        const int64_t tw = iw + s.pw - kw * s.dw;
        if (tw < 0 || tw % s.sw != 0 || tw / s.sw >= s.OW) continue;
        const int64_t ow = tw / s.sw, r = (c * s.KH + kh) * s.KW + kw;
        acc += col[(b * s.R() + r) * s.L() + oh * s.OW + ow];
      }
    }
    dx[i] = acc;
  }
}

// gemm::run for float (with the precision) or double (always float64).
struct GemmCall {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  double beta = 0;
  int64_t lda = 0, stride_a = 0, ldb = 0, stride_b = 0, ldc = 0, stride_c = 0, batch = 1;
};

template <class T>
void run_gemm(const GemmCall& g, const T* a, const T* b, T* c, gemm::Precision precision) {
  auto fill = [&](auto& args) {
    args.trans_a = g.trans_a, args.trans_b = g.trans_b;
    args.m = g.m, args.n = g.n, args.k = g.k;
    args.alpha = 1, args.beta = g.beta;
    args.a = a, args.lda = g.lda, args.stride_a = g.stride_a;
    args.b = b, args.ldb = g.ldb, args.stride_b = g.stride_b;
    args.c = c, args.ldc = g.ldc, args.stride_c = g.stride_c;
    args.batch = g.batch;
  };
  if constexpr (std::is_same_v<T, float>) {
    gemm::Args args;
    fill(args);
    gemm::run(args, precision);
  } else {
    gemm::ArgsF64 args;
    fill(args);
    gemm::run(args);
  }
}

template <class T>
void launch_im2col(const ConvShape& s, const T* x, int64_t b, T* col, cudaStream_t stream) {
  const int64_t total = b * s.R() * s.L();
  if (total == 0) return;
  im2col_v1<T><<<blocks_for(total), kThreads, 0, stream>>>(s, x, col, total);
  LOOM_CUDA_CHECK_LAUNCH("im2col_v1");
}

}  // namespace

void im2col_forward(const ConvShape& s, const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                    gemm::Precision precision, Activation act, double slope) {
  if (y.numel() == 0) return;
  const cudaStream_t stream = stream_of(x);
  LOOM_DISPATCH_FLOATING(x.dtype(), "conv2d (im2col)", [&] {
    const int64_t R = s.R(), L = s.L(), B = images_per_chunk(s);
    if (R == 0) {
      LOOM_CUDA_CHECK(cudaMemsetAsync(y.data<scalar_t>(), 0, y.numel() * sizeof(scalar_t), stream));
    } else {
      Tensor col = Tensor::empty({B, R, L}, x.dtype(), x.device());  // (B, R, L)
      for (int64_t n0 = 0; n0 < s.N; n0 += B) {
        const int64_t b = std::min(B, s.N - n0);
        launch_im2col(s, x.data<scalar_t>() + n0 * s.C * s.HW(), b, col.data<scalar_t>(), stream);
        // y_b (OC, L) = w (OC, R) @ col_b (R, L), b = 0 .. b-1
        GemmCall g;
        g.m = s.OC, g.n = L, g.k = R;
        g.lda = R, g.stride_a = 0;
        g.ldb = L, g.stride_b = R * L;
        g.ldc = L, g.stride_c = s.OC * L;
        g.batch = b;
        run_gemm<scalar_t>(g, w.data<scalar_t>(), col.data<scalar_t>(), y.data<scalar_t>() + n0 * s.OC * L,
                           precision);
      }
    }
  });
  apply_epilogue_inplace(y, bias, act, slope);
}

void im2col_backward_input(const ConvShape& s, const Tensor& dy, const Tensor& w, Tensor& dx,
                           gemm::Precision precision) {
  if (dx.numel() == 0) return;
  const cudaStream_t stream = stream_of(dy);
  LOOM_DISPATCH_FLOATING(dy.dtype(), "conv2d_backward_input (im2col)", [&] {
    const int64_t R = s.R(), L = s.L(), B = images_per_chunk(s);
    Tensor col = Tensor::empty({B, R, L}, dy.dtype(), dy.device());  // (B, R, L)
    for (int64_t n0 = 0; n0 < s.N; n0 += B) {
      const int64_t b = std::min(B, s.N - n0);
      if (s.OC == 0 || L == 0) {
        LOOM_CUDA_CHECK(cudaMemsetAsync(col.data<scalar_t>(), 0, b * R * L * sizeof(scalar_t), stream));
      } else {
        // col_b (R, L) = w^T (R, OC) @ dy_b (OC, L); w stored (OC, R): trans_a with lda = R
        GemmCall g;
        g.trans_a = true;
        g.m = R, g.n = L, g.k = s.OC;
        g.lda = R, g.stride_a = 0;
        g.ldb = L, g.stride_b = s.OC * L;
        g.ldc = L, g.stride_c = R * L;
        g.batch = b;
        run_gemm<scalar_t>(g, w.data<scalar_t>(), dy.data<scalar_t>() + n0 * s.OC * L, col.data<scalar_t>(),
                           precision);
      }
      const int64_t total = b * s.C * s.HW();
      col2im_v1<scalar_t><<<blocks_for(total), kThreads, 0, stream>>>(
          s, col.data<scalar_t>(), dx.data<scalar_t>() + n0 * s.C * s.HW(), total);
      LOOM_CUDA_CHECK_LAUNCH("col2im_v1");
    }
  });
}

void im2col_backward_weight(const ConvShape& s, const Tensor& dy, const Tensor& x, Tensor& dw,
                            gemm::Precision precision) {
  if (dw.numel() == 0) return;
  const cudaStream_t stream = stream_of(x);
  LOOM_DISPATCH_FLOATING(x.dtype(), "conv2d_backward_weight (im2col)", [&] {
    const int64_t R = s.R(), L = s.L(), B = images_per_chunk(s);
    if (s.N == 0 || L == 0) {
      LOOM_CUDA_CHECK(cudaMemsetAsync(dw.data<scalar_t>(), 0, dw.numel() * sizeof(scalar_t), stream));
      return;
    }
    Tensor col = Tensor::empty({B, R, L}, x.dtype(), x.device());  // (B, R, L)
    for (int64_t n0 = 0; n0 < s.N; n0 += B) {
      const int64_t b = std::min(B, s.N - n0);
      launch_im2col(s, x.data<scalar_t>() + n0 * s.C * s.HW(), b, col.data<scalar_t>(), stream);
      for (int64_t j = 0; j < b; ++j) {
        // dW (OC, R) (+)= dy_n (OC, L) @ col_j^T (L, R); col_j stored (R, L): trans_b with ldb = L
        GemmCall g;
        g.trans_b = true;
        g.m = s.OC, g.n = R, g.k = L;
        g.beta = (n0 + j == 0) ? 0.0 : 1.0;  // the first image overwrites, later ones accumulate in order
        g.lda = L, g.ldb = L, g.ldc = R;
        run_gemm<scalar_t>(g, dy.data<scalar_t>() + (n0 + j) * s.OC * L, col.data<scalar_t>() + j * R * L,
                           dw.data<scalar_t>(), precision);
      }
    }
  });
}

}  // namespace loom::cuda::conv::detail
