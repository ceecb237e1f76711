// binary.cu: elementwise maps of two tensors with NumPy broadcasting (add,
// sub, mul, div, maximum, minimum), comparisons (uint8 results, any dtype),
// the scalar variants and where(cond, a, b), on CUDA. Same math as
// kernels/cpu/binary.cpp (the oracle), one functor per op, run by the generic
// kernels of elementwise.cuh:
//   v1 map_v1_strided    grid-stride loop; each operand read through its
//                        broadcast strides (stride 0 on expanded dims): any view;
//   v2 map_v2_vectorized every operand dense, of the output's shape and 16-byte
//                        aligned: float4 / double2 loads (uchar4 etc. for the
//                        narrower uint8 operands), scalar tail.
// The default is v2 wherever it applies (launch_map decides), v1 otherwise.
// The scalar variants are one-input maps with the scalar in the functor, so a
// dense x always takes v2.
#include <cmath>

#include "kernels/cuda/cuda.h"
#include "kernels/cuda/elementwise.cuh"

namespace loom::cuda {

namespace {

using elementwise::map_to_new;

// out = f(a, b) over the broadcast shape, for float32/float64 a and b.
template <class F>
Tensor arith(const Tensor& a, const Tensor& b, const char* op, F f) {
  check_float_cuda(a, op, "first input");
  check_float_cuda(b, op, "second input");
  check_same_dtype_device(a, b, op);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  return LOOM_DISPATCH_FLOATING(a.dtype(), op, [&] {
    const Tensor* in[2] = {&a, &b};
    return map_to_new<scalar_t, scalar_t, scalar_t, scalar_t>(op, shape, a.dtype(), in, f);
  });
}

// uint8 out = f(a, b) over the broadcast shape, a and b of one (any) dtype.
template <class F>
Tensor compare(const Tensor& a, const Tensor& b, const char* op, F f) {
  check_same_dtype_device(a, b, op);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  return LOOM_DISPATCH_ALL(a.dtype(), op, [&] {
    const Tensor* in[2] = {&a, &b};
    return map_to_new<uint8_t, scalar_t, scalar_t, scalar_t>(op, shape, DType::UInt8, in, f);
  });
}

// out = f(x) for the scalar variants (the scalar lives in f); `op` and
// `which` name the binary op and the input x stands for, as the CPU's errors do.
template <class F>
Tensor scalar_map(const Tensor& x, const char* op, const char* which, F f) {
  check_float_cuda(x, op, which);
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    const Tensor* in[1] = {&x};
    return map_to_new<scalar_t, scalar_t, scalar_t, scalar_t>(op, x.shape(), x.dtype(), in, f);
  });
}

// ---- arithmetic ----
struct AddOp {
  template <class T> __device__ T operator()(T x, T y) const { return x + y; }
};
struct SubOp {
  template <class T> __device__ T operator()(T x, T y) const { return x - y; }
};
struct MulOp {
  template <class T> __device__ T operator()(T x, T y) const { return x * y; }
};
struct DivOp {
  template <class T> __device__ T operator()(T x, T y) const { return x / y; }
};
// NaN propagates (from either side), as in torch.maximum and the CPU.
struct MaximumOp {
  template <class T> __device__ T operator()(T x, T y) const { return (isnan(x) || x > y) ? x : y; }
};
struct MinimumOp {
  template <class T> __device__ T operator()(T x, T y) const { return (isnan(x) || x < y) ? x : y; }
};

// ---- comparisons: 1 true, 0 false ----
struct EqOp {
  template <class T> __device__ uint8_t operator()(T x, T y) const { return static_cast<uint8_t>(x == y); }
};
struct NeOp {
  template <class T> __device__ uint8_t operator()(T x, T y) const { return static_cast<uint8_t>(x != y); }
};
struct LtOp {
  template <class T> __device__ uint8_t operator()(T x, T y) const { return static_cast<uint8_t>(x < y); }
};
struct LeOp {
  template <class T> __device__ uint8_t operator()(T x, T y) const { return static_cast<uint8_t>(x <= y); }
};
struct GtOp {
  template <class T> __device__ uint8_t operator()(T x, T y) const { return static_cast<uint8_t>(x > y); }
};
struct GeOp {
  template <class T> __device__ uint8_t operator()(T x, T y) const { return static_cast<uint8_t>(x >= y); }
};

// ---- scalar variants: the scalar is converted to T first, as the CPU's 0-dim tensor holds it ----
struct AddScalarOp {  // x + s
  double s;
  template <class T> __device__ T operator()(T x) const { return x + static_cast<T>(s); }
};
struct MulScalarOp {  // x * s
  double s;
  template <class T> __device__ T operator()(T x) const { return x * static_cast<T>(s); }
};
struct RsubScalarOp {  // s - x
  double s;
  template <class T> __device__ T operator()(T x) const { return static_cast<T>(s) - x; }
};
struct RdivScalarOp {  // s / x
  double s;
  template <class T> __device__ T operator()(T x) const { return static_cast<T>(s) / x; }
};

// cond ? a : b (cond uint8, nonzero is true)
struct WhereOp {
  template <class T> __device__ T operator()(uint8_t c, T a, T b) const { return c ? a : b; }
};

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return arith(a, b, "add", AddOp{}); }
Tensor sub(const Tensor& a, const Tensor& b) { return arith(a, b, "sub", SubOp{}); }
Tensor mul(const Tensor& a, const Tensor& b) { return arith(a, b, "mul", MulOp{}); }
Tensor div(const Tensor& a, const Tensor& b) { return arith(a, b, "div", DivOp{}); }
Tensor maximum(const Tensor& a, const Tensor& b) { return arith(a, b, "maximum", MaximumOp{}); }
Tensor minimum(const Tensor& a, const Tensor& b) { return arith(a, b, "minimum", MinimumOp{}); }

Tensor eq(const Tensor& a, const Tensor& b) { return compare(a, b, "eq", EqOp{}); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(a, b, "ne", NeOp{}); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(a, b, "lt", LtOp{}); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(a, b, "le", LeOp{}); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(a, b, "gt", GtOp{}); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(a, b, "ge", GeOp{}); }

Tensor add_scalar(const Tensor& x, double s) { return scalar_map(x, "add", "first input", AddScalarOp{s}); }
Tensor mul_scalar(const Tensor& x, double s) { return scalar_map(x, "mul", "first input", MulScalarOp{s}); }
Tensor rsub_scalar(const Tensor& x, double s) { return scalar_map(x, "sub", "second input", RsubScalarOp{s}); }
Tensor rdiv_scalar(const Tensor& x, double s) { return scalar_map(x, "div", "second input", RdivScalarOp{s}); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  LOOM_CHECK(cond.dtype() == DType::UInt8, "where: condition must be uint8, got ", dtype_name(cond.dtype()));
  check_same_dtype_device(a, b, "where");
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  return LOOM_DISPATCH_ALL(a.dtype(), "where", [&] {
    const Tensor* in[3] = {&cond, &a, &b};
    return map_to_new<scalar_t, uint8_t, scalar_t, scalar_t>("where", shape, a.dtype(), in, WhereOp{});
  });
}

}  // namespace loom::cuda
