// views.cpp: the differentiable Tensor view methods and conversions. A view
// shares storage with its input; its gradient maps d output back to d input:
//   reshape/view/squeeze/unsqueeze/flatten: reshape the gradient back
//   permute/transpose:                       permute it by the inverse
//   slice/narrow/select:                     scatter it into zeros of the input shape
//   expand:                                  sum it over the broadcast dims (sum_to)
//   contiguous/clone/to(device)/to(dtype):   pass it through (converted back)
#include <algorithm>
#include <numeric>
#include <optional>

#include "autograd/functions.h"
#include "autograd/node.h"
#include "tensor/copy.h"

namespace loom {

using autograd::record;

namespace {

// Strides for viewing (shape, strides) as new_shape without copying, or empty
// when impossible. Dims of the old shape are grouped into runs that are
// contiguous in memory; each run must map onto whole dims of the new shape.
std::optional<Shape> view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape) {
  if (numel_of(shape) == 0 || shape.empty()) return contiguous_strides(new_shape);
  if (strides == contiguous_strides(shape)) return contiguous_strides(new_shape);
  Shape out(new_shape.size());
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    // End of a contiguous chunk: the next (outer) dim does not continue it.
    if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Shape infer_shape(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      LOOM_CHECK(infer < 0, op, ": only one dim can be -1 in ", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      LOOM_CHECK(out[i] >= 0, op, ": invalid size in ", shape_str(shape));
      known *= out[i];
    }
  }
  if (infer >= 0) {
    LOOM_CHECK(known > 0 && numel % known == 0, op, ": cannot infer -1 in ", shape_str(shape), " for ", numel,
               " elements");
    out[infer] = numel / known;
  }
  LOOM_CHECK(numel_of(out) == numel, op, ": shape ", shape_str(shape), " is invalid for ", numel, " elements");
  return out;
}

// Records a shape-only view whose gradient is reshaped back to the input shape.
Tensor reshaped_view(const Tensor& x, const Shape& shape, const Shape& strides, const char* name) {
  Tensor out = x.alias(shape, strides, x.offset());
  const Shape in_shape = x.shape();
  return record(name, out, {x}, [in_shape](const Tensor& g) { return std::vector<Tensor>{g.reshape(in_shape)}; });
}

}  // namespace

Tensor Tensor::view(const Shape& shape_in) const {
  const Shape shape = infer_shape(shape_in, numel(), "view");
  auto st = view_strides(this->shape(), strides(), shape);
  LOOM_CHECK(st.has_value(), "view: a tensor of shape ", shape_str(this->shape()), " and strides ",
             shape_str(strides()), " cannot be viewed as ", shape_str(shape), "; use reshape() (which copies)");
  return reshaped_view(*this, shape, *st, "view");
}

Tensor Tensor::reshape(const Shape& shape_in) const {
  const Shape shape = infer_shape(shape_in, numel(), "reshape");
  if (auto st = view_strides(this->shape(), strides(), shape)) return reshaped_view(*this, shape, *st, "reshape");
  return contiguous().view(shape);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  const int64_t s = normalize_dim(start_dim, dim(), "flatten"), e = normalize_dim(end_dim, dim(), "flatten");
  LOOM_CHECK(s <= e, "flatten: start_dim ", start_dim, " is after end_dim ", end_dim);
  Shape out(shape().begin(), shape().begin() + s);
  int64_t n = 1;
  for (int64_t d = s; d <= e; ++d) n *= shape()[d];
  out.push_back(n);
  out.insert(out.end(), shape().begin() + e + 1, shape().end());
  return reshape(out);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  LOOM_CHECK(static_cast<int64_t>(dims.size()) == dim(), "permute: got ", dims.size(), " dims for a tensor of shape ",
             shape_str(shape()));
  std::vector<int64_t> perm(dims.size()), inverse(dims.size(), -1);
  Shape sh(dims.size()), st(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    perm[i] = normalize_dim(dims[i], dim(), "permute");
    LOOM_CHECK(inverse[perm[i]] < 0, "permute: dim ", dims[i], " repeated");
    inverse[perm[i]] = static_cast<int64_t>(i);
    sh[i] = shape()[perm[i]];
    st[i] = strides()[perm[i]];
  }
  Tensor out = alias(sh, st, offset());
  return record("permute", out, {*this}, [inverse](const Tensor& g) { return std::vector<Tensor>{g.permute(inverse)}; });
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  std::vector<int64_t> perm(dim());
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[normalize_dim(d0, dim(), "transpose")], perm[normalize_dim(d1, dim(), "transpose")]);
  return permute(perm);
}

