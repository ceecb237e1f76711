// reduce.cpp: differentiable reductions and softmax, and sum_to (the adjoint
// of broadcasting). A reduction's gradient spreads g back over the reduced
// dims: first unsqueeze g to keepdim form, then expand it to the input shape.
#include "autograd/functions.h"
#include "autograd/node.h"
#include "kernels/ops.h"

namespace loom {

using autograd::record;
using Grads = std::vector<Tensor>;

namespace {

// g (reduced over dims, with or without keepdim) -> g with size-1 reduced dims.
Tensor keepdim_form(const Tensor& g, const Shape& in_shape, const std::vector<int64_t>& dims, bool keepdim) {
  if (keepdim) return g;
  const int64_t nd = static_cast<int64_t>(in_shape.size());
  std::vector<bool> reduced(nd, dims.empty());
  for (int64_t d : dims) reduced[normalize_dim(d, nd, "reduce")] = true;
  Shape kshape(in_shape);
  for (int64_t d = 0; d < nd; ++d)
    if (reduced[d]) kshape[d] = 1;
  return g.reshape(kshape);
}

// g spread over the input shape: expand of the keepdim form (a dense copy).
Tensor spread(const Tensor& g, const Shape& in_shape, const std::vector<int64_t>& dims, bool keepdim) {
  return keepdim_form(g, in_shape, dims, keepdim).expand(in_shape).contiguous();
}

}  // namespace

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const int64_t lead = grad.dim() - static_cast<int64_t>(shape.size());
  LOOM_CHECK(lead >= 0, "sum_to: cannot reduce shape ", shape_str(grad.shape()), " to ", shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < grad.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && grad.shape()[d] != 1)) dims.push_back(d);
  Tensor s = dims.empty() ? grad : ops::sum(grad, dims, true);
  return s.reshape(shape);
}

// d sum = g broadcast back
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return record("sum", ops::sum(x, dims, keepdim), {x}, [s = x.shape(), dims, keepdim](const Tensor& g) {
    return Grads{spread(g, s, dims, keepdim)};
  });
}

// d mean = g / count broadcast back
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor y = ops::mean(x, dims, keepdim);
  const double count = static_cast<double>(x.numel()) / static_cast<double>(std::max<int64_t>(1, y.numel()));
  return record("mean", y, {x}, [s = x.shape(), dims, keepdim, count](const Tensor& g) {
    return Grads{ops::mul_scalar(spread(g, s, dims, keepdim), 1.0 / count)};
  });
}

// d amax: g shared equally by the elements equal to the maximum.
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor y = ops::amax(x, dims, keepdim);
  return record("amax", y, {x}, [x = x.detach(), y = y.detach(), dims, keepdim](const Tensor& g) {
    Tensor mask = ops::eq(x, keepdim_form(y, x.shape(), dims, keepdim)).to(g.dtype());
    Tensor count = ops::sum(mask, dims, true);
    return Grads{ops::mul(mask, ops::div(keepdim_form(g, x.shape(), dims, keepdim), count))};
  });
}

// max along one dim: the gradient goes to the (first) argmax.
Tensor max(const Tensor& x, int64_t dim, bool keepdim) {
  const int64_t d = normalize_dim(dim, x.dim(), "max");
  Tensor idx = ops::argmax(x, d, true);  // (.., 1, ..) int64
  Tensor y = ops::amax(x, {d}, keepdim);
  return record("max", y, {x}, [s = x.shape(), idx, d, keepdim](const Tensor& g) {
    // one_hot(idx) along d, times g.
    Tensor hot = ops::one_hot(idx.squeeze(d), s[d], g.dtype());  // (.., size_d) with d last
    // hot has dims [others..., d]; move the last dim back to position d.
    std::vector<int64_t> order;
    for (int64_t k = 0; k < static_cast<int64_t>(s.size()); ++k)
      order.push_back(k < d ? k : (k == d ? static_cast<int64_t>(s.size()) - 1 : k - 1));
    Tensor mask = hot.permute(order);
    return Grads{ops::mul(mask, keepdim_form(g, s, {d}, keepdim))};
  });
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) { return ops::argmax(x, dim, keepdim); }

// d var = g 2 (x - mean) / (count - correction)
Tensor var(const Tensor& x, const std::vector<int64_t>& dims, bool unbiased, bool keepdim) {
  const int64_t correction = unbiased ? 1 : 0;
  Tensor y = ops::var(x, dims, correction, keepdim);
  const double count = static_cast<double>(x.numel()) / static_cast<double>(std::max<int64_t>(1, y.numel()));
  return record("var", y, {x}, [x = x.detach(), dims, keepdim, count, correction](const Tensor& g) {
    Tensor centered = ops::sub(x, ops::mean(x, dims, true));
    Tensor scale = ops::mul_scalar(keepdim_form(g, x.shape(), dims, keepdim), 2.0 / (count - correction));
    return Grads{ops::mul(centered, scale)};
  });
}

// d softmax: y (g - sum(g y))
Tensor softmax(const Tensor& x, int64_t dim) {
  Tensor y = ops::softmax(x, dim);
  return record("softmax", y, {x}, [y = y.detach(), dim](const Tensor& g) { return Grads{ops::softmax_backward(g, y, dim)}; });
}

// d log_softmax: g - softmax(x) sum(g)
Tensor log_softmax(const Tensor& x, int64_t dim) {
  Tensor y = ops::log_softmax(x, dim);
  return record("log_softmax", y, {x},
                [y = y.detach(), dim](const Tensor& g) { return Grads{ops::log_softmax_backward(g, y, dim)}; });
}

}  // namespace loom
