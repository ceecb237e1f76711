// dropout.h: nn::Dropout. In training mode each element is zeroed with
// probability p and the survivors are scaled by 1 / (1 - p), so the expected
// value is unchanged:  y = x m / (1 - p),  m ~ Bernoulli(1 - p)  (p = 1: y = 0).
// In eval mode it is the identity. The mask is drawn from the Philox
// Generator given at construction, so the same seed and offset give the same
// mask, on the CPU or on CUDA. The generator must outlive the layer
// (set_generator() points it at another one, e.g. a trainer's).
#pragma once
#include "nn/layer_util.h"

namespace loom::nn {

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator& gen = default_generator());

  Tensor forward(const Tensor& x) override;  // any shape, float32 or float64
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  void set_generator(Generator& gen) { gen_ = &gen; }

  const double p;  // probability of zeroing an element

 private:
  Generator* gen_;
};

}  // namespace loom::nn
