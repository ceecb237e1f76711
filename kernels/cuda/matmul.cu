// matmul.cu: STUB. The CUDA kernels of this op family are being written; until
// then each op throws "not implemented on CUDA yet".
#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"

namespace loom::cuda {

namespace {
[[noreturn]] void not_yet(const char* op) {
  detail::throw_error(op, ": not implemented on CUDA yet; move the tensors to the CPU with .to(loom::Device::cpu())");
}
}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) { not_yet("matmul"); }

}  // namespace loom::cuda
