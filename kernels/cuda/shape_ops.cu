// shape_ops.cu: STUB. The CUDA kernels of this op family are being written; until
// then each op throws "not implemented on CUDA yet".
#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"

namespace loom::cuda {

namespace {
[[noreturn]] void not_yet(const char* op) {
  detail::throw_error(op, ": not implemented on CUDA yet; move the tensors to the CPU with .to(loom::Device::cpu())");
}
}  // namespace

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) { not_yet("cat"); }
Tensor pad2d(const Tensor& x, const Pad2d& pad, PadMode mode) { not_yet("pad2d"); }
Tensor pad2d_backward(const Tensor& grad_out, const Shape& input_shape, const Pad2d& pad, PadMode mode) { not_yet("pad2d_backward"); }
Tensor one_hot(const Tensor& labels, int64_t num_classes, DType dtype) { not_yet("one_hot"); }

}  // namespace loom::cuda
