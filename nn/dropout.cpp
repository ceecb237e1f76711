// dropout.cpp: nn::Dropout (see dropout.h).
#include "nn/dropout.h"

#include <sstream>

#include "autograd/functions.h"

namespace loom::nn {

Dropout::Dropout(double p, Generator& gen) : p(p), gen_(&gen) {
  LOOM_CHECK(p >= 0.0 && p <= 1.0, "Dropout: p must be in [0, 1], got ", p);
}

Tensor Dropout::forward(const Tensor& x) {
  LOOM_CHECK(x.defined(), repr(*this), ": input is an undefined tensor");
  if (!is_training() || p == 0.0) return x;
  if (p == 1.0) return x * 0.0;
  LOOM_CHECK(is_floating(x.dtype()), repr(*this), ": input must be float32 or float64, got ", dtype_name(x.dtype()));
  // keep (same shape as x): 1 / (1 - p) where the element survives, 0 where it is dropped
  const Tensor keep = bernoulli(x.shape(), 1.0 - p, *gen_, x.dtype(), x.device()) * (1.0 / (1.0 - p));
  return x * keep;
}

std::string Dropout::extra_repr() const {
  std::ostringstream s;
  s << "p=" << p;
  return s.str();
}

}  // namespace loom::nn
