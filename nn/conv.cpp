// conv.cpp: nn::Conv2d and nn::ConvTranspose2d (see conv.h).
#include "nn/conv.h"

#include <sstream>

#include "autograd/functions.h"
#include "nn/init.h"

namespace loom::nn {

namespace {

// The checks and the printed arguments the two layers share.
struct ConvGeometry {
  int64_t in, out;
  Size2 kernel, stride, padding, output_padding, dilation;
  bool bias;
};

void check_geometry(const char* layer, const ConvGeometry& g) {
  LOOM_CHECK(g.in > 0 && g.out > 0, layer, ": in and out channels must be positive, got in ", g.in, ", out ", g.out);
  LOOM_CHECK(g.kernel.h > 0 && g.kernel.w > 0, layer, ": kernel must be positive, got ", size2_str(g.kernel));
  LOOM_CHECK(g.stride.h > 0 && g.stride.w > 0, layer, ": stride must be positive, got ", size2_str(g.stride));
  LOOM_CHECK(g.dilation.h > 0 && g.dilation.w > 0, layer, ": dilation must be positive, got ", size2_str(g.dilation));
  LOOM_CHECK(g.padding.h >= 0 && g.padding.w >= 0, layer, ": padding must be non-negative, got ",
             size2_str(g.padding));
}

// PyTorch's repr: "3, 64, kernel_size=4, stride=2" then padding, dilation and
// output_padding when not their defaults, and bias=false without bias.
std::string geometry_repr(const ConvGeometry& g) {
  std::ostringstream s;
  s << g.in << ", " << g.out << ", kernel_size=" << size2_str(g.kernel) << ", stride=" << size2_str(g.stride);
  if (g.padding != Size2(0)) s << ", padding=" << size2_str(g.padding);
  if (g.dilation != Size2(1)) s << ", dilation=" << size2_str(g.dilation);
  if (g.output_padding != Size2(0)) s << ", output_padding=" << size2_str(g.output_padding);
  if (!g.bias) s << ", bias=false";
  return s.str();
}

ConvGeometry geometry_of(const Conv2d::Options& o) {
  return {o.in, o.out, o.kernel, o.stride, o.padding, Size2(0), o.dilation, o.bias};
}

ConvGeometry geometry_of(const ConvTranspose2d::Options& o) {
  return {o.in, o.out, o.kernel, o.stride, o.padding, o.output_padding, o.dilation, o.bias};
}

}  // namespace

// ---- Conv2d ----

Conv2d::Conv2d(const Options& options, Generator& gen) : options(options) {
  check_geometry("Conv2d", geometry_of(options));
  weight = register_parameter("weight", Tensor::empty({options.out, options.in, options.kernel.h, options.kernel.w}));
  if (options.bias) bias = register_parameter("bias", Tensor::empty({options.out}));
  init::default_affine_init_(weight, bias, gen);
}

Tensor Conv2d::forward(const Tensor& x) {
  check_input_dims(*this, x, 4, "(N, C, H, W)");
  check_input_size(*this, x, 1, options.in, "channels", weight);
  Conv2dOptions conv{.stride = options.stride.pair(), .padding = options.padding.pair(),
                     .dilation = options.dilation.pair()};
  if (options.padding_mode == PaddingMode::Reflect && options.padding != Size2(0)) {
    const Size2 p = options.padding;
    conv.padding = {0, 0};
    return conv2d(pad2d(x, {p.w, p.w, p.h, p.h}, PadMode::Reflect), weight, bias, conv);
  }
  return conv2d(x, weight, bias, conv);
}

std::string Conv2d::extra_repr() const {
  std::string s = geometry_repr(geometry_of(options));
  if (options.padding_mode == PaddingMode::Reflect) s += ", padding_mode=reflect";
  return s;
}

// ---- ConvTranspose2d ----

ConvTranspose2d::ConvTranspose2d(const Options& options, Generator& gen) : options(options) {
  check_geometry("ConvTranspose2d", geometry_of(options));
  const Size2 op = options.output_padding;
  LOOM_CHECK(op.h >= 0 && op.w >= 0 && (op.h < options.stride.h || op.h < options.dilation.h) &&
                 (op.w < options.stride.w || op.w < options.dilation.w),
             "ConvTranspose2d: output_padding ", size2_str(op), " must be non-negative and smaller than stride ",
             size2_str(options.stride), " or dilation ", size2_str(options.dilation));
  weight = register_parameter("weight", Tensor::empty({options.in, options.out, options.kernel.h, options.kernel.w}));
  if (options.bias) bias = register_parameter("bias", Tensor::empty({options.out}));
  init::default_affine_init_(weight, bias, gen);
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  check_input_dims(*this, x, 4, "(N, C, H, W)");
  check_input_size(*this, x, 1, options.in, "channels", weight);
  const Conv2dOptions conv{.stride = options.stride.pair(), .padding = options.padding.pair(),
                           .dilation = options.dilation.pair(), .output_padding = options.output_padding.pair()};
  return conv_transpose2d(x, weight, bias, conv);
}

std::string ConvTranspose2d::extra_repr() const { return geometry_repr(geometry_of(options)); }

}  // namespace loom::nn
