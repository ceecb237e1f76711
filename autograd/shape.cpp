// shape.cpp: differentiable cat, stack and pad2d.
//   cat:    y = [x_0, x_1, ...] along dim;  dx_i = g[..., start_i : start_i + size_i, ...]
//   stack:  cat of the inputs each unsqueezed at dim (its gradient follows from cat's)
//   pad2d:  dx = pad2d_backward(g): the crop of g (zero), or the crop plus the
//           reflected borders folded back in (reflect)
#include "autograd/functions.h"
#include "autograd/node.h"
#include "kernels/ops.h"

namespace loom {

using autograd::record;
using Grads = std::vector<Tensor>;

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  Tensor y = ops::cat(xs, dim);  // checks the inputs
  const int64_t d = normalize_dim(dim, xs[0].dim(), "cat");
  std::vector<int64_t> sizes;  // each input's extent along d
  for (const Tensor& x : xs) sizes.push_back(x.shape()[d]);
  return record("cat", y, xs, [d, sizes](const Tensor& g) {
    Grads grads;
    int64_t start = 0;
    for (int64_t size : sizes) {
      grads.push_back(g.slice(d, start, start + size));  // dx_i = g[start_i : start_i + size_i]
      start += size;
    }
    return grads;
  });
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  LOOM_CHECK(!xs.empty(), "stack: expected at least one tensor");
  LOOM_CHECK(xs[0].defined(), "stack: tensor 0 is undefined");
  const int64_t d = normalize_dim(dim, xs[0].dim() + 1, "stack");
  std::vector<Tensor> unsqueezed;
  for (size_t i = 0; i < xs.size(); ++i) {
    LOOM_CHECK(xs[i].defined(), "stack: tensor ", i, " is undefined");
    LOOM_CHECK(xs[i].shape() == xs[0].shape(), "stack: tensor ", i, " has shape ", shape_str(xs[i].shape()),
               " but tensor 0 has shape ", shape_str(xs[0].shape()), "; all must have the same shape");
    unsqueezed.push_back(xs[i].unsqueeze(d));
  }
  return cat(unsqueezed, d);
}

Tensor pad2d(const Tensor& x, const Pad2d& pad, PadMode mode) {
  return record("pad2d", ops::pad2d(x, pad, mode), {x}, [shape = x.shape(), pad, mode](const Tensor& g) {
    return Grads{ops::pad2d_backward(g, shape, pad, mode)};
  });
}

}  // namespace loom
