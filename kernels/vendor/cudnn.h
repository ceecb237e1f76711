// cudnn.h: the cuDNN comparison backend of the convolutions (kernels/vendor/cudnn.cu):
// cudnnConvolutionForward / BackwardData / BackwardFilter on NCHW tensors,
// float32 or float64, used when the conv algorithm is Cudnn or LOOM_BACKEND
// holds "cudnn". Present only in builds with LOOM_WITH_CUDNN; the shapes are
// checked by the caller (kernels/cuda/conv_algo.cu).
#pragma once
#ifdef LOOM_WITH_CUDNN
#include "kernels/cuda/conv_common.cuh"

namespace loom::vendor::cudnn {

using cuda::conv::detail::ConvShape;

// y (N, OC, OH, OW) = conv(x, w); dx (N, C, H, W) = conv^T(dy); dw (OC, C, KH, KW) = sum_n dy_n x_n.
// Outputs allocated by the caller, dense. TF32 allows tensor-op math; BF16 is refused.
void conv_forward(const ConvShape& s, const Tensor& x, const Tensor& w, Tensor& y, cuda::gemm::Precision precision);
void conv_backward_data(const ConvShape& s, const Tensor& dy, const Tensor& w, Tensor& dx,
                        cuda::gemm::Precision precision);
void conv_backward_filter(const ConvShape& s, const Tensor& dy, const Tensor& x, Tensor& dw,
                          cuda::gemm::Precision precision);

}  // namespace loom::vendor::cudnn
#endif
