// patchgan.cpp: pix2pix's N-layer PatchGAN discriminator (see patchgan.h).
#include "models/patchgan.h"

#include <algorithm>
#include <string>

#include "tensor/error.h"

namespace loom::models {

PatchDiscriminator::PatchDiscriminator(const Options& opt, Generator& gen) : options(opt) {
  LOOM_CHECK(opt.layers >= 1, "PatchDiscriminator: layers must be at least 1, got ", opt.layers);
  LOOM_CHECK(opt.in_channels > 0 && opt.width > 0, "PatchDiscriminator: in_channels and width must be positive, got ",
             opt.in_channels, ", ", opt.width);
  model = register_module("model", nn::make<nn::Sequential>());
  const bool bias = conv_bias(opt.norm);
  auto conv = [&](int64_t in, int64_t out, int64_t stride, bool with_bias) {
    return nn::make<nn::Conv2d>({.in = in, .out = out, .kernel = 4, .stride = stride, .padding = 1, .bias = with_bias},
                                gen);
  };
  model->add(conv(opt.in_channels, opt.width, 2, true));
  model->add(nn::make<nn::LeakyReLU>(0.2));
  int64_t mult = 1;
  for (int64_t n = 1; n <= opt.layers; ++n) {  // n < layers: stride 2; n = layers: stride 1
    const int64_t prev = mult;
    mult = std::min<int64_t>(int64_t{1} << n, 8);
    model->add(conv(opt.width * prev, opt.width * mult, n < opt.layers ? 2 : 1, bias));
    model->add(make_norm(opt.norm, opt.width * mult));
    model->add(nn::make<nn::LeakyReLU>(0.2));
  }
  model->add(conv(opt.width * mult, 1, 1, true));
  pix2pix_init_(*this, gen);
}

Tensor PatchDiscriminator::forward(const Tensor& x) {
  nn::check_input_dims(*this, x, 4, "(N, C, H, W)");
  nn::check_input_size(*this, x, 1, options.in_channels, "channels");
  return (*model)(x);
}

Tensor PatchDiscriminator::judge(const Tensor& input, const Tensor& output) {
  LOOM_CHECK(input.dim() == 4 && output.dim() == 4 && input.size(0) == output.size(0) &&
                 input.size(2) == output.size(2) && input.size(3) == output.size(3),
             nn::repr(*this), ": the pair must be (N, C1, H, W) and (N, C2, H, W), got ", shape_str(input.shape()),
             " and ", shape_str(output.shape()));
  return forward(cat({input, output}, 1));  // (N, C1 + C2, H, W)
}

int64_t PatchDiscriminator::receptive_field() const {
  // Backwards from one logit through each k4 layer of stride s: r <- (r - 1) s + 4.
  int64_t r = 1;
  r = (r - 1) * 1 + 4;                                               // the final logit conv
  r = (r - 1) * 1 + 4;                                               // the stride-1 conv of level `layers`
  for (int64_t n = 0; n < options.layers; ++n) r = (r - 1) * 2 + 4;  // the stride-2 convs
  return r;
}

std::string PatchDiscriminator::extra_repr() const {
  return std::to_string(options.in_channels) + ", width=" + std::to_string(options.width) +
         ", layers=" + std::to_string(options.layers) + ", norm=" + norm_name(options.norm);
}

}  // namespace loom::models
