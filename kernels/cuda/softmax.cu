// softmax.cu: STUB. The CUDA kernels of this op family are being written; until
// then each op throws "not implemented on CUDA yet".
#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"

namespace loom::cuda {

namespace {
[[noreturn]] void not_yet(const char* op) {
  detail::throw_error(op, ": not implemented on CUDA yet; move the tensors to the CPU with .to(loom::Device::cpu())");
}
}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { not_yet("softmax"); }
Tensor log_softmax(const Tensor& x, int64_t dim) { not_yet("log_softmax"); }
Tensor softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim) { not_yet("softmax_backward"); }
Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim) { not_yet("log_softmax_backward"); }

}  // namespace loom::cuda
