// binary.cu: STUB. The CUDA kernels of this op family are being written; until
// then each op throws "not implemented on CUDA yet".
#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"

namespace loom::cuda {

namespace {
[[noreturn]] void not_yet(const char* op) {
  detail::throw_error(op, ": not implemented on CUDA yet; move the tensors to the CPU with .to(loom::Device::cpu())");
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { not_yet("add"); }
Tensor sub(const Tensor& a, const Tensor& b) { not_yet("sub"); }
Tensor mul(const Tensor& a, const Tensor& b) { not_yet("mul"); }
Tensor div(const Tensor& a, const Tensor& b) { not_yet("div"); }
Tensor maximum(const Tensor& a, const Tensor& b) { not_yet("maximum"); }
Tensor minimum(const Tensor& a, const Tensor& b) { not_yet("minimum"); }
Tensor eq(const Tensor& a, const Tensor& b) { not_yet("eq"); }
Tensor ne(const Tensor& a, const Tensor& b) { not_yet("ne"); }
Tensor lt(const Tensor& a, const Tensor& b) { not_yet("lt"); }
Tensor le(const Tensor& a, const Tensor& b) { not_yet("le"); }
Tensor gt(const Tensor& a, const Tensor& b) { not_yet("gt"); }
Tensor ge(const Tensor& a, const Tensor& b) { not_yet("ge"); }
Tensor add_scalar(const Tensor& x, double s) { not_yet("add_scalar"); }
Tensor mul_scalar(const Tensor& x, double s) { not_yet("mul_scalar"); }
Tensor rsub_scalar(const Tensor& x, double s) { not_yet("rsub_scalar"); }
Tensor rdiv_scalar(const Tensor& x, double s) { not_yet("rdiv_scalar"); }
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) { not_yet("where"); }

}  // namespace loom::cuda
