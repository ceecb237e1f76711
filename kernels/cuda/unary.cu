// unary.cu: the elementwise maps of one tensor (neg, exp, log, sqrt, tanh,
// sigmoid, relu, abs, sign, leaky_relu, pow, clamp) and the fused backward
// rules of the activations, on CUDA. Each op is one functor with the math of
// kernels/cpu/unary.cpp (the oracle), run by the generic kernels of
// elementwise.cuh:
//   v1 map_v1_strided    grid-stride loop over a strided index space: any view;
//   v2 map_v2_vectorized dense and 16-byte aligned operands: float4 / double2
//                        loads and stores, scalar tail.
// The default is v2 wherever it applies (launch_map decides), v1 otherwise.
#include <cmath>

#include "kernels/cuda/cuda.h"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/elementwise_checks.h"

namespace loom::cuda {

namespace {

using elementwise::map_to_new;

// out[i] = f(x[i]) for a float32/float64 CUDA tensor x (any view).
template <class F>
Tensor map_unary(const Tensor& x, const char* op, F f) {
  check_float_cuda(x, op);
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    const Tensor* in[1] = {&x};
    return map_to_new<scalar_t, scalar_t, scalar_t, scalar_t>(op, x.shape(), x.dtype(), in, f);
  });
}

// out[i] = f(g[i], x[i]) for a gradient and an input of one shape (backward rules).
template <class F>
Tensor map_pair(const Tensor& g, const Tensor& x, const char* op, F f) {
  check_float_cuda(g, op, "grad");
  check_float_cuda(x, op);
  check_same_dtype_device(g, x, op);
  check_grad_shape(g, x, op);
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    const Tensor* in[2] = {&g, &x};
    return map_to_new<scalar_t, scalar_t, scalar_t, scalar_t>(op, x.shape(), x.dtype(), in, f);
  });
}

// ---- forward functors: one line of math each (T = float or double) ----
struct NegOp {
  template <class T> __device__ T operator()(T v) const { return -v; }
};
struct ExpOp {
  template <class T> __device__ T operator()(T v) const { return std::exp(v); }
};
struct LogOp {
  template <class T> __device__ T operator()(T v) const { return std::log(v); }
};
struct SqrtOp {
  template <class T> __device__ T operator()(T v) const { return std::sqrt(v); }
};
struct TanhOp {
  template <class T> __device__ T operator()(T v) const { return std::tanh(v); }
};
struct AbsOp {
  template <class T> __device__ T operator()(T v) const { return std::fabs(v); }
};
// sigmoid(v) = 1 / (1 + e^-v), written to avoid overflow for large |v|.
struct SigmoidOp {
  template <class T> __device__ T operator()(T v) const {
    if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
    const T e = std::exp(v);
    return e / (T(1) + e);
  }
};
// relu(NaN) = 0 as on the CPU (NaN > 0 is false).
struct ReluOp {
  template <class T> __device__ T operator()(T v) const { return v > T(0) ? v : T(0); }
};
// sign(0) = 0, sign(NaN) = 0 as on the CPU.
struct SignOp {
  template <class T> __device__ T operator()(T v) const { return v > T(0) ? T(1) : (v < T(0) ? T(-1) : T(0)); }
};
struct LeakyReluOp {
  double slope;
  template <class T> __device__ T operator()(T v) const { return v > T(0) ? v : static_cast<T>(slope) * v; }
};
struct PowOp {
  double exponent;
  template <class T> __device__ T operator()(T v) const { return std::pow(v, static_cast<T>(exponent)); }
};
// NaN stays NaN; bounds compared in T as on the CPU.
struct ClampOp {
  double lo, hi;
  template <class T> __device__ T operator()(T v) const {
    if (isnan(v)) return v;
    return v < static_cast<T>(lo) ? static_cast<T>(lo) : (v > static_cast<T>(hi) ? static_cast<T>(hi) : v);
  }
};

