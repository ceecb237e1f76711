// pool.h: pooling layers over x (N, C, H, W) with square windows (PyTorch's
// names), over the functions of the same name in autograd/functions.h:
//   MaxPool2d          maximum of each kernel x kernel window
//   AvgPool2d          mean of each window (count_include_pad: padded zeros count)
//   AdaptiveAvgPool2d  (N, C, S, S) by averaging H/S x W/S blocks (S must divide H and W)
// Output size per spatial dim: O = floor((I + 2 padding - kernel) / stride) + 1,
// stride = kernel unless given.
//   auto pool = nn::make<nn::MaxPool2d>({.kernel = 2});
#pragma once
#include <optional>

#include "nn/layer_util.h"

namespace loom::nn {

class MaxPool2d : public Module {
 public:
  struct Options {
    int64_t kernel = 0;
    std::optional<int64_t> stride = std::nullopt;  // unset: = kernel
    int64_t padding = 0;
  };
  explicit MaxPool2d(const Options& options);

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;

  const Options options;
};

class AvgPool2d : public Module {
 public:
  struct Options {
    int64_t kernel = 0;
    std::optional<int64_t> stride = std::nullopt;  // unset: = kernel
    int64_t padding = 0;
    bool count_include_pad = true;
  };
  explicit AvgPool2d(const Options& options);

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;

  const Options options;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(int64_t output_size) : output_size(output_size) {}

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override { return "output_size=" + std::to_string(output_size); }

  const int64_t output_size;
};

}  // namespace loom::nn
