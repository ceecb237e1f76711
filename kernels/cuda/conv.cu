// conv.cu: the four CUDA convolution ops of kernels/op_list.h. Each checks its
// arguments exactly as the CPU op (kernels/conv_geometry.h) and runs the
// algorithm current_algo() names at current_precision() (conv_algo.h:
// set_algo / LOOM_CONV, Auto by default; LOOM_BACKEND=cudnn routes Auto to
// cuDNN). The kernels themselves live in conv_direct.cu, conv_im2col.cu and
// conv_implicit_gemm.cu; the choice in conv_algo.cu.
//
// conv_transpose2d(x, W) with W (IC, OC, KH, KW) is conv2d's backward-input
// with dy := x (kernels/cpu/conv.cpp explains why): the forward convolution
// it transposes maps an image (OC, OH, OW) to (IC, H, W), with
// OH = (H-1) stride - 2 pad + dil (KH-1) + output_padding + 1; the bias is
// added afterwards (the same in-place epilogue pass as im2col's).
#include "kernels/cuda/conv_common.cuh"
#include "kernels/cuda/cuda.h"

namespace loom::cuda {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt) {
  return conv::forward(x, weight, bias, opt, conv::current_algo(), conv::current_precision());
}

Tensor conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Shape& input_shape,
                             const Conv2dOptions& opt) {
  return conv::backward_input(grad_out, weight, input_shape, opt, conv::current_algo(), conv::current_precision());
}

Tensor conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Shape& weight_shape,
                              const Conv2dOptions& opt) {
  return conv::backward_weight(grad_out, x, weight_shape, opt, conv::current_algo(), conv::current_precision());
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt) {
  const char* op = "conv_transpose2d";
  check_float_cuda(x, op, "input");
  check_float_cuda(weight, op, "weight");
  check_same_dtype_device(x, weight, op);
  conv_geometry::check_options(opt, op, true);
  const auto g = conv_geometry::transposed(op, x.shape(), weight.shape(), opt);  // image (OC, OH, OW) -> (IC, H, W)
  const int64_t N = x.shape()[0], IC = x.shape()[1];
  if (bias.defined()) {
    check_float_cuda(bias, op, "bias");
    check_same_dtype_device(x, bias, op);
    conv_geometry::check_bias_shape(bias.shape(), g.C, op);
  }
  // y (N, OC, OH, OW) = conv^T(x) for the conv with weight (IC, OC, KH, KW): IC plays the conv's output channels
  Tensor y = conv::detail::run_backward_input(conv::detail::make_shape(g, N, IC), dense(x), dense(weight),
                                              conv::current_algo(), conv::current_precision());
  conv::detail::apply_epilogue_inplace(y, bias.defined() ? dense(bias) : bias, conv::Activation::None, 0.0);
  return y;
}

}  // namespace loom::cuda
