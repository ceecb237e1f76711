// unary.cpp: elementwise maps of one tensor (neg, exp, ..., clamp) and the
// fused backward rules of the activations. One generic loop, map_unary /
// map_binary_same_shape, does the striding; each op is one line of math.
#include <cmath>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_util.h"
#include "kernels/elementwise_checks.h"
#include "tensor/copy.h"
#include "tensor/strided_loop.h"

namespace loom::cpu {

Tensor raw_contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x.detach();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  strided_copy(out, x);
  return out;
}

namespace {

// out[i] = f(x[i])
template <class F>
Tensor map_unary(const Tensor& x, const char* op, F f) {
  check_float(x, op);
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor out = Tensor::empty(x.shape(), x.dtype());
    scalar_t* o = out.data<scalar_t>();
    const scalar_t* p = x.data<scalar_t>();
    strided_for_each<2>(x.shape(), {out.strides(), x.strides()},
                        [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& step) {
                          scalar_t* oo = o + off[0];
                          const scalar_t* pp = p + off[1];
                          if (step[0] == 1 && step[1] == 1) {
                            for (int64_t i = 0; i < n; ++i) oo[i] = f(pp[i]);
                          } else {
                            for (int64_t i = 0; i < n; ++i) oo[i * step[0]] = f(pp[i * step[1]]);
                          }
                        });
    return out;
  });
}

// out[i] = f(g[i], x[i]) for two tensors of one shape (backward rules).
template <class F>
Tensor map_pair(const Tensor& g, const Tensor& x, const char* op, F f) {
  check_float(g, op, "grad");
  check_float(x, op);
  check_same_dtype_device(g, x, op);
  check_grad_shape(g, x, op);
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor out = Tensor::empty(x.shape(), x.dtype());
    scalar_t* o = out.data<scalar_t>();
    const scalar_t* gp = g.data<scalar_t>();
    const scalar_t* xp = x.data<scalar_t>();
    strided_for_each<3>(x.shape(), {out.strides(), g.strides(), x.strides()},
                        [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& step) {
                          for (int64_t i = 0; i < n; ++i)
                            o[off[0] + i * step[0]] = f(gp[off[1] + i * step[1]], xp[off[2] + i * step[2]]);
                        });
    return out;
  });
}

}  // namespace

Tensor neg(const Tensor& x) { return map_unary(x, "neg", [](auto v) { return -v; }); }
Tensor exp(const Tensor& x) { return map_unary(x, "exp", [](auto v) { return std::exp(v); }); }
Tensor log(const Tensor& x) { return map_unary(x, "log", [](auto v) { return std::log(v); }); }
Tensor sqrt(const Tensor& x) { return map_unary(x, "sqrt", [](auto v) { return std::sqrt(v); }); }
Tensor tanh(const Tensor& x) { return map_unary(x, "tanh", [](auto v) { return std::tanh(v); }); }
Tensor abs(const Tensor& x) { return map_unary(x, "abs", [](auto v) { return std::abs(v); }); }

// sigmoid(v) = 1 / (1 + e^-v), written to avoid overflow for large |v|.
Tensor sigmoid(const Tensor& x) {
  return map_unary(x, "sigmoid", [](auto v) {
    using T = decltype(v);
    if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
    const T e = std::exp(v);
    return e / (T(1) + e);
  });
}

Tensor relu(const Tensor& x) {
  return map_unary(x, "relu", [](auto v) { return v > decltype(v)(0) ? v : decltype(v)(0); });
}

Tensor sign(const Tensor& x) {
  return map_unary(x, "sign", [](auto v) {
    using T = decltype(v);
    return v > T(0) ? T(1) : (v < T(0) ? T(-1) : T(0));
  });
}

Tensor leaky_relu(const Tensor& x, double slope) {
  return map_unary(x, "leaky_relu", [slope](auto v) {
    using T = decltype(v);
    return v > T(0) ? v : static_cast<T>(slope) * v;
  });
}

Tensor pow(const Tensor& x, double exponent) {
  return map_unary(x, "pow", [exponent](auto v) { return std::pow(v, static_cast<decltype(v)>(exponent)); });
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  LOOM_CHECK(!(lo > hi), "clamp: lower bound ", lo, " is above upper bound ", hi);
  return map_unary(x, "clamp", [lo, hi](auto v) {
    using T = decltype(v);
    if (std::isnan(v)) return v;
    return v < static_cast<T>(lo) ? static_cast<T>(lo) : (v > static_cast<T>(hi) ? static_cast<T>(hi) : v);
  });
}

// ---- backward rules -------------------------------------------------------
// d relu / dx = 1 where x > 0
Tensor relu_backward(const Tensor& grad, const Tensor& x) {
  return map_pair(grad, x, "relu_backward", [](auto g, auto v) { return v > decltype(v)(0) ? g : decltype(g)(0); });
}

// d leaky_relu / dx = 1 where x > 0, slope elsewhere
Tensor leaky_relu_backward(const Tensor& grad, const Tensor& x, double slope) {
  return map_pair(grad, x, "leaky_relu_backward", [slope](auto g, auto v) {
    using T = decltype(g);
    return v > T(0) ? g : static_cast<T>(slope) * g;
  });
}

// d clamp / dx = 1 where lo <= x <= hi (bounds included, as PyTorch)
Tensor clamp_backward(const Tensor& grad, const Tensor& x, double lo, double hi) {
  return map_pair(grad, x, "clamp_backward", [lo, hi](auto g, auto v) {
    using T = decltype(g);
    return (v >= static_cast<T>(lo) && v <= static_cast<T>(hi)) ? g : T(0);
  });
}

// d sigmoid / dx = y (1 - y), y = sigmoid(x)
Tensor sigmoid_backward(const Tensor& grad, const Tensor& y) {
  return map_pair(grad, y, "sigmoid_backward", [](auto g, auto s) { return g * s * (decltype(s)(1) - s); });
}

// d tanh / dx = 1 - y^2, y = tanh(x)
Tensor tanh_backward(const Tensor& grad, const Tensor& y) {
  return map_pair(grad, y, "tanh_backward", [](auto g, auto t) { return g * (decltype(t)(1) - t * t); });
}

// d x^e / dx = e x^(e-1)
Tensor pow_backward(const Tensor& grad, const Tensor& x, double exponent) {
  return map_pair(grad, x, "pow_backward", [exponent](auto g, auto v) {
    using T = decltype(g);
    if (exponent == 0.0) return T(0);
    return g * static_cast<T>(exponent) * std::pow(v, static_cast<T>(exponent - 1.0));
  });
}

}  // namespace loom::cpu