// ---- backward functors: f(grad, x or y) ----
// d relu / dx = 1 where x > 0
struct ReluBackwardOp {
  template <class T> __device__ T operator()(T g, T v) const { return v > T(0) ? g : T(0); }
};
// d leaky_relu / dx = 1 where x > 0, slope elsewhere
struct LeakyReluBackwardOp {
  double slope;
  template <class T> __device__ T operator()(T g, T v) const { return v > T(0) ? g : static_cast<T>(slope) * g; }
};
// d clamp / dx = 1 where lo <= x <= hi (bounds included, as PyTorch)
struct ClampBackwardOp {
  double lo, hi;
  template <class T> __device__ T operator()(T g, T v) const {
    return (v >= static_cast<T>(lo) && v <= static_cast<T>(hi)) ? g : T(0);
  }
};
// d sigmoid / dx = y (1 - y), y = sigmoid(x)
struct SigmoidBackwardOp {
  template <class T> __device__ T operator()(T g, T s) const { return g * s * (T(1) - s); }
};
// d tanh / dx = 1 - y^2, y = tanh(x)
struct TanhBackwardOp {
  template <class T> __device__ T operator()(T g, T t) const { return g * (T(1) - t * t); }
};
// d x^e / dx = e x^(e-1); 0 for e = 0
struct PowBackwardOp {
  double exponent;
  template <class T> __device__ T operator()(T g, T v) const {
    if (exponent == 0.0) return T(0);
    return g * static_cast<T>(exponent) * std::pow(v, static_cast<T>(exponent - 1.0));
  }
};

}  // namespace

Tensor neg(const Tensor& x) { return map_unary(x, "neg", NegOp{}); }
Tensor exp(const Tensor& x) { return map_unary(x, "exp", ExpOp{}); }
Tensor log(const Tensor& x) { return map_unary(x, "log", LogOp{}); }
Tensor sqrt(const Tensor& x) { return map_unary(x, "sqrt", SqrtOp{}); }
Tensor tanh(const Tensor& x) { return map_unary(x, "tanh", TanhOp{}); }
Tensor sigmoid(const Tensor& x) { return map_unary(x, "sigmoid", SigmoidOp{}); }
Tensor relu(const Tensor& x) { return map_unary(x, "relu", ReluOp{}); }
Tensor abs(const Tensor& x) { return map_unary(x, "abs", AbsOp{}); }
Tensor sign(const Tensor& x) { return map_unary(x, "sign", SignOp{}); }
Tensor leaky_relu(const Tensor& x, double slope) { return map_unary(x, "leaky_relu", LeakyReluOp{slope}); }
Tensor pow(const Tensor& x, double exponent) { return map_unary(x, "pow", PowOp{exponent}); }
Tensor clamp(const Tensor& x, double lo, double hi) {
  LOOM_CHECK(!(lo > hi), "clamp: lower bound ", lo, " is above upper bound ", hi);
  return map_unary(x, "clamp", ClampOp{lo, hi});
}

Tensor relu_backward(const Tensor& grad, const Tensor& x) {
  return map_pair(grad, x, "relu_backward", ReluBackwardOp{});
}
Tensor leaky_relu_backward(const Tensor& grad, const Tensor& x, double slope) {
  return map_pair(grad, x, "leaky_relu_backward", LeakyReluBackwardOp{slope});
}
Tensor clamp_backward(const Tensor& grad, const Tensor& x, double lo, double hi) {
  return map_pair(grad, x, "clamp_backward", ClampBackwardOp{lo, hi});
}
Tensor sigmoid_backward(const Tensor& grad, const Tensor& y) {
  return map_pair(grad, y, "sigmoid_backward", SigmoidBackwardOp{});
}
Tensor tanh_backward(const Tensor& grad, const Tensor& y) {
  return map_pair(grad, y, "tanh_backward", TanhBackwardOp{});
}
Tensor pow_backward(const Tensor& grad, const Tensor& x, double exponent) {
  return map_pair(grad, x, "pow_backward", PowBackwardOp{exponent});
}

}  // namespace loom::cuda
