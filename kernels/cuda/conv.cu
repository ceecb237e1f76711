// conv.cu: STUB. The CUDA kernels of this op family are being written; until
// then each op throws "not implemented on CUDA yet".
#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"

namespace loom::cuda {

namespace {
[[noreturn]] void not_yet(const char* op) {
  detail::throw_error(op, ": not implemented on CUDA yet; move the tensors to the CPU with .to(loom::Device::cpu())");
}
}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt) { not_yet("conv2d"); }
Tensor conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Shape& input_shape, const Conv2dOptions& opt) { not_yet("conv2d_backward_input"); }
Tensor conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Shape& weight_shape, const Conv2dOptions& opt) { not_yet("conv2d_backward_weight"); }
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt) { not_yet("conv_transpose2d"); }

}  // namespace loom::cuda
