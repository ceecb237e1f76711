// conv.h: nn::Conv2d and nn::ConvTranspose2d (PyTorch's layers of those names,
// without groups), over loom::conv2d and loom::conv_transpose2d.
//   auto down = nn::make<nn::Conv2d>({.in = 3, .out = 64, .kernel = 4, .stride = 2, .padding = 1, .bias = false});
//   auto up = nn::make<nn::ConvTranspose2d>({.in = 64, .out = 3, .kernel = 4, .stride = 2, .padding = 1});
// Sizes are one number or {height, width}.
// Parameters (PyTorch's names and shapes):
//   Conv2d           weight (out, in, kH, kW),  bias (out)
//   ConvTranspose2d  weight (in, out, kH, kW),  bias (out)
// Default init: PyTorch's reset_parameters (init::default_affine_init_), with
// PyTorch's fan rule, so ConvTranspose2d's bound uses out kH kW.
// Output size (per spatial dim, input size I):
//   Conv2d           O = floor((I + 2 p - d (k - 1) - 1) / s) + 1
//   ConvTranspose2d  O = (I - 1) s - 2 p + d (k - 1) + output_padding + 1
#pragma once
#include "nn/layer_util.h"

namespace loom::nn {

enum class PaddingMode { Zeros, Reflect };  // Reflect: pad2d(Reflect), then an unpadded conv

class Conv2d : public Module {
 public:
  struct Options {
    int64_t in = 0;   // in_channels
    int64_t out = 0;  // out_channels
    Size2 kernel = 0;
    Size2 stride = 1;
    Size2 padding = 0;
    Size2 dilation = 1;
    bool bias = true;
    PaddingMode padding_mode = PaddingMode::Zeros;
  };
  explicit Conv2d(const Options& options, Generator& gen = default_generator());

  Tensor forward(const Tensor& x) override;  // (N, in, H, W) -> (N, out, OH, OW)
  std::string type_name() const override { return "Conv2d"; }
  std::string extra_repr() const override;

  const Options options;
  Tensor weight;  // (out, in, kH, kW)
  Tensor bias;    // (out), undefined without bias
};

class ConvTranspose2d : public Module {
 public:
  struct Options {
    int64_t in = 0;   // in_channels
    int64_t out = 0;  // out_channels
    Size2 kernel = 0;
    Size2 stride = 1;
    Size2 padding = 0;
    Size2 output_padding = 0;  // added to one side of the output; < stride or < dilation
    Size2 dilation = 1;
    bool bias = true;
  };
  explicit ConvTranspose2d(const Options& options, Generator& gen = default_generator());

  Tensor forward(const Tensor& x) override;  // (N, in, H, W) -> (N, out, OH, OW)
  std::string type_name() const override { return "ConvTranspose2d"; }
  std::string extra_repr() const override;

  const Options options;
  Tensor weight;  // (in, out, kH, kW)
  Tensor bias;    // (out), undefined without bias
};

}  // namespace loom::nn
