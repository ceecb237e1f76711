// patchgan.h: the PatchGAN discriminator D_T of the defect-fusing stage
// (pix2pix's NLayerDiscriminator, Isola et al. 2017, Sec. 3.2.2). With
// `layers` = 3 it is the "70x70 PatchGAN" C64-C128-C256-C512:
//   model.0  Conv(in -> w, 4, stride 2, pad 1) + bias     model.1 LeakyReLU 0.2   (no norm)
//   model.2  Conv(w -> 2w, 4, 2, 1)    model.3 norm        model.4 LeakyReLU 0.2
//   model.5  Conv(2w -> 4w, 4, 2, 1)   model.6 norm        model.7 LeakyReLU 0.2
//   model.8  Conv(4w -> 8w, 4, 1, 1)   model.9 norm        model.10 LeakyReLU 0.2
//   model.11 Conv(8w -> 1, 4, 1, 1) + bias: one logit per patch
// (widths w min(2^n, 8); inner convolutions carry a bias only with instance
// norm). The state-dict names are exactly PyTorch's ("model.0.weight",
// "model.3.running_mean", ...), so a pix2pix checkpoint's netD loads as is.
//
// Receptive field: a k4 layer of stride s maps an output interval [a, b] to
// the input interval [s a - 1, s b + 2]; through the strides 2, 2, 2, 1, 1
// one output logit sees r = 1 + 3 (1 + 2 + 4 + 8 + 8) = 70 input pixels per
// side (3 = k - 1, times each layer's input pixel spacing; checked with
// autograd in tests/models/test_fusion.cpp). Output size
// per side for an input of I: I/8 - 2 for I a multiple of 8 (256 -> 30x30).
//
// The fusion stage judges pairs: D_T(x, y) = D(cat(x, y)) along channels,
// so in_channels = input channels + output channels (6 for RGB -> RGB).
#pragma once
#include <memory>

#include "models/pix2pix_parts.h"

namespace loom::models {

class PatchDiscriminator : public nn::Module {
 public:
  struct Options {
    int64_t in_channels = 6;  // input_nc (the pair's channels together)
    int64_t width = 64;       // ndf
    int64_t layers = 3;       // n_layers; 3 = the 70x70 PatchGAN
    NormKind norm = NormKind::Batch;
  };
  // Builds the layers and applies pix2pix_init_ with `gen`.
  explicit PatchDiscriminator(const Options& options, Generator& gen = default_generator());

  Tensor forward(const Tensor& x) override;  // (N, in, H, W) -> logits (N, 1, H', W')
  // D(cat(input, output)) along channels: the conditional judge of pix2pix.
  Tensor judge(const Tensor& input, const Tensor& output);
  std::string type_name() const override { return "PatchDiscriminator"; }
  std::string extra_repr() const override;

  // Side of the input window one logit sees, 70 for layers = 3.
  int64_t receptive_field() const;

  const Options options;
  std::shared_ptr<nn::Sequential> model;
};

}  // namespace loom::models
