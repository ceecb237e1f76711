// transforms_color.cpp: colour jitter (brightness, contrast, saturation, HSV
// hue) and the [0, 1] <-> [-1, 1] range maps. See transforms.h.
#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/functions.h"
#include "data/image.h"
#include "data/pixel_math.h"
#include "data/random_draws.h"
#include "data/transforms.h"
#include "data/transforms_common.h"

namespace loom::data {

namespace {

// Shifts the hue of one RGB pixel by `shift` turns, through HSV (the
// conversion torchvision's adjust_hue uses):
//   V = max, S = (max - min) / max, H from which channel is largest;
//   H <- (H + shift) mod 1; back to RGB by the six-sector formula.
void shift_hue(double& r, double& g, double& b, double shift) {
  const double maxc = std::max({r, g, b}), minc = std::min({r, g, b});
  const double delta = maxc - minc;
  if (delta <= 0) return;  // gray: no hue
  const double v = maxc, s = delta / maxc;
  double h;  // in sixths of a turn
  if (maxc == r)
    h = std::fmod((g - b) / delta + 6.0, 6.0);
  else if (maxc == g)
    h = (b - r) / delta + 2.0;
  else
    h = (r - g) / delta + 4.0;
  h = h / 6.0 + shift;
  h -= std::floor(h);  // mod 1
  const double h6 = h * 6.0;
  const int sector = static_cast<int>(std::floor(h6)) % 6;
  const double f = h6 - std::floor(h6);
  const double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  switch (sector) {
    case 0: r = v, g = t, b = p; break;
    case 1: r = q, g = v, b = p; break;
    case 2: r = p, g = v, b = t; break;
    case 3: r = p, g = q, b = v; break;
    case 4: r = t, g = p, b = v; break;
    default: r = v, g = p, b = q; break;
  }
}

// One image (C, H, W), C in {1, 3}, values in [0, 1], in place in double.
void jitter_in_place(std::vector<double>& px, int64_t channels, int64_t hw, const JitterParams& p) {
  const bool rgb = channels == 3;
  auto gray_at = [&](int64_t i) { return rgb ? luma(px[i], px[hw + i], px[2 * hw + i]) : px[i]; };
  if (p.brightness != 1.0)
    for (double& v : px) v = clamp01(p.brightness * v);
  if (p.contrast != 1.0) {
    double mean = 0;
    for (int64_t i = 0; i < hw; ++i) mean += gray_at(i);
    mean /= static_cast<double>(hw);
    for (double& v : px) v = clamp01(p.contrast * v + (1 - p.contrast) * mean);
  }
  if (!rgb) return;
  if (p.saturation != 1.0)
    for (int64_t i = 0; i < hw; ++i) {
      const double gray = gray_at(i);
      for (int64_t c = 0; c < 3; ++c) {
        double& v = px[c * hw + i];
        v = clamp01(p.saturation * v + (1 - p.saturation) * gray);
      }
    }
  if (p.hue != 0.0)
    for (int64_t i = 0; i < hw; ++i) {
      shift_hue(px[i], px[hw + i], px[2 * hw + i], p.hue);
      for (int64_t c = 0; c < 3; ++c) px[c * hw + i] = clamp01(px[c * hw + i]);
    }
}

// Applies per-image parameters to x (N, C, H, W), float or uint8.
Tensor jitter_batch(const Tensor& x, const std::vector<JitterParams>& params, const char* op) {
  const int64_t n = x.size(0), channels = x.size(1), hw = x.size(2) * x.size(3);
  LOOM_CHECK(channels == 1 || channels == 3, op, ": expected 1 (gray) or 3 (RGB) channels, got shape ",
             shape_str(x.shape()));
  LOOM_CHECK(x.dtype() != DType::Int64, op, ": expected a float or uint8 image, got int64");
  const bool is_u8 = x.dtype() == DType::UInt8;
  const Tensor src = is_u8 ? to_float01(x, DType::Float64) : x.to(DType::Float64).contiguous();
  Tensor out = Tensor::empty(x.shape(), DType::Float64);
  const double* s = src.data<double>();
  double* d = out.data<double>();
  const int64_t per_image = channels * hw;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> px(s + i * per_image, s + (i + 1) * per_image);  // (C, H, W)
    jitter_in_place(px, channels, hw, params[static_cast<size_t>(i)]);
    std::copy(px.begin(), px.end(), d + i * per_image);
  }
  return is_u8 ? to_uint8(out) : out.to(x.dtype());
}

}  // namespace

JitterParams sample_jitter(const ColorJitterOptions& opt, Generator& gen) {
  LOOM_CHECK(opt.brightness >= 0 && opt.contrast >= 0 && opt.saturation >= 0, "color_jitter: brightness (",
             opt.brightness, "), contrast (", opt.contrast, ") and saturation (", opt.saturation, ") must be >= 0");
  LOOM_CHECK(opt.hue >= 0 && opt.hue <= 0.5, "color_jitter: hue must be in [0, 0.5], got ", opt.hue);
  const std::vector<double> u = draw_uniforms(gen, 4, 0.0, 1.0);
  // A factor uniform in [max(0, 1 - x), 1 + x].
  auto factor = [](double u01, double x) {
    const double lo = std::max(0.0, 1.0 - x), hi = 1.0 + x;
    return x == 0 ? 1.0 : lo + u01 * (hi - lo);
  };
  return {factor(u[0], opt.brightness), factor(u[1], opt.contrast), factor(u[2], opt.saturation),
          opt.hue == 0 ? 0.0 : (2 * u[3] - 1) * opt.hue};
}

Tensor apply_jitter(const Tensor& img, const JitterParams& p) {
  const Tensor x = transforms_internal::checked_image(img, "apply_jitter");
  const bool batch = x.dim() == 4;
  const std::vector<JitterParams> params(static_cast<size_t>(batch ? x.size(0) : 1), p);
  const Tensor y = jitter_batch(batch ? x : x.unsqueeze(0), params, "apply_jitter");
  return batch ? y : y.squeeze(0);
}

Tensor color_jitter(const Tensor& img, const ColorJitterOptions& opt, Generator& gen) {
  const Tensor x = transforms_internal::checked_image(img, "color_jitter");
  const bool batch = x.dim() == 4;
  std::vector<JitterParams> params;
  for (int64_t i = 0; i < (batch ? x.size(0) : 1); ++i) params.push_back(sample_jitter(opt, gen));
  const Tensor y = jitter_batch(batch ? x : x.unsqueeze(0), params, "color_jitter");
  return batch ? y : y.squeeze(0);
}

Tensor normalize_to_pm1(const Tensor& img) {
  LOOM_CHECK(img.defined(), "normalize_to_pm1: the image tensor is undefined");
  const Tensor x01 = img.dtype() == DType::UInt8 ? to_float01(img) : img;
  LOOM_CHECK(is_floating(x01.dtype()), "normalize_to_pm1: expected a float or uint8 image, got ",
             dtype_name(img.dtype()));
  return x01 * 2.0 - 1.0;
}

Tensor denormalize_from_pm1(const Tensor& img) {
  LOOM_CHECK(img.defined(), "denormalize_from_pm1: the image tensor is undefined");
  LOOM_CHECK(is_floating(img.dtype()), "denormalize_from_pm1: expected a float image, got ", dtype_name(img.dtype()));
  return clamp((img + 1.0) * 0.5, 0.0, 1.0);
}

}  // namespace loom::data
