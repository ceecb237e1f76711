// synth.cpp: the shared pieces of data/synth (see synth.h): regions, input
// checks, texture matching, the hard and soft composites.
#include "data/synth/synth.h"

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/pixel_math.h"
#include "data/transforms.h"
#include "tensor/error.h"

namespace loom::data::synth {

int64_t Region::count() const {
  int64_t n = 0;
  for (uint8_t v : inside) n += v != 0;
  return n;
}

Tensor Region::to_mask() const {
  Tensor mask = Tensor::zeros({1, height, width});
  float* m = mask.data<float>();
  for (size_t i = 0; i < inside.size(); ++i) m[i] = inside[i] ? 1.0f : 0.0f;
  return mask;
}

Tensor checked_image(const Tensor& image, const char* method, int64_t min_side) {
  LOOM_CHECK(image.defined(), method, ": the image is an undefined tensor");
  LOOM_CHECK(image.dim() == 3, method, ": expected an image (C, H, W), got shape ", shape_str(image.shape()));
  const int64_t c = image.size(0), h = image.size(1), w = image.size(2);
  LOOM_CHECK(c == 1 || c == 3, method, ": expected 1 (gray) or 3 (RGB) channels, got ", c, " (shape ",
             shape_str(image.shape()), ")");
  LOOM_CHECK(h >= min_side && w >= min_side, method, ": the image is ", h, "x", w, ", needs at least ", min_side, "x",
             min_side, " pixels");
  LOOM_CHECK(image.dtype() == DType::Float32 || image.dtype() == DType::Float64, method,
             ": expected a float image in [0, 1], got ", dtype_name(image.dtype()),
             " (convert uint8 with data::to_float01)");
  return image.to(Device::cpu()).to(DType::Float32).contiguous();
}

Tensor match_texture(const Tensor& texture, int64_t channels, int64_t height, int64_t width) {
  NoGradGuard no_grad;
  Tensor t = checked_image(texture, "synth texture source", 1);
  const int64_t c = t.size(0);
  if (c == 3 && channels == 1) {
    // ITU-R 601 luma, as data::load_image(ColorMode::Gray).
    t = t.narrow(0, 0, 1) * kLumaR + t.narrow(0, 1, 1) * kLumaG + t.narrow(0, 2, 1) * kLumaB;
  } else if (c == 1 && channels == 3) {
    t = t.expand({3, t.size(1), t.size(2)});
  }
  // Area averaging when shrinking (no aliasing), bilinear when enlarging.
  if (t.size(1) >= height && t.size(2) >= width && (t.size(1) != height || t.size(2) != width))
    t = resize_area(t, height, width);
  else if (t.size(1) != height || t.size(2) != width)
    t = resize_bilinear(t, height, width);
  return clamp(t, 0.0, 1.0).contiguous();
}

namespace {

void check_composite_args(const Tensor& image, const Tensor& fill, const Region& region, const char* op) {
  LOOM_CHECK(image.shape() == fill.shape(), op, ": image ", shape_str(image.shape()), " and fill ",
             shape_str(fill.shape()), " differ in shape");
  LOOM_CHECK(image.is_contiguous() && fill.is_contiguous(), op, ": image and fill must be contiguous");
  LOOM_CHECK(region.height == image.size(1) && region.width == image.size(2), op, ": region ", region.height, "x",
             region.width, " does not match the image ", shape_str(image.shape()));
}

}  // namespace

SynthResult paste_hard(const Tensor& image, const Tensor& fill, const Region& region) {
  check_composite_args(image, fill, region, "paste_hard");
  const int64_t c = image.size(0), plane = region.height * region.width;
  Tensor out = image.clone();
  Region changed(region.height, region.width);
  const float* src = fill.data<float>();
  float* dst = out.data<float>();
  for (int64_t i = 0; i < plane; ++i) {
    if (!region.inside[static_cast<size_t>(i)]) continue;
    for (int64_t ch = 0; ch < c; ++ch) {
      const int64_t k = ch * plane + i;
      if (dst[k] != src[k]) changed.inside[static_cast<size_t>(i)] = 1;
      dst[k] = src[k];
    }
  }
  return {out, changed.to_mask()};
}

SynthResult blend_soft(const Tensor& image, const Tensor& fill, const std::vector<float>& alpha, const Region& region) {
  check_composite_args(image, fill, region, "blend_soft");
  const int64_t c = image.size(0), plane = region.height * region.width;
  LOOM_CHECK(static_cast<int64_t>(alpha.size()) == plane, "blend_soft: alpha has ", alpha.size(), " values for a ",
             region.height, "x", region.width, " region");
  Tensor out = image.clone();
  const float* src = fill.data<float>();
  float* dst = out.data<float>();
  for (int64_t i = 0; i < plane; ++i) {
    if (!region.inside[static_cast<size_t>(i)]) continue;
    const float a = alpha[static_cast<size_t>(i)];
    for (int64_t ch = 0; ch < c; ++ch) {
      const int64_t k = ch * plane + i;
      dst[k] = (1.0f - a) * dst[k] + a * src[k];
    }
  }
  return {out, region.to_mask()};
}

}  // namespace loom::data::synth
