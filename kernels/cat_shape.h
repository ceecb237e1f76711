// cat_shape.h: the argument checks and output shape of cat, shared by the
// CPU (kernels/cpu/shape_ops.cpp) and CUDA (kernels/cuda/shape_ops.cu) code.
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace loom::cat_shape {

struct CatShape {
  int64_t dim;      // the concatenation dim, normalised to [0, ndim)
  Shape out_shape;  // the inputs' shape with dim summed
};

// out = the inputs side by side along dim; all other dims, the dtype and the device must agree.
inline CatShape cat_shape(const std::vector<Tensor>& xs, int64_t dim, const char* op) {
  LOOM_CHECK(!xs.empty(), op, ": expected at least one tensor");
  const Tensor& first = xs[0];
  LOOM_CHECK(first.defined(), op, ": tensor 0 is undefined");
  LOOM_CHECK(first.dim() > 0, op, ": cannot concatenate 0-dim tensors");
  CatShape r{normalize_dim(dim, first.dim(), op), first.shape()};
  const int64_t d = r.dim;
  r.out_shape[d] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    LOOM_CHECK(x.defined(), op, ": tensor ", i, " is undefined");
    LOOM_CHECK(x.dtype() == first.dtype(), op, ": tensor ", i, " is ", dtype_name(x.dtype()), " but tensor 0 is ",
               dtype_name(first.dtype()));
    LOOM_CHECK(x.device() == first.device(), op, ": tensor ", i, " is on ", x.device().str(),
               " but tensor 0 is on ", first.device().str());
    LOOM_CHECK(x.dim() == first.dim(), op, ": tensor ", i, " has shape ", shape_str(x.shape()),
               " but tensor 0 has shape ", shape_str(first.shape()), " (different number of dims)");
    for (int64_t k = 0; k < x.dim(); ++k)
      LOOM_CHECK(k == d || x.shape()[k] == first.shape()[k], op, ": tensor ", i, " has shape ",
                 shape_str(x.shape()), " but tensor 0 has shape ", shape_str(first.shape()),
                 "; sizes must match except in dim ", d);
    r.out_shape[d] += x.shape()[d];
  }
  return r;
}

}  // namespace loom::cat_shape
