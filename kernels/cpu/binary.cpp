// binary.cpp: elementwise maps of two tensors with NumPy broadcasting (add,
// sub, mul, div, maximum, minimum, comparisons), scalar variants and where.
#include <cmath>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_util.h"
#include "tensor/strided_loop.h"

namespace loom::cpu {

namespace {

// out[i] = f(a[i], b[i]) over the broadcast shape; Out is the result type
// (scalar_t for arithmetic, uint8_t for comparisons).
template <class Out, class T, class F>
Tensor broadcast_map(const Tensor& a, const Tensor& b, const Shape& shape, DType out_dtype, F f) {
  Tensor out = Tensor::empty(shape, out_dtype);
  Out* o = out.data<Out>();
  const T* ap = a.data<T>();
  const T* bp = b.data<T>();
  strided_for_each<3>(shape, {out.strides(), broadcast_strides(a, shape), broadcast_strides(b, shape)},
                      [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& s) {
                        Out* oo = o + off[0];
                        const T* aa = ap + off[1];
                        const T* bb = bp + off[2];
                        if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
                          for (int64_t i = 0; i < n; ++i) oo[i] = f(aa[i], bb[i]);
                        } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {
                          const T bv = bb[0];
                          for (int64_t i = 0; i < n; ++i) oo[i] = f(aa[i], bv);
                        } else {
                          for (int64_t i = 0; i < n; ++i) oo[i * s[0]] = f(aa[i * s[1]], bb[i * s[2]]);
                        }
                      });
  return out;
}

template <class F>
Tensor arith(const Tensor& a, const Tensor& b, const char* op, F f) {
  check_float(a, op, "first input");
  check_float(b, op, "second input");
  check_same_dtype_device(a, b, op);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  return LOOM_DISPATCH_FLOATING(a.dtype(), op,
                                [&] { return broadcast_map<scalar_t, scalar_t>(a, b, shape, a.dtype(), f); });
}

template <class F>
Tensor compare(const Tensor& a, const Tensor& b, const char* op, F f) {
  check_same_dtype_device(a, b, op);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  return LOOM_DISPATCH_ALL(a.dtype(), op, [&] {
    return broadcast_map<uint8_t, scalar_t>(a, b, shape, DType::UInt8,
                                            [&](scalar_t x, scalar_t y) { return static_cast<uint8_t>(f(x, y)); });
  });
}

// A 0-dim tensor of x's dtype holding s, so scalar ops reuse the broadcast loop.
Tensor scalar_like(const Tensor& x, double s) { return Tensor::scalar(s, x.dtype()); }

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return arith(a, b, "add", [](auto x, auto y) { return x + y; }); }
Tensor sub(const Tensor& a, const Tensor& b) { return arith(a, b, "sub", [](auto x, auto y) { return x - y; }); }
Tensor mul(const Tensor& a, const Tensor& b) { return arith(a, b, "mul", [](auto x, auto y) { return x * y; }); }
Tensor div(const Tensor& a, const Tensor& b) { return arith(a, b, "div", [](auto x, auto y) { return x / y; }); }
// NaN propagates, as in torch.maximum.
Tensor maximum(const Tensor& a, const Tensor& b) {
  return arith(a, b, "maximum", [](auto x, auto y) { return (std::isnan(x) || x > y) ? x : y; });
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return arith(a, b, "minimum", [](auto x, auto y) { return (std::isnan(x) || x < y) ? x : y; });
}

Tensor eq(const Tensor& a, const Tensor& b) { return compare(a, b, "eq", [](auto x, auto y) { return x == y; }); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(a, b, "ne", [](auto x, auto y) { return x != y; }); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(a, b, "lt", [](auto x, auto y) { return x < y; }); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(a, b, "le", [](auto x, auto y) { return x <= y; }); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(a, b, "gt", [](auto x, auto y) { return x > y; }); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(a, b, "ge", [](auto x, auto y) { return x >= y; }); }

Tensor add_scalar(const Tensor& x, double s) { return add(x, scalar_like(x, s)); }
Tensor mul_scalar(const Tensor& x, double s) { return mul(x, scalar_like(x, s)); }
Tensor rsub_scalar(const Tensor& x, double s) { return sub(scalar_like(x, s), x); }
Tensor rdiv_scalar(const Tensor& x, double s) { return div(scalar_like(x, s), x); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  LOOM_CHECK(cond.dtype() == DType::UInt8, "where: condition must be uint8, got ", dtype_name(cond.dtype()));
  check_same_dtype_device(a, b, "where");
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  return LOOM_DISPATCH_ALL(a.dtype(), "where", [&] {
    Tensor out = Tensor::empty(shape, a.dtype());
    scalar_t* o = out.data<scalar_t>();
    const uint8_t* c = cond.data<uint8_t>();
    const scalar_t* ap = a.data<scalar_t>();
    const scalar_t* bp = b.data<scalar_t>();
    strided_for_each<4>(
        shape, {out.strides(), broadcast_strides(cond, shape), broadcast_strides(a, shape), broadcast_strides(b, shape)},
        [&](const std::array<int64_t, 4>& off, int64_t n, const std::array<int64_t, 4>& s) {
          for (int64_t i = 0; i < n; ++i)
            o[off[0] + i * s[0]] = c[off[1] + i * s[1]] ? ap[off[2] + i * s[2]] : bp[off[3] + i * s[3]];
        });
    return out;
  });
}

}  // namespace loom::cpu
