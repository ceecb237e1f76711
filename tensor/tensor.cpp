// tensor.cpp: Tensor metadata, factories, in-place fill/copy, element access
// and printing. Views and autograd live in autograd/ (see tensor.h).
#include "tensor/tensor.h"

#include <cmath>
#include <cstring>
#include <iomanip>
#include <sstream>

#include "tensor/copy.h"
#include "tensor/cuda_runtime.h"
#include "tensor/strided_loop.h"

namespace loom {

namespace {

std::shared_ptr<TensorImpl> make_impl(const Shape& shape, DType dtype, Device device) {
  for (int64_t s : shape) LOOM_CHECK(s >= 0, "Tensor::empty: negative size in shape ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(numel_of(shape) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return impl;
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) { return Tensor(make_impl(shape, dtype, device)); }

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

Tensor Tensor::arange(int64_t n, DType dtype, Device device) {
  Tensor t = empty({n}, dtype, Device::cpu());
  LOOM_DISPATCH_ALL(dtype, "arange", [&] {
    scalar_t* p = t.data<scalar_t>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<scalar_t>(i);
  });
  return device.is_cpu() ? t : t.to(device);
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  LOOM_CHECK(static_cast<int64_t>(values.size()) == numel_of(shape), "Tensor::from_vector: ", values.size(),
             " values do not fill shape ", shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>(), Device::cpu());
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}
template Tensor Tensor::from_vector<float>(const std::vector<float>&, const Shape&);
template Tensor Tensor::from_vector<double>(const std::vector<double>&, const Shape&);
template Tensor Tensor::from_vector<int64_t>(const std::vector<int64_t>&, const Shape&);
template Tensor Tensor::from_vector<uint8_t>(const std::vector<uint8_t>&, const Shape&);

int64_t Tensor::size(int64_t d) const { return shape()[normalize_dim(d, dim(), "Tensor::size")]; }
int64_t Tensor::stride(int64_t d) const { return strides()[normalize_dim(d, dim(), "Tensor::stride")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    if (shape()[d] == 1) continue;
    if (strides()[d] != expected) return false;
    expected *= shape()[d];
  }
  return true;
}

void* Tensor::raw_data() const {
  return static_cast<char*>(impl().storage->data()) + impl().offset * static_cast<int64_t>(dtype_size(dtype()));
}

Tensor Tensor::alias(const Shape& shape, const Shape& strides, int64_t offset) const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = this->impl().storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = dtype();
  return Tensor(impl);
}

namespace {
// Writing through a stride-0 dim would store several elements in one place,
// and from several threads at once: refuse it, as PyTorch does.
void check_writable(const Tensor& t, const char* op) {
  for (int64_t d = 0; d < t.dim(); ++d)
    LOOM_CHECK(t.strides()[d] != 0 || t.shape()[d] <= 1, op, ": the destination (shape ", shape_str(t.shape()),
               ") is an expanded view (dim ", d, " has stride 0): several elements share one memory location; ",
               "write to a contiguous tensor (e.g. clone()) instead");
}
}  // namespace

Tensor& Tensor::fill_(double value) {
  check_writable(*this, "fill_");
  if (device().is_cuda()) {
    if (numel() > 0)
      cuda_rt::fill_device(raw_data(), strides().data(), shape().data(), static_cast<int>(dim()),
                           static_cast<int>(dtype()), value, device().index);
    return *this;
  }
  LOOM_DISPATCH_ALL(dtype(), "fill_", [&] {
    scalar_t* p = data<scalar_t>();
    const scalar_t v = static_cast<scalar_t>(value);
    strided_for_each<1>(shape(), {strides()},
                        [&](const std::array<int64_t, 1>& off, int64_t n, const std::array<int64_t, 1>& step) {
                          for (int64_t i = 0; i < n; ++i) p[off[0] + i * step[0]] = v;
                        });
  });
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  Shape b = broadcast_shapes(shape(), src.shape(), "copy_");
  LOOM_CHECK(b == shape(), "copy_: source shape ", shape_str(src.shape()), " cannot be broadcast to ",
             shape_str(shape()));
  check_writable(*this, "copy_");
  Tensor s = src;
  if (src.storage() == storage()) {
    // Source and destination share memory (x.copy_(x.t()), say): read it all
    // into a temporary first, so no element is overwritten before it is read.
    Tensor tmp = Tensor::empty(src.shape(), src.dtype(), src.device());
    strided_copy(tmp, src);
    s = tmp;
  }
  if (s.shape() != shape()) {  // broadcast: stride 0 along expanded dims
    Shape st(dim(), 0);
    const int64_t lead = dim() - s.dim();
    for (int64_t d = 0; d < s.dim(); ++d) st[lead + d] = s.shape()[d] == 1 ? 0 : s.strides()[d];
    s = s.alias(shape(), st, s.offset());
  }
  // Same device or not, strided_copy handles it (tensor/copy.cpp stages cross-device copies).
  strided_copy(*this, s);
  return *this;
}

double Tensor::item() const {
  LOOM_CHECK(numel() == 1, "item: tensor has ", numel(), " elements (shape ", shape_str(shape()),
             "), expected exactly one");
  return to_vector<double>()[0];
}

double Tensor::at(const std::vector<int64_t>& index) const {
  LOOM_CHECK(static_cast<int64_t>(index.size()) == dim(), "at: index has ", index.size(),
             " entries for a tensor of shape ", shape_str(shape()));
  int64_t off = offset();
  for (int64_t d = 0; d < dim(); ++d) {
    LOOM_CHECK(index[d] >= 0 && index[d] < shape()[d], "at: index ", index[d], " out of range for dim ", d,
               " of shape ", shape_str(shape()));
    off += index[d] * strides()[d];
  }
  return alias({}, {}, off).item();
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor src = device().is_cpu() ? *this : contiguous().to(Device::cpu());
  Tensor dense = Tensor::empty(shape(), dtype_of<T>(), Device::cpu());
  strided_copy(dense, src);
  const T* p = dense.data<T>();
  return std::vector<T>(p, p + numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;

// ---- printing: nested brackets, at most 3 leading and 3 trailing entries per dim.
namespace {

void print_rec(std::ostream& os, const std::vector<double>& v, const Shape& shape, const Shape& strides,
               size_t d, int64_t base, bool is_float, int indent) {
  constexpr int64_t kEdge = 3;
  if (d == shape.size()) {
    if (is_float)
      os << std::setw(10) << std::setprecision(4) << std::fixed << v[base];
    else
      os << static_cast<int64_t>(v[base]);
    return;
  }
  os << "[";
  const int64_t n = shape[d];
  for (int64_t i = 0; i < n; ++i) {
    if (n > 2 * kEdge && i == kEdge) {
      os << (d + 1 == shape.size() ? " ...," : "\n" + std::string(indent + 1, ' ') + "...,");
      i = n - kEdge;
    }
    if (i > 0 && !(n > 2 * kEdge && i == n - kEdge))
      os << (d + 1 == shape.size() ? "," : ",\n" + std::string(indent + 1, ' '));
    else if (i > 0)
      os << (d + 1 == shape.size() ? "" : "\n" + std::string(indent + 1, ' '));
    print_rec(os, v, shape, strides, d + 1, base + i * strides[d], is_float, indent + 1);
  }
  os << "]";
}

}  // namespace

std::string Tensor::to_string() const {
  if (!defined()) return "tensor(undefined)";
  std::ostringstream os;
  std::vector<double> v = to_vector<double>();
  os << "tensor(";
  print_rec(os, v, shape(), contiguous_strides(shape()), 0, 0, is_floating(dtype()), 7);
  os << ", shape=" << shape_str(shape()) << ", dtype=" << dtype_name(dtype());
  if (!device().is_cpu()) os << ", device=" << device().str();
  if (requires_grad()) os << ", requires_grad";
  os << ")";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

void check_shape(const Tensor& t, const Shape& expected, const char* op, const char* what) {
  LOOM_CHECK(t.defined(), op, ": ", what, " is undefined");
  LOOM_CHECK(t.shape() == expected, op, ": ", what, " has shape ", shape_str(t.shape()), ", expected ",
             shape_str(expected));
}

void check_same_dtype_device(const Tensor& a, const Tensor& b, const char* op) {
  LOOM_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch: ", dtype_name(a.dtype()), " (shape ",
             shape_str(a.shape()), ") vs ", dtype_name(b.dtype()), " (shape ", shape_str(b.shape()), ")");
  LOOM_CHECK(a.device() == b.device(), op, ": device mismatch: ", a.device().str(), " vs ", b.device().str());
}

}  // namespace loom
