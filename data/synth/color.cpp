// color.cpp: the colour operations of color.h, as plain loops over contiguous
// (C, H, W) float32 buffers.
#include "data/synth/color.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "data/pixel_math.h"
#include "data/synth/synth.h"
#include "tensor/error.h"

namespace loom::data::synth {
namespace {

float clamped(double v) { return static_cast<float>(clamp01(v)); }

// A contiguous float32 copy of the image, checked (C in {1, 3}).
Tensor working_copy(const Tensor& image, const char* op) { return checked_image(image, op, 1).clone(); }

// out = f(x) for every value.
template <class F>
Tensor map_values(const Tensor& image, const char* op, F f) {
  Tensor out = working_copy(image, op);
  float* p = out.data<float>();
  for (int64_t k = 0; k < out.numel(); ++k) p[k] = clamped(f(static_cast<double>(p[k])));
  return out;
}

uint8_t to_byte(float v) { return static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f)); }

}  // namespace

Tensor scale_and_shift(const Tensor& image, double factor, double offset) {
  return map_values(image, "scale_and_shift", [&](double x) { return factor * x + offset; });
}

Tensor adjust_gamma(const Tensor& image, double gamma) {
  LOOM_CHECK(gamma > 0, "adjust_gamma: gamma must be positive, got ", gamma);
  return map_values(image, "adjust_gamma", [&](double x) { return std::pow(x, gamma); });
}

Tensor solarize(const Tensor& image, double threshold) {
  return map_values(image, "solarize", [&](double x) { return x >= threshold ? 1.0 - x : x; });
}

Tensor posterize(const Tensor& image, int bits) {
  LOOM_CHECK(bits >= 1 && bits <= 8, "posterize: bits must be in 1..8, got ", bits);
  const int keep = 0xFF & ~((1 << (8 - bits)) - 1);
  return map_values(image, "posterize",
                    [&](double x) { return static_cast<double>(to_byte(static_cast<float>(x)) & keep) / 255.0; });
}

Tensor invert(const Tensor& image) {
  return map_values(image, "invert", [](double x) { return 1.0 - x; });
}

Tensor autocontrast(const Tensor& image) {
  Tensor out = working_copy(image, "autocontrast");
  const int64_t c = out.size(0), plane = out.size(1) * out.size(2);
  for (int64_t ch = 0; ch < c; ++ch) {
    float* p = out.data<float>() + ch * plane;
    const auto [lo, hi] = std::minmax_element(p, p + plane);
    const double mn = *lo, range = *hi - *lo;
    if (range <= 0) continue;
    for (int64_t k = 0; k < plane; ++k) p[k] = clamped((p[k] - mn) / range);
  }
  return out;
}

Tensor equalize(const Tensor& image) {
  Tensor out = working_copy(image, "equalize");
  const int64_t c = out.size(0), plane = out.size(1) * out.size(2);
  for (int64_t ch = 0; ch < c; ++ch) {
    float* p = out.data<float>() + ch * plane;
    std::array<int64_t, 256> histogram{};
    for (int64_t k = 0; k < plane; ++k) ++histogram[to_byte(p[k])];
    // PIL: step = (count of all but the last occupied level) / 255; level i maps
    // to (cumulative count below i + step / 2) / step.
    int64_t last = 255;
    while (last > 0 && histogram[static_cast<size_t>(last)] == 0) --last;
    const int64_t step = (plane - histogram[static_cast<size_t>(last)]) / 255;
    if (step == 0) continue;
    std::array<float, 256> lut{};
    int64_t below = step / 2;
    for (size_t i = 0; i < 256; ++i) {
      lut[i] = static_cast<float>(std::min<int64_t>(below / step, 255)) / 255.0f;
      below += histogram[i];
    }
    for (int64_t k = 0; k < plane; ++k) p[k] = lut[to_byte(p[k])];
  }
  return out;
}

Tensor adjust_sharpness(const Tensor& image, double factor) {
  const Tensor src = checked_image(image, "adjust_sharpness", 1);
  Tensor out = src.clone();
  const int64_t c = src.size(0), h = src.size(1), w = src.size(2);
  const float* s = src.data<float>();
  float* o = out.data<float>();
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t i = 1; i + 1 < h; ++i)
      for (int64_t j = 1; j + 1 < w; ++j) {
        const float* q = s + ch * h * w;
        double smooth = 4.0 * q[i * w + j];  // centre weight 5 = 4 + the 1 in the 3x3 sum below
        for (int64_t di = -1; di <= 1; ++di)
          for (int64_t dj = -1; dj <= 1; ++dj) smooth += q[(i + di) * w + (j + dj)];
        smooth /= 13.0;
        o[ch * h * w + i * w + j] = clamped(factor * q[i * w + j] + (1.0 - factor) * smooth);
      }
  return out;
}

}  // namespace loom::data::synth
