// fusion.cpp: the U-Net generator of the defect-fusing network (see fusion.h
// for the architecture and the math).
#include "models/fusion.h"

#include <algorithm>
#include <string>

#include "tensor/error.h"

namespace loom::models {

UnetDown::UnetDown(int64_t in, int64_t out, bool activation, bool norm_on, NormKind kind, Generator& gen) {
  if (activation) act = register_module("act", nn::make<nn::LeakyReLU>(0.2));
  conv = register_module(
      "conv", nn::make<nn::Conv2d>(
                  {.in = in, .out = out, .kernel = 4, .stride = 2, .padding = 1, .bias = conv_bias(kind)}, gen));
  if (norm_on) norm = register_module("norm", make_norm(kind, out));
}

Tensor UnetDown::forward(const Tensor& x) {
  Tensor h = act ? (*act)(x) : x;
  h = (*conv)(h);
  return norm ? (*norm)(h) : h;
}

UnetUp::UnetUp(int64_t in, int64_t out, bool outermost, bool dropout_on, NormKind kind, Generator& gen) {
  act = register_module("act", nn::make<nn::ReLU>());
  const bool bias = outermost || conv_bias(kind);
  conv = register_module(
      "conv",
      nn::make<nn::ConvTranspose2d>({.in = in, .out = out, .kernel = 4, .stride = 2, .padding = 1, .bias = bias}, gen));
  if (outermost) {
    output_act = register_module("out", nn::make<nn::Tanh>());
  } else {
    norm = register_module("norm", make_norm(kind, out));
  }
  if (dropout_on) dropout = register_module("dropout", nn::make<nn::Dropout>(0.5));
}

Tensor UnetUp::forward(const Tensor& x) {
  Tensor h = (*conv)((*act)(x));
  h = norm ? (*norm)(h) : (*output_act)(h);
  return dropout ? (*dropout)(h) : h;
}

FusionGenerator::FusionGenerator(const Options& opt, Generator& gen) : options(opt) {
  LOOM_CHECK(opt.depth >= 2, "FusionGenerator: depth must be at least 2, got ", opt.depth);
  LOOM_CHECK(opt.in_channels > 0 && opt.out_channels > 0 && opt.width > 0,
             "FusionGenerator: in_channels, out_channels and width must be positive, got ", opt.in_channels, ", ",
             opt.out_channels, ", ", opt.width);
  const int64_t D = opt.depth;
  for (int64_t i = 0; i < D; ++i) {
    const int64_t in = i == 0 ? opt.in_channels : level_channels(i - 1);
    const bool norm_on = i > 0 && i < D - 1;
    downs.push_back(register_module("down" + std::to_string(i),
                                    std::make_shared<UnetDown>(in, level_channels(i), i > 0, norm_on, opt.norm, gen)));
  }
  ups.resize(D);
  for (int64_t i = D - 1; i >= 0; --i) {
    const int64_t in = i == D - 1 ? level_channels(i) : 2 * level_channels(i);
    const int64_t out = i == 0 ? opt.out_channels : level_channels(i - 1);
    const bool dropout_on = opt.dropout && i >= 4 && i <= D - 2;
    ups[i] =
        register_module("up" + std::to_string(i), std::make_shared<UnetUp>(in, out, i == 0, dropout_on, opt.norm, gen));
  }
  pix2pix_init_(*this, gen);
}

int64_t FusionGenerator::level_channels(int64_t level) const {
  return options.width * (level >= 3 ? 8 : (int64_t{1} << level));
}

std::string FusionGenerator::extra_repr() const {
  return std::to_string(options.in_channels) + ", " + std::to_string(options.out_channels) +
         ", depth=" + std::to_string(options.depth) + ", width=" + std::to_string(options.width) +
         ", norm=" + norm_name(options.norm) + ", dropout=" + (options.dropout ? "true" : "false");
}

void FusionGenerator::set_dropout_generator(Generator& gen) {
  for (auto& up : ups)
    if (up->dropout) up->dropout->set_generator(gen);
}

std::string FusionGenerator::pix2pix_generator_name(const std::string& name) const {
  // name = ("down" | "up") <level> "." ("conv" | "norm") "." <tensor>
  const size_t dot1 = name.find('.'), dot2 = dot1 == std::string::npos ? dot1 : name.find('.', dot1 + 1);
  const bool down = name.rfind("down", 0) == 0, up = name.rfind("up", 0) == 0;
  LOOM_CHECK((down || up) && dot2 != std::string::npos, "FusionGenerator::pix2pix_generator_name: '", name,
             "' is not a name of this generator");
  const std::string level_text = name.substr(down ? 4 : 2, dot1 - (down ? 4 : 2));
  const std::string layer = name.substr(dot1 + 1, dot2 - dot1 - 1), tensor = name.substr(dot2 + 1);
  const int64_t D = options.depth;
  const int64_t level = level_text.empty() || level_text.find_first_not_of("0123456789") != std::string::npos
                            ? -1
                            : std::stoll(level_text);
  LOOM_CHECK(level >= 0 && level < D && (layer == "conv" || layer == "norm"),
             "FusionGenerator::pix2pix_generator_name: '", name, "' is not a name of this generator");
  // The block of level i is reached by model.model.1.model.3.model.3...: the
  // outermost block's submodule sits at index 1, every middle block's at 3.
  std::string prefix = "model.";
  for (int64_t i = 0; i < level; ++i) prefix += i == 0 ? "model.1." : "model.3.";
  prefix += "model.";
  int64_t index = -1;
  if (level == 0) {
    index = layer == "conv" ? (down ? 0 : 3) : -1;  // [downconv, sub, uprelu, upconv, tanh]
  } else if (level == D - 1) {
    index = down ? (layer == "conv" ? 1 : -1) : (layer == "conv" ? 3 : 4);  // [lrelu, downconv, relu, upconv, upnorm]
  } else {
    index = down ? (layer == "conv" ? 1 : 2)
                 : (layer == "conv" ? 5 : 6);  // [lrelu, downconv, downnorm, sub, relu, upconv, upnorm, (dropout)]
  }
  LOOM_CHECK(index >= 0, "FusionGenerator::pix2pix_generator_name: '", name, "' is not a name of this generator");
  return prefix + std::to_string(index) + "." + tensor;
}

Tensor FusionGenerator::forward(const Tensor& x) {
  nn::check_input_dims(*this, x, 4, "(N, C, H, W)");
  nn::check_input_size(*this, x, 1, options.in_channels, "channels");
  const int64_t factor = int64_t{1} << options.depth;
  LOOM_CHECK(x.size(2) % factor == 0 && x.size(3) % factor == 0, nn::repr(*this), ": input height and width must be ",
             "multiples of 2^depth = ", factor, ", got shape ", shape_str(x.shape()),
             " (use a smaller depth or resize)");
  const int64_t D = options.depth;
  std::vector<Tensor> skips(D);  // skips[i] = d_i  (N, c_i, H/2^(i+1), W/2^(i+1))
  Tensor h = x;
  for (int64_t i = 0; i < D; ++i) h = skips[i] = (*downs[i])(h);
  Tensor u = (*ups[D - 1])(skips[D - 1]);  // u_{D-1}  (N, c_{D-2}, H/2^(D-1), W/2^(D-1))
  for (int64_t i = D - 2; i >= 0; --i) u = (*ups[i])(cat({skips[i], u}, 1));  // u_i = up_i(cat(d_i, u_{i+1}))
  return u;                                                                   // (N, out_channels, H, W)
}

}  // namespace loom::models
