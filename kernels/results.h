// results.h: small structs returned by raw ops with several outputs.
#pragma once
#include "tensor/tensor.h"

namespace loom {

// batch_norm_train: y, and the per-channel batch mean and 1/sqrt(biased var + eps) (C).
struct BatchNormResult {
  Tensor output;
  Tensor mean;
  Tensor invstd;
  Tensor var;  // biased batch variance (C), for the running estimate
};

struct BatchNormGrads {
  Tensor grad_input;
  Tensor grad_weight;  // undefined when weight is undefined
  Tensor grad_bias;
};

// max_pool2d: values and, per output element, the flat index h*W + w of the
// chosen input element within its (n, c) plane (int64).
struct MaxPoolResult {
  Tensor output;
  Tensor indices;
};

}  // namespace loom
