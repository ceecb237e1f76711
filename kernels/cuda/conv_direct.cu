// conv_direct.cu: the direct convolution, one thread per output element, no
// GEMM and no buffer ("direct" in conv_algo.h). It reads like the definition:
//
//   v1 forward          y[n, oc, oh, ow]  = epi( sum_{c,kh,kw} w[oc,c,kh,kw] x[n,c,ih,iw] )
//   v1 backward-input   dx[n, c, ih, iw]  = sum_{oc,kh,kw} w[oc,c,kh,kw] dy[n,oc,oh,ow]
//                       with oh = (ih + ph - kh dh) / sh where exact and in range (gather)
//   v1 backward-weight  dw[oc, c, kh, kw] = sum_{n,oh,ow} dy[n,oc,oh,ow] x[n,c,ih,iw]
//
// What it teaches: the arithmetic of a convolution with nothing else in the
// way, and why a GEMM formulation wins as soon as channels grow (every thread
// re-reads the same weights from global memory/L1 and no data is reused through
// shared memory). It wins where the GEMM tiles would be mostly empty: a first
// layer with C = 1 or 3 and a few output channels, or a last layer producing 1-3
// channels (conv_algo.cu's Auto rule). Each output is one thread's sum in a
// fixed order: deterministic, no atomics. backward-weight has only OC C KH KW
// threads, each looping over N OH OW: correct but slow for large batches, so
// Auto never picks it for that pass. The sums use fma() explicitly: loom's
// CUDA code is built with --fmad=false, which would otherwise leave a
// multiply and an add (two roundings, half the rate).
#include "kernels/cuda/conv_common.cuh"

namespace loom::cuda::conv::detail {

namespace {

template <class T>
__global__ void conv_direct_forward_v1(ConvShape s, const T* __restrict__ x, const T* __restrict__ w,
                                       Epilogue<T> epi, T* __restrict__ y, int64_t total) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    // i = ((n OC + oc) OH + oh) OW + ow
    const int64_t ow = i % s.OW, oh = (i / s.OW) % s.OH, oc = (i / s.L()) % s.OC, n = i / (s.L() * s.OC);
    T acc = T(0);
    for (int64_t c = 0; c < s.C; ++c) {
      const T* xc = x + (n * s.C + c) * s.HW();               // (H, W)
      const T* wc = w + (oc * s.C + c) * s.KH * s.KW;         // (KH, KW)
      for (int64_t kh = 0; kh < s.KH; ++kh) {
        const int64_t ih = oh * s.sh - s.ph + kh * s.dh;
        if (ih < 0 || ih >= s.H) continue;
        for (int64_t kw = 0; kw < s.KW; ++kw) {
          const int64_t iw = ow * s.sw - s.pw + kw * s.dw;
          if (iw < 0 || iw >= s.W) continue;
          acc = fma(wc[kh * s.KW + kw], xc[ih * s.W + iw], acc);
        }
      }
    }
    y[i] = epi(acc, oc);
  }
}

template <class T>
__global__ void conv_direct_backward_input_v1(ConvShape s, const T* __restrict__ dy, const T* __restrict__ w,
                                              T* __restrict__ dx, int64_t total) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    // i = ((n C + c) H + ih) W + iw
    const int64_t iw = i % s.W, ih = (i / s.W) % s.H, c = (i / s.HW()) % s.C, n = i / (s.HW() * s.C);
    T acc = T(0);
    for (int64_t oc = 0; oc < s.OC; ++oc) {
      const T* dyo = dy + (n * s.OC + oc) * s.L();             // (OH, OW)
      const T* wo = w + (oc * s.C + c) * s.KH * s.KW;          // (KH, KW)
      for (int64_t kh = 0; kh < s.KH; ++kh) {
        const int64_t th = ih + s.ph - kh * s.dh;  // = oh sh
        if (th < 0 || th % s.sh != 0) continue;
        const int64_t oh = th / s.sh;
        if (oh >= s.OH) continue;
        for (int64_t kw = 0; kw < s.KW; ++kw) {
          const int64_t tw = iw + s.pw - kw * s.dw;  // = ow sw
          if (tw < 0 || tw % s.sw != 0) continue;
          const int64_t ow = tw / s.sw;
          if (ow >= s.OW) continue;
          acc = fma(wo[kh * s.KW + kw], dyo[oh * s.OW + ow], acc);
        }
      }
    }
    dx[i] = acc;
  }
}

