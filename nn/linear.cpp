// linear.cpp: nn::Linear (see linear.h) over loom::linear.
#include "nn/linear.h"

#include "autograd/functions.h"
#include "nn/init.h"

namespace loom::nn {

Linear::Linear(const Options& options, Generator& gen) : options(options) {
  LOOM_CHECK(options.in > 0 && options.out > 0, "Linear: in and out features must be positive, got in ", options.in,
             ", out ", options.out);
  weight = register_parameter("weight", Tensor::empty({options.out, options.in}));
  if (options.bias) bias = register_parameter("bias", Tensor::empty({options.out}));
  init::default_affine_init_(weight, bias, gen);
}

Tensor Linear::forward(const Tensor& x) {
  check_input_dims(*this, x, -1, "(*, in_features)");
  check_input_size(*this, x, -1, options.in, "features in its last dim", weight);
  return linear(x, weight, bias);
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(options.in) + ", out_features=" + std::to_string(options.out) +
         ", bias=" + (options.bias ? "true" : "false");
}

}  // namespace loom::nn
