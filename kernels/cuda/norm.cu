// norm.cu: STUB. The CUDA kernels of this op family are being written; until
// then each op throws "not implemented on CUDA yet".
#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"

namespace loom::cuda {

namespace {
[[noreturn]] void not_yet(const char* op) {
  detail::throw_error(op, ": not implemented on CUDA yet; move the tensors to the CPU with .to(loom::Device::cpu())");
}
}  // namespace

BatchNormResult batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) { not_yet("batch_norm_train"); }
Tensor batch_norm_eval(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean, const Tensor& running_var, double eps) { not_yet("batch_norm_eval"); }
BatchNormGrads batch_norm_backward_train(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& invstd) { not_yet("batch_norm_backward_train"); }

}  // namespace loom::cuda
