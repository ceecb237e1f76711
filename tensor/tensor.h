// tensor.h: loom's Tensor: small metadata (shape, strides in elements, offset,
// dtype) over a shared Storage, plus the autograd fields (requires_grad, grad,
// grad_fn). Copying a Tensor copies a handle: both refer to the same data.
//
// Where each part is implemented:
//   tensor/tensor.cpp     metadata, factories, fill_/copy_, item, printing
//   tensor/copy.cpp       strided copy with dtype conversion (contiguous() uses it)
//   autograd/views.cpp    the differentiable views and conversions (reshape,
//                         permute, slice, expand, contiguous, to, ...), so that a
//                         view of a tensor that requires grad is on the tape
//   autograd/engine.cpp   backward()
#pragma once
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

namespace loom {

namespace autograd {
struct Node;
}

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;  // in elements
  int64_t offset = 0;  // in elements, from the start of storage
  DType dtype = DType::Float32;

  // Autograd. A leaf has requires_grad and no grad_fn; a result of a recorded
  // op has grad_fn. grad is accumulated into leaves by backward().
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<autograd::Node> grad_fn;
};

class Tensor {
 public:
  Tensor() = default;  // undefined tensor
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories ---------------------------------------------------------
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::Float32, Device device = Device::cpu());
  // A 0-dim tensor holding `value`.
  static Tensor scalar(double value, DType dtype = DType::Float32, Device device = Device::cpu());
  // 0, 1, ..., n-1
  static Tensor arange(int64_t n, DType dtype = DType::Float32, Device device = Device::cpu());
  // Copies `values` (row-major) into a new CPU tensor of `shape`.
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);

  // ---- metadata ----------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t offset() const { return impl().offset; }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t stride(int64_t d) const;
  int64_t numel() const { return numel_of(impl().shape); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return impl().storage; }
  // True when both handles refer to the same TensorImpl.
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // Pointer to the first element; checks that T matches the dtype.
  template <class T>
  T* data() const {
    LOOM_CHECK(dtype_of<T>() == dtype(), "Tensor::data: tensor is ", dtype_name(dtype()),
               ", asked for ", dtype_name(dtype_of<T>()));
    return static_cast<T*>(raw_data());
  }
  void* raw_data() const;

  // A new TensorImpl over the same storage with the given geometry. Not recorded
  // by autograd: the building block of the differentiable views.
  Tensor alias(const Shape& shape, const Shape& strides, int64_t offset) const;

  // ---- differentiable views and conversions (autograd/views.cpp) ----------
  Tensor view(const Shape& shape) const;     // requires compatible strides; -1 infers one dim
  Tensor reshape(const Shape& shape) const;  // a view when possible, else a copy
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  // Elements start, start+step, ... below end along dim (end clamped to the size).
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor select(int64_t dim, int64_t index) const;  // removes dim
  Tensor expand(const Shape& shape) const;           // broadcast with stride 0
  Tensor squeeze(int64_t dim) const;
  Tensor squeeze() const;  // all size-1 dims
  Tensor unsqueeze(int64_t dim) const;
  Tensor contiguous() const;  // itself when already contiguous
  Tensor clone() const;       // always a fresh contiguous copy
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;

  // ---- in-place, not recorded by autograd (tensor/tensor.cpp) -------------
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  // Copies src (broadcast to this shape, converted to this dtype) into this.
  Tensor& copy_(const Tensor& src);

  // ---- reading values ---------------------------------------------------
  double item() const;  // the single element, as double
  double at(const std::vector<int64_t>& index) const;
  template <class T>
  std::vector<T> to_vector() const;  // row-major copy on the CPU, converted to T

  // ---- autograd (autograd/engine.cpp) -------------------------------------
  bool requires_grad() const { return impl().requires_grad; }
  // Marks a leaf as requiring grad. Throws on a non-leaf.
  Tensor& requires_grad_(bool value = true);
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  // The accumulated gradient (undefined until backward reaches this leaf).
  Tensor grad() const;
  void set_grad(const Tensor& g);
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl().grad_fn; }
  // A tensor sharing this data with no history and requires_grad false.
  Tensor detach() const;
  // Backpropagates from this tensor. A scalar (numel 1) may omit `gradient`;
  // otherwise `gradient` must have this shape. The graph is freed afterwards
  // unless retain_graph.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;

  // ---- printing -----------------------------------------------------------
  std::string to_string() const;

  TensorImpl& impl() const {
    LOOM_CHECK(impl_ != nullptr, "Tensor: use of an undefined tensor");
    return *impl_;
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Throws naming `op` unless t is defined and has the expected shape.
void check_shape(const Tensor& t, const Shape& expected, const char* op, const char* what);
// Throws naming `op` unless a and b share dtype and device.
void check_same_dtype_device(const Tensor& a, const Tensor& b, const char* op);

}  // namespace loom
