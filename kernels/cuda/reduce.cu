// reduce.cu: STUB. The CUDA kernels of this op family are being written; until
// then each op throws "not implemented on CUDA yet".
#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"

namespace loom::cuda {

namespace {
[[noreturn]] void not_yet(const char* op) {
  detail::throw_error(op, ": not implemented on CUDA yet; move the tensors to the CPU with .to(loom::Device::cpu())");
}
}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) { not_yet("sum"); }
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) { not_yet("mean"); }
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) { not_yet("amax"); }
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) { not_yet("amin"); }
Tensor var(const Tensor& x, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) { not_yet("var"); }
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) { not_yet("argmax"); }

}  // namespace loom::cuda
