// unary.cu: STUB. The CUDA kernels of this op family are being written; until
// then each op throws "not implemented on CUDA yet".
#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"

namespace loom::cuda {

namespace {
[[noreturn]] void not_yet(const char* op) {
  detail::throw_error(op, ": not implemented on CUDA yet; move the tensors to the CPU with .to(loom::Device::cpu())");
}
}  // namespace

Tensor neg(const Tensor& x) { not_yet("neg"); }
Tensor exp(const Tensor& x) { not_yet("exp"); }
Tensor log(const Tensor& x) { not_yet("log"); }
Tensor sqrt(const Tensor& x) { not_yet("sqrt"); }
Tensor tanh(const Tensor& x) { not_yet("tanh"); }
Tensor sigmoid(const Tensor& x) { not_yet("sigmoid"); }
Tensor relu(const Tensor& x) { not_yet("relu"); }
Tensor abs(const Tensor& x) { not_yet("abs"); }
Tensor sign(const Tensor& x) { not_yet("sign"); }
Tensor leaky_relu(const Tensor& x, double slope) { not_yet("leaky_relu"); }
Tensor pow(const Tensor& x, double exponent) { not_yet("pow"); }
Tensor clamp(const Tensor& x, double lo, double hi) { not_yet("clamp"); }
Tensor relu_backward(const Tensor& grad, const Tensor& x) { not_yet("relu_backward"); }
Tensor leaky_relu_backward(const Tensor& grad, const Tensor& x, double slope) { not_yet("leaky_relu_backward"); }
Tensor clamp_backward(const Tensor& grad, const Tensor& x, double lo, double hi) { not_yet("clamp_backward"); }
Tensor sigmoid_backward(const Tensor& grad, const Tensor& y) { not_yet("sigmoid_backward"); }
Tensor tanh_backward(const Tensor& grad, const Tensor& y) { not_yet("tanh_backward"); }
Tensor pow_backward(const Tensor& grad, const Tensor& x, double exponent) { not_yet("pow_backward"); }

}  // namespace loom::cuda
