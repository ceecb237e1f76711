// conv_common.cuh: what the CUDA convolution algorithms share: the problem
// shape passed to kernels by value (ConvShape), the fused bias + activation
// epilogue, and the entry of each algorithm (conv_direct.cu, conv_im2col.cu,
// conv_implicit_gemm.cu, kernels/vendor/cudnn.cu), called by conv_algo.cu
// after the shape checks with dense tensors on one device.
//
// Index conventions (all passes, all algorithms), R = C KH KW, L = OH OW:
//   x  (N, C, H, W)   w (OC, C, KH, KW)   y (N, OC, OH, OW)
//   y[n, oc, oh, ow] = sum_{c, kh, kw} w[oc, c, kh, kw] x[n, c, ih, iw],
//   ih = oh sh - ph + kh dh,  iw = ow sw - pw + kw dw  (x = 0 outside the image)
// Backward-input inverts ih = oh sh - ph + kh dh: for a given (ih, kh) the
// output row is oh = (ih + ph - kh dh) / sh when that division is exact and
// 0 <= oh < OH (the gather form: each dx element sums its own terms, no atomics).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/conv_geometry.h"
#include "kernels/cuda/conv_algo.h"
#include "kernels/cuda/cuda_util.cuh"

namespace loom::cuda::conv::detail {

struct ConvShape {
  int64_t N = 0, C = 0, H = 0, W = 0;  // image (input of the forward convolution)
  int64_t OC = 0, KH = 1, KW = 1;      // weight (OC, C, KH, KW)
  int64_t OH = 0, OW = 0;              // output of the forward convolution
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;

  __host__ __device__ int64_t R() const { return C * KH * KW; }  // col rows
  __host__ __device__ int64_t L() const { return OH * OW; }      // col columns per image
  __host__ __device__ int64_t HW() const { return H * W; }
};

inline ConvShape make_shape(const conv_geometry::ConvGeometry& g, int64_t N, int64_t OC) {
  ConvShape s;
  s.N = N, s.C = g.C, s.H = g.H, s.W = g.W;
  s.OC = OC, s.KH = g.KH, s.KW = g.KW, s.OH = g.OH, s.OW = g.OW;
  s.sh = g.sh, s.sw = g.sw, s.ph = g.ph, s.pw = g.pw, s.dh = g.dh, s.dw = g.dw;
  return s;
}

// The epilogue of a forward pass: v + bias, then the activation.
//   ReLU max(v, 0); LeakyReLU v > 0 ? v : slope v; Tanh; Sigmoid 1 / (1 + e^-v).
template <class T>
__device__ __forceinline__ T apply_activation(T v, Activation act, T slope) {
  switch (act) {
    case Activation::ReLU: return v > T(0) ? v : T(0);
    case Activation::LeakyReLU: return v > T(0) ? v : slope * v;
    case Activation::Tanh: return tanh(v);
    case Activation::Sigmoid: return T(1) / (T(1) + exp(-v));
    default: return v;
  }
}

// The forward epilogue's parameters (bias may be null).
template <class T>
struct Epilogue {
  const T* bias = nullptr;  // (OC) or null
  Activation act = Activation::None;
  T slope = T(0.2);
  __device__ __forceinline__ T operator()(T acc, int64_t oc) const {
    return apply_activation<T>(bias ? acc + bias[oc] : acc, act, slope);
  }
};

// y (N, OC, L) <- epilogue(y) in place (for the algorithms whose GEMM cannot
// fuse it: im2col + gemm::run, cuDNN). No launch when there is nothing to do.
void apply_epilogue_inplace(Tensor& y, const Tensor& bias, Activation act, double slope);

// Each algorithm: dense inputs on one CUDA device, outputs allocated by the
// caller (dense, same dtype), shapes already checked. float32 and float64.
//   forward:          y  (N, OC, OH, OW) <- epilogue(conv(x, w))
//   backward_input:   dx (N, C, H, W)    <- conv^T(dy)        (every element written)
//   backward_weight:  dw (OC, C, KH, KW) <- sum_n dy_n x_n     (every element written)
#define LOOM_CONV_ALGO_DECLARE(prefix)                                                                     \
  void prefix##_forward(const ConvShape& s, const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,  \
                        gemm::Precision precision, Activation act, double slope);                            \
  void prefix##_backward_input(const ConvShape& s, const Tensor& dy, const Tensor& w, Tensor& dx,             \
                               gemm::Precision precision);                                                   \
  void prefix##_backward_weight(const ConvShape& s, const Tensor& dy, const Tensor& x, Tensor& dw,            \
                                gemm::Precision precision);
LOOM_CONV_ALGO_DECLARE(direct)
LOOM_CONV_ALGO_DECLARE(im2col)
LOOM_CONV_ALGO_DECLARE(implicit)
#undef LOOM_CONV_ALGO_DECLARE

// Throws "<op>: algorithm <name> supports only fp32 (got <p>)" unless p is FP32.
void require_fp32(gemm::Precision p, const char* algorithm, const char* op);

}  // namespace loom::cuda::conv::detail

namespace loom::cuda::conv::detail {

// The three passes on a checked shape with the algorithm resolved (Auto picks
// per pass) and the output allocated here: the ops in conv.cu and the public
// forward/backward_* in conv_algo.cu both end here. Inputs: dense.
Tensor run_forward(const ConvShape& s, const Tensor& x, const Tensor& w, const Tensor& bias, Algo algo,
                   gemm::Precision precision, Activation act, double slope);
Tensor run_backward_input(const ConvShape& s, const Tensor& dy, const Tensor& w, Algo algo,
                          gemm::Precision precision);
Tensor run_backward_weight(const ConvShape& s, const Tensor& dy, const Tensor& x, Algo algo,
                           gemm::Precision precision);

// Auto's choice for one pass ("forward", "backward_input", "backward_weight").
Algo resolve_auto(const ConvShape& s, const char* pass, gemm::Precision precision = gemm::Precision::FP32);

}  // namespace loom::cuda::conv::detail
