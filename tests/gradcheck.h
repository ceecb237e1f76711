// gradcheck.h: finite-difference gradient checking in float64.
//
// gradcheck(f, inputs) compares the gradient that autograd computes for
//   L(inputs) = sum(f(inputs) * W)      (W a fixed random tensor)
// with central differences (L(x + eps e_i) - L(x - eps e_i)) / (2 eps) for every
// element of every input that requires grad. Inputs must be float64 and may be
// non-contiguous views (each element is perturbed through its strides; expanded
// inputs with stride 0 are not allowed as leaves). Passes when
// |analytic - numeric| <= atol + rtol |numeric| everywhere; NaN never passes.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <sstream>
#include <vector>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "tensor/random.h"

namespace loom::testing {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-6;
  double rtol = 1e-5;
  uint64_t seed = 1234;
};

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// A float64 leaf of `shape` with values N(0, 1) (or U(lo, hi) when lo < hi)
// that requires grad.
inline Tensor leaf(const Shape& shape, Generator& g, double lo = 0, double hi = 0) {
  Tensor t = lo < hi ? uniform(shape, lo, hi, g, DType::Float64) : randn(shape, g, DType::Float64);
  t.requires_grad_();
  return t;
}

// A float64 leaf that is a non-contiguous view: the transpose of a dense
// buffer of the last two dims swapped.
inline Tensor transposed_leaf(const Shape& shape, Generator& g) {
  Shape swapped = shape;
  std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
  Tensor base = randn(swapped, g, DType::Float64);
  Tensor t = base.transpose(-1, -2).detach();
  EXPECT_FALSE(t.is_contiguous());
  t.requires_grad_();
  return t;
}

inline ::testing::AssertionResult gradcheck(const Fn& f, const std::vector<Tensor>& inputs,
                                            const GradcheckOptions& opt = {}) {
  for (const Tensor& x : inputs)
    if (x.defined() && x.requires_grad() && x.dtype() != DType::Float64)
      return ::testing::AssertionFailure() << "gradcheck: inputs must be float64";
  for (Tensor x : inputs)
    if (x.defined()) x.set_grad(Tensor());

  Tensor y = f(inputs);
  if (!y.requires_grad()) return ::testing::AssertionFailure() << "gradcheck: output does not require grad";
  Generator g(opt.seed);
  Tensor w = randn(y.shape(), g, DType::Float64);
  sum(y * w).backward();

  auto loss = [&]() {
    NoGradGuard no_grad;
    return sum(f(inputs) * w).item();
  };

  std::ostringstream report;
  bool ok = true;
  for (size_t n = 0; n < inputs.size(); ++n) {
    const Tensor& x = inputs[n];
    if (!x.defined() || !x.requires_grad()) continue;
    Tensor analytic = x.grad();
    if (!analytic.defined()) {
      report << "input " << n << ": no gradient was computed\n";
      ok = false;
      continue;
    }
    std::vector<double> a = analytic.to_vector<double>();
    double* base = static_cast<double*>(x.storage()->data());
    const Shape& shape = x.shape();
    std::vector<int64_t> idx(shape.size(), 0);
    for (int64_t e = 0; e < x.numel(); ++e) {
      int64_t off = x.offset();
      for (size_t d = 0; d < shape.size(); ++d) off += idx[d] * x.strides()[d];
      const double orig = base[off];
      base[off] = orig + opt.eps;
      const double lp = loss();
      base[off] = orig - opt.eps;
      const double lm = loss();
      base[off] = orig;
      const double numeric = (lp - lm) / (2 * opt.eps);
      const double diff = std::abs(a[e] - numeric);
      if (!(diff <= opt.atol + opt.rtol * std::abs(numeric))) {
        if (ok || report.tellp() < 2000)
          report << "input " << n << " element " << e << ": analytic " << a[e] << " numeric " << numeric << "\n";
        ok = false;
      }
      for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
        if (++idx[d] < shape[d]) break;
        idx[d] = 0;
      }
    }
  }
  if (ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << report.str();
}

}  // namespace loom::testing
