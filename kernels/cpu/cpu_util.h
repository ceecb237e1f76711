// cpu_util.h: small helpers shared by the CPU kernels: argument checks,
// broadcast strides, and geometry-only views that never touch autograd
// (kernels must not call the differentiable Tensor view methods on inputs that
// may require grad: use these, which go through Tensor::alias).
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace loom::cpu {

// Below this much work a kernel stays on one thread.
constexpr int64_t kParallelGrain = 32768;

// Calls plane_fn(p) for p in [0, planes), in parallel when there is enough
// work. Each plane is handled by one thread from start to end, so whatever a
// plane accumulates is summed in one fixed order for any thread count.
template <class F>
void for_each_plane(int64_t planes, int64_t work_per_plane, F plane_fn) {
#pragma omp parallel for schedule(static) if (planes > 1 && planes * work_per_plane > kParallelGrain)
  for (int64_t p = 0; p < planes; ++p) plane_fn(p);
}

// Throws naming `op` unless x is a defined float32/float64 tensor.
inline void check_float(const Tensor& x, const char* op, const char* what = "input") {
  LOOM_CHECK(x.defined(), op, ": ", what, " is undefined");
  LOOM_CHECK(is_floating(x.dtype()), op, ": ", what, " must be float32 or float64, got ", dtype_name(x.dtype()),
             " (shape ", shape_str(x.shape()), ")");
}

// Throws naming `op` unless x has `ndim` dims.
inline void check_dim(const Tensor& x, int64_t ndim, const char* op, const char* what = "input") {
  LOOM_CHECK(x.dim() == ndim, op, ": ", what, " must have ", ndim, " dims, got shape ", shape_str(x.shape()));
}

// Strides that read x as if expanded to `out_shape` (0 on broadcast dims).
inline Shape broadcast_strides(const Tensor& x, const Shape& out_shape) {
  Shape st(out_shape.size(), 0);
  const size_t lead = out_shape.size() - x.shape().size();
  for (size_t d = 0; d < x.shape().size(); ++d) st[lead + d] = x.shape()[d] == 1 ? 0 : x.strides()[d];
  return st;
}

// x with dims reordered (out dim i = x dim perm[i]); a view, no autograd.
inline Tensor raw_permute(const Tensor& x, const std::vector<int64_t>& perm) {
  Shape sh(perm.size()), st(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    sh[i] = x.shape()[perm[i]];
    st[i] = x.strides()[perm[i]];
  }
  return x.alias(sh, st, x.offset());
}

// A dense copy of x (or x itself when already dense), without autograd.
Tensor raw_contiguous(const Tensor& x);

// x reinterpreted with a new shape; x must be dense. No autograd.
inline Tensor raw_reshape(const Tensor& x, const Shape& shape) {
  LOOM_CHECK(x.is_contiguous() && numel_of(shape) == x.numel(), "raw_reshape: cannot view ", shape_str(x.shape()),
             " as ", shape_str(shape));
  return x.alias(shape, contiguous_strides(shape), x.offset());
}

}  // namespace loom::cpu
