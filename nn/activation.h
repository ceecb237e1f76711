// activation.h: element-wise activation layers (PyTorch's names), each a thin
// Module over the function of the same name in autograd/functions.h:
//   ReLU       max(x, 0)
//   LeakyReLU  x for x >= 0, negative_slope x otherwise
//   Tanh       tanh(x)
//   Sigmoid    1 / (1 + exp(-x))
// They have no parameters and keep no state; any input shape.
#pragma once
#include "nn/layer_util.h"

namespace loom::nn {

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ReLU"; }
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : negative_slope(negative_slope) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override;

  const double negative_slope;
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Tanh"; }
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sigmoid"; }
};

}  // namespace loom::nn
