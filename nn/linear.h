// linear.h: nn::Linear, y = x W^T + b over the last dim (PyTorch's nn.Linear).
//   auto fc = nn::make<nn::Linear>({.in = 100, .out = 10});
// Parameters: weight (out, in), bias (out) unless .bias = false.
// Default init: PyTorch's reset_parameters (init::default_affine_init_).
#pragma once
#include "nn/layer_util.h"

namespace loom::nn {

class Linear : public Module {
 public:
  struct Options {
    int64_t in = 0;   // in_features
    int64_t out = 0;  // out_features
    bool bias = true;
  };
  explicit Linear(const Options& options, Generator& gen = default_generator());

  Tensor forward(const Tensor& x) override;  // (*, in) -> (*, out)
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;

  const Options options;
  Tensor weight;  // (out, in)
  Tensor bias;    // (out), undefined without bias
};

}  // namespace loom::nn
