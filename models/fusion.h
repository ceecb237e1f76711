// fusion.h: the defect-fusing network T of stage 2 of the multistage GAN
// (Liu et al., "Multistage GAN for Fabric Defect Detection", IEEE TIP 29, 2020),
// an image-to-image translator with pix2pix's U-Net generator (Isola et al.
// 2017, PyTorch reference UnetGenerator / UnetSkipConnectionBlock). T takes the
// "imperfect input" x (a defect patch pasted into a window of a defect-free
// background, see imperfect_input.h) and returns T(x), the same image with the
// seams fused; its adversary is the PatchGAN of patchgan.h and its loss is in
// fusion_loss.h.
//
// Architecture, depth D (pix2pix's num_downs; 8 = "unet_256", 7 = "unet_128"),
// width w (ngf). Level i = 0..D-1 has c_i = w min(2^i, 8) channels inside and
// o_i = c_{i-1} outside (o_0 = out_channels, the input of level 0 has
// in_channels). Every down and up convolution is 4x4, stride 2, padding 1:
//   down_i:  [LeakyReLU 0.2 (i > 0)] -> Conv(in_i -> c_i) -> [norm (0 < i < D-1)]
//   up_i:    ReLU -> ConvT(u_i -> o_i) -> norm (i > 0) | Tanh (i = 0)
//            -> [Dropout 0.5 (4 <= i <= D-2, when dropout is on)]
// with u_{D-1} = c_{D-1} (the bottleneck) and u_i = 2 c_i otherwise, because
// the skip connections concatenate the encoder's features in front:
//   d_0 = down_0(x),  d_i = down_i(d_{i-1})                    (N, c_i, H/2^(i+1), W/2^(i+1))
//   u_{D-1} = up_{D-1}(d_{D-1})
//   u_i = up_i(cat(d_i, u_{i+1}))  (channel dim)                 (N, o_i, H/2^i, W/2^i)
//   T(x) = u_0                                                   (N, out_channels, H, W)
// This is PyTorch's block order exactly (its LeakyReLU opens the next block,
// so "Conv - norm - LeakyReLU" per encoder layer as the paper's C64-C128-...),
// and its dropout sits in the num_downs - 5 middle blocks of width 8w. H and W
// must be multiples of 2^D; the bottleneck d_{D-1} is (H/2^D, W/2^D), 1x1 at
// the design size. Convolutions have a bias only before an instance norm, and
// up_0 always has one (pix2pix's use_bias).
//
// State-dict names (clear names instead of PyTorch's recursive
// "model.model.1.model.1..."):
//   down<i>.conv.weight/bias, down<i>.norm.{weight,bias,running_mean,...}
//   up<i>.conv.weight/bias,   up<i>.norm.{...}
// e.g. "down0.conv.weight" (w, in, 4, 4), "up0.conv.bias" (out_channels).
// pix2pix_generator_name() translates them to PyTorch's names, so a pix2pix
// checkpoint's netG loads after renaming (checked against PyTorch in the tests):
//   level 0 (outermost)  down0.conv -> model.model.0     up0.conv -> model.model.3
//   level 0 < i < D-1    P = "model." + "model.1." + "model.3." x (i - 1) + "model."
//                        down<i>.conv -> P 1, down<i>.norm -> P 2, up<i>.conv -> P 5, up<i>.norm -> P 6
//   level D-1            down.conv -> P 1, up.conv -> P 3, up.norm -> P 4
//
// Dropout draws from default_generator() until set_dropout_generator() points
// it at the trainer's generator (which must outlive the model).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/pix2pix_parts.h"

namespace loom::models {

// One encoder step: [LeakyReLU 0.2] -> Conv 4/2/1 -> [norm].
class UnetDown : public nn::Module {
 public:
  UnetDown(int64_t in, int64_t out, bool activation, bool norm, NormKind kind, Generator& gen);
  Tensor forward(const Tensor& x) override;  // (N, in, H, W) -> (N, out, H/2, W/2)
  std::string type_name() const override { return "UnetDown"; }

  std::shared_ptr<nn::LeakyReLU> act;  // null on the outermost level
  std::shared_ptr<nn::Conv2d> conv;
  nn::ModulePtr norm;  // null on the outermost and innermost levels
};

// One decoder step: ReLU -> ConvT 4/2/1 -> norm | Tanh -> [Dropout 0.5].
class UnetUp : public nn::Module {
 public:
  UnetUp(int64_t in, int64_t out, bool outermost, bool dropout, NormKind kind, Generator& gen);
  Tensor forward(const Tensor& x) override;  // (N, in, H, W) -> (N, out, 2H, 2W)
  std::string type_name() const override { return "UnetUp"; }

  std::shared_ptr<nn::ReLU> act;
  std::shared_ptr<nn::ConvTranspose2d> conv;
  nn::ModulePtr norm;                    // null on the outermost level
  std::shared_ptr<nn::Tanh> output_act;  // outermost level only ("out")
  std::shared_ptr<nn::Dropout> dropout;  // middle levels, when dropout is on
};

class FusionGenerator : public nn::Module {
 public:
  struct Options {
    int64_t in_channels = 3;   // input_nc
    int64_t out_channels = 3;  // output_nc
    int64_t depth = 8;         // num_downs >= 2; H and W multiples of 2^depth
    int64_t width = 64;        // ngf
    NormKind norm = NormKind::Batch;
    bool dropout = true;  // pix2pix trains its U-Net with dropout
  };
  // Builds the layers and applies pix2pix_init_ with `gen`.
  explicit FusionGenerator(const Options& options, Generator& gen = default_generator());

  Tensor forward(const Tensor& x) override;  // (N, in, H, W) -> (N, out, H, W), in [-1, 1]
  std::string type_name() const override { return "FusionGenerator"; }
  std::string extra_repr() const override;

  void set_dropout_generator(Generator& gen);
  // c_i = width min(2^i, 8): the channels of encoder level i.
  int64_t level_channels(int64_t level) const;

  // PyTorch pix2pix's state-dict name of one of ours (see the top of this
  // file), e.g. "down2.norm.running_var" -> "model.model.1.model.3.model.2.running_var".
  // Throws for a name this generator does not have.
  std::string pix2pix_generator_name(const std::string& name) const;

  const Options options;
  std::vector<std::shared_ptr<UnetDown>> downs;  // down0 .. down{D-1}
  std::vector<std::shared_ptr<UnetUp>> ups;      // up0 .. up{D-1} (up0 is the output)
};

}  // namespace loom::models