Tensor Tensor::slice(int64_t d_in, int64_t start, int64_t end, int64_t step) const {
  const int64_t d = normalize_dim(d_in, dim(), "slice");
  LOOM_CHECK(step > 0, "slice: step must be positive, got ", step);
  const int64_t n = shape()[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape sh = shape(), st = strides();
  sh[d] = end > start ? (end - start - 1) / step + 1 : 0;  // ceil((end - start) / step), no overflow
  st[d] = strides()[d] * step;
  Tensor out = alias(sh, st, offset() + start * strides()[d]);
  const Shape in_shape = shape();
  const DType dt = dtype();
  const Device dev = device();
  return record("slice", out, {*this}, [=](const Tensor& g) {
    Tensor gx = Tensor::zeros(in_shape, dt, dev);
    gx.slice(d, start, end, step).copy_(g);
    return std::vector<Tensor>{gx};
  });
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  const int64_t k = normalize_dim(d, dim(), "narrow");
  LOOM_CHECK(start >= 0 && length >= 0 && start + length <= shape()[k], "narrow: [", start, ", ", start + length,
             ") is outside dim ", d, " of size ", shape()[k]);
  return slice(k, start, start + length);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  const int64_t k = normalize_dim(d, dim(), "select");
  LOOM_CHECK(index >= -shape()[k] && index < shape()[k], "select: index ", index, " out of range for dim ", d,
             " of size ", shape()[k]);
  if (index < 0) index += shape()[k];
  return slice(k, index, index + 1).squeeze(k);
}

Tensor Tensor::expand(const Shape& shape_in) const {
  LOOM_CHECK(shape_in.size() >= shape().size(), "expand: cannot expand shape ", shape_str(shape()), " to ",
             shape_str(shape_in));
  const size_t lead = shape_in.size() - shape().size();
  Shape sh(shape_in.size()), st(shape_in.size(), 0);
  for (size_t i = 0; i < shape_in.size(); ++i) {
    if (i < lead) {
      LOOM_CHECK(shape_in[i] >= 0, "expand: new leading dims need explicit sizes in ", shape_str(shape_in));
      sh[i] = shape_in[i];
      continue;
    }
    const int64_t cur = shape()[i - lead];
    const int64_t want = shape_in[i] == -1 ? cur : shape_in[i];
    LOOM_CHECK(want >= 0, "expand: invalid size ", shape_in[i], " in ", shape_str(shape_in));
    LOOM_CHECK(cur == want || cur == 1, "expand: cannot expand shape ", shape_str(shape()), " to ",
               shape_str(shape_in), " (dim ", i, ")");
    sh[i] = want;
    st[i] = cur == want ? strides()[i - lead] : 0;
  }
  Tensor out = alias(sh, st, offset());
  const Shape in_shape = shape();
  return record("expand", out, {*this}, [in_shape](const Tensor& g) { return std::vector<Tensor>{sum_to(g, in_shape)}; });
}

Tensor Tensor::squeeze(int64_t d) const {
  const int64_t k = normalize_dim(d, dim(), "squeeze");
  if (shape()[k] != 1) return reshaped_view(*this, shape(), strides(), "squeeze");
  Shape sh = shape(), st = strides();
  sh.erase(sh.begin() + k);
  st.erase(st.begin() + k);
  return reshaped_view(*this, sh, st, "squeeze");
}

Tensor Tensor::squeeze() const {
  Shape sh, st;
  for (int64_t d = 0; d < dim(); ++d)
    if (shape()[d] != 1) {
      sh.push_back(shape()[d]);
      st.push_back(strides()[d]);
    }
  return reshaped_view(*this, sh, st, "squeeze");
}

Tensor Tensor::unsqueeze(int64_t d) const {
  const int64_t k = normalize_dim(d, dim() + 1, "unsqueeze");
  Shape sh = shape(), st = strides();
  const int64_t inner = k < dim() ? strides()[k] * shape()[k] : 1;
  sh.insert(sh.begin() + k, 1);
  st.insert(st.begin() + k, inner);
  return reshaped_view(*this, sh, st, "unsqueeze");
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const {
  Tensor out = Tensor::empty(shape(), dtype(), device());
  out.copy_(*this);
  return record("clone", out, {*this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

Tensor Tensor::to(Device target) const {
  if (target == device()) return *this;
  Tensor src = device().is_cpu() ? *this : contiguous();
  Tensor out = Tensor::empty(shape(), dtype(), target);
  out.copy_(src);
  const Device back = device();
  return record("to_device", out, {*this}, [back](const Tensor& g) { return std::vector<Tensor>{g.to(back)}; });
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = Tensor::empty(shape(), target, device());
  out.copy_(*this);
  const DType back = dtype();
  if (!is_floating(target)) return out;  // integer results carry no gradient
  return record("to_dtype", out, {*this}, [back](const Tensor& g) { return std::vector<Tensor>{g.to(back)}; });
}

}  // namespace loom
