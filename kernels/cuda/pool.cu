// pool.cu: STUB. The CUDA kernels of this op family are being written; until
// then each op throws "not implemented on CUDA yet".
#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"

namespace loom::cuda {

namespace {
[[noreturn]] void not_yet(const char* op) {
  detail::throw_error(op, ": not implemented on CUDA yet; move the tensors to the CPU with .to(loom::Device::cpu())");
}
}  // namespace

MaxPoolResult max_pool2d(const Tensor& x, const Pool2dOptions& opt) { not_yet("max_pool2d"); }
Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Shape& input_shape) { not_yet("max_pool2d_backward"); }
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& opt) { not_yet("avg_pool2d"); }
Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape, const Pool2dOptions& opt) { not_yet("avg_pool2d_backward"); }

}  // namespace loom::cuda