template <class T>
__global__ void conv_direct_backward_weight_v1(ConvShape s, const T* __restrict__ dy, const T* __restrict__ x,
                                               T* __restrict__ dw, int64_t total) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    // i = ((oc C + c) KH + kh) KW + kw
    const int64_t kw = i % s.KW, kh = (i / s.KW) % s.KH, c = (i / (s.KH * s.KW)) % s.C, oc = i / s.R();
    T acc = T(0);
    for (int64_t n = 0; n < s.N; ++n) {
      const T* dyo = dy + (n * s.OC + oc) * s.L();  // (OH, OW)
      const T* xc = x + (n * s.C + c) * s.HW();     // (H, W)
      for (int64_t oh = 0; oh < s.OH; ++oh) {
        const int64_t ih = oh * s.sh - s.ph + kh * s.dh;
        if (ih < 0 || ih >= s.H) continue;
        for (int64_t ow = 0; ow < s.OW; ++ow) {
          const int64_t iw = ow * s.sw - s.pw + kw * s.dw;
          if (iw < 0 || iw >= s.W) continue;
          acc = fma(dyo[oh * s.OW + ow], xc[ih * s.W + iw], acc);
        }
      }
    }
    dw[i] = acc;
  }
}

}  // namespace

void direct_forward(const ConvShape& s, const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                    gemm::Precision precision, Activation act, double slope) {
  require_fp32(precision, "direct", "conv2d");
  const int64_t total = y.numel();
  if (total == 0) return;
  LOOM_DISPATCH_FLOATING(x.dtype(), "conv2d (direct)", [&] {
    Epilogue<scalar_t> epi;
    epi.bias = bias.defined() ? bias.data<scalar_t>() : nullptr;
    epi.act = act;
    epi.slope = scalar_t(slope);
    conv_direct_forward_v1<scalar_t><<<blocks_for(total), kThreads, 0, stream_of(x)>>>(
        s, x.data<scalar_t>(), w.data<scalar_t>(), epi, y.data<scalar_t>(), total);
    LOOM_CUDA_CHECK_LAUNCH("conv_direct_forward_v1");
  });
}

void direct_backward_input(const ConvShape& s, const Tensor& dy, const Tensor& w, Tensor& dx,
                           gemm::Precision precision) {
  require_fp32(precision, "direct", "conv2d_backward_input");
  const int64_t total = dx.numel();
  if (total == 0) return;
  LOOM_DISPATCH_FLOATING(dy.dtype(), "conv2d_backward_input (direct)", [&] {
    conv_direct_backward_input_v1<scalar_t><<<blocks_for(total), kThreads, 0, stream_of(dy)>>>(
        s, dy.data<scalar_t>(), w.data<scalar_t>(), dx.data<scalar_t>(), total);
    LOOM_CUDA_CHECK_LAUNCH("conv_direct_backward_input_v1");
  });
}

void direct_backward_weight(const ConvShape& s, const Tensor& dy, const Tensor& x, Tensor& dw,
                            gemm::Precision precision) {
  require_fp32(precision, "direct", "conv2d_backward_weight");
  const int64_t total = dw.numel();
  if (total == 0) return;
  LOOM_DISPATCH_FLOATING(x.dtype(), "conv2d_backward_weight (direct)", [&] {
    conv_direct_backward_weight_v1<scalar_t><<<blocks_for(total), kThreads, 0, stream_of(x)>>>(
        s, dy.data<scalar_t>(), x.data<scalar_t>(), dw.data<scalar_t>(), total);
    LOOM_CUDA_CHECK_LAUNCH("conv_direct_backward_weight_v1");
  });
}

}  // namespace loom::cuda::conv::detail
