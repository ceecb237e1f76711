// elementwise.cpp: differentiable elementwise functions and their gradients.
// With y = f(x) and upstream gradient g = dL/dy, each rule gives dL/dx.
// Binary ops broadcast, so each input's gradient is summed back to its own
// shape with sum_to.
#include <limits>

#include "autograd/functions.h"
#include "autograd/node.h"
#include "kernels/ops.h"

namespace loom {

using autograd::record;
using Grads = std::vector<Tensor>;

// ---- unary ---------------------------------------------------------------
// d(-x) = -g
Tensor neg(const Tensor& x) {
  return record("neg", ops::neg(x), {x}, [](const Tensor& g) { return Grads{ops::neg(g)}; });
}

// d e^x = g e^x = g y
Tensor exp(const Tensor& x) {
  Tensor y = ops::exp(x);
  return record("exp", y, {x}, [y = y.detach()](const Tensor& g) { return Grads{ops::mul(g, y)}; });
}

// d log x = g / x
Tensor log(const Tensor& x) {
  return record("log", ops::log(x), {x}, [x = x.detach()](const Tensor& g) { return Grads{ops::div(g, x)}; });
}

// d sqrt x = g / (2 sqrt x) = g / (2 y)
Tensor sqrt(const Tensor& x) {
  Tensor y = ops::sqrt(x);
  return record("sqrt", y, {x},
                [y = y.detach()](const Tensor& g) { return Grads{ops::div(g, ops::mul_scalar(y, 2.0))}; });
}

// d tanh x = g (1 - y^2)
Tensor tanh(const Tensor& x) {
  Tensor y = ops::tanh(x);
  return record("tanh", y, {x}, [y = y.detach()](const Tensor& g) { return Grads{ops::tanh_backward(g, y)}; });
}

// d sigmoid x = g y (1 - y)
Tensor sigmoid(const Tensor& x) {
  Tensor y = ops::sigmoid(x);
  return record("sigmoid", y, {x}, [y = y.detach()](const Tensor& g) { return Grads{ops::sigmoid_backward(g, y)}; });
}

// d relu x = g [x > 0]
Tensor relu(const Tensor& x) {
  return record("relu", ops::relu(x), {x}, [x = x.detach()](const Tensor& g) { return Grads{ops::relu_backward(g, x)}; });
}

// d |x| = g sign(x)   (0 at x = 0, as PyTorch)
Tensor abs(const Tensor& x) {
  return record("abs", ops::abs(x), {x}, [x = x.detach()](const Tensor& g) { return Grads{ops::mul(g, ops::sign(x))}; });
}

// d leaky_relu x = g [x > 0] + slope g [x <= 0]
Tensor leaky_relu(const Tensor& x, double slope) {
  return record("leaky_relu", ops::leaky_relu(x, slope), {x},
                [x = x.detach(), slope](const Tensor& g) { return Grads{ops::leaky_relu_backward(g, x, slope)}; });
}

// d x^e = g e x^(e-1)
Tensor pow(const Tensor& x, double e) {
  return record("pow", ops::pow(x, e), {x},
                [x = x.detach(), e](const Tensor& g) { return Grads{ops::pow_backward(g, x, e)}; });
}

// d clamp(x, lo, hi) = g [lo <= x <= hi]
Tensor clamp(const Tensor& x, double lo, double hi) {
  return record("clamp", ops::clamp(x, lo, hi), {x},
                [x = x.detach(), lo, hi](const Tensor& g) { return Grads{ops::clamp_backward(g, x, lo, hi)}; });
}

// ---- binary --------------------------------------------------------------
// d(a + b) = (g, g)
Tensor add(const Tensor& a, const Tensor& b) {
  return record("add", ops::add(a, b), {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return Grads{sum_to(g, sa), sum_to(g, sb)};
  });
}

// d(a - b) = (g, -g)
Tensor sub(const Tensor& a, const Tensor& b) {
  return record("sub", ops::sub(a, b), {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return Grads{sum_to(g, sa), sum_to(ops::neg(g), sb)};
  });
}

// d(a b) = (g b, g a)
Tensor mul(const Tensor& a, const Tensor& b) {
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  return record("mul", ops::mul(a, b), {a, b}, [a = a.detach(), b = b.detach(), ga, gb](const Tensor& g) {
    return Grads{ga ? sum_to(ops::mul(g, b), a.shape()) : Tensor(), gb ? sum_to(ops::mul(g, a), b.shape()) : Tensor()};
  });
}

// d(a / b) = (g / b, -g a / b^2)
Tensor div(const Tensor& a, const Tensor& b) {
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  return record("div", ops::div(a, b), {a, b}, [a = a.detach(), b = b.detach(), ga, gb](const Tensor& g) {
    Tensor g_over_b = ops::div(g, b);
    return Grads{ga ? sum_to(g_over_b, a.shape()) : Tensor(),
                 gb ? sum_to(ops::neg(ops::div(ops::mul(g_over_b, a), b)), b.shape()) : Tensor()};
  });
}

namespace {
// max/min share: the winner gets g, a tie gives g/2 to each (PyTorch's rule).
// a_wins is 1 where a is strictly the selected one.
Tensor minmax(const char* name, const Tensor& a, const Tensor& b, Tensor value, Tensor a_wins) {
  return record(name, value, {a, b}, [a = a.detach(), b = b.detach(), a_wins](const Tensor& g) {
    const DType dt = g.dtype();
    Tensor share_a = ops::add(a_wins.to(dt), ops::mul_scalar(ops::eq(a, b).to(dt), 0.5));  // 1, 1/2 or 0
    Tensor ga = ops::mul(g, share_a);
    Tensor gb = ops::sub(g, ga);
    return Grads{sum_to(ga, a.shape()), sum_to(gb, b.shape())};
  });
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
  return minmax("maximum", a, b, ops::maximum(a, b), ops::gt(a, b));
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return minmax("minimum", a, b, ops::minimum(a, b), ops::lt(a, b));
}

// d where(c, a, b) = (g [c], g [!c])
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  return record("where", ops::where(cond, a, b), {a, b}, [c = cond.detach(), sa = a.shape(), sb = b.shape()](const Tensor& g) {
    Tensor zero = Tensor::scalar(0.0, g.dtype(), g.device());
    return Grads{sum_to(ops::where(c, g, zero), sa), sum_to(ops::where(c, zero, g), sb)};
  });
}

Tensor eq(const Tensor& a, const Tensor& b) { return ops::eq(a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return ops::ne(a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return ops::lt(a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return ops::le(a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return ops::gt(a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return ops::ge(a, b); }

// ---- operators (scalars become 0-dim tensors of the other operand's dtype) ----
namespace {
Tensor scalar_of(const Tensor& like, double s) { return Tensor::scalar(s, like.dtype(), like.device()); }
}  // namespace

Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double s) { return add(a, scalar_of(a, s)); }
Tensor operator-(const Tensor& a, double s) { return sub(a, scalar_of(a, s)); }
Tensor operator*(const Tensor& a, double s) { return mul(a, scalar_of(a, s)); }
Tensor operator/(const Tensor& a, double s) { return div(a, scalar_of(a, s)); }
Tensor operator+(double s, const Tensor& a) { return add(scalar_of(a, s), a); }
Tensor operator-(double s, const Tensor& a) { return sub(scalar_of(a, s), a); }
Tensor operator*(double s, const Tensor& a) { return mul(scalar_of(a, s), a); }
Tensor operator/(double s, const Tensor& a) { return div(scalar_of(a, s), a); }

}  // namespace loom
