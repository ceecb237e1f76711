// resample.cu: STUB. The CUDA kernels of this op family are being written; until
// then each op throws "not implemented on CUDA yet".
#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"

namespace loom::cuda {

namespace {
[[noreturn]] void not_yet(const char* op) {
  detail::throw_error(op, ": not implemented on CUDA yet; move the tensors to the CPU with .to(loom::Device::cpu())");
}
}  // namespace

Tensor upsample_nearest2d(const Tensor& x, int64_t out_h, int64_t out_w) { not_yet("upsample_nearest2d"); }
Tensor upsample_nearest2d_backward(const Tensor& grad_out, const Shape& input_shape) { not_yet("upsample_nearest2d_backward"); }
Tensor upsample_bilinear2d(const Tensor& x, int64_t out_h, int64_t out_w, bool align_corners) { not_yet("upsample_bilinear2d"); }
Tensor upsample_bilinear2d_backward(const Tensor& grad_out, const Shape& input_shape, bool align_corners) { not_yet("upsample_bilinear2d_backward"); }

}  // namespace loom::cuda
