// cutpaste.cpp: CutPaste, CutPaste-Scar and the rotated patch paste they share
// (see cutpaste.h for the sampling rules).
#include "data/synth/cutpaste.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

#include "data/random_draws.h"
#include "tensor/error.h"

namespace loom::data::synth {

namespace {

// A jittered copy of the h x w crop of `image` at a random position.
Tensor random_jittered_crop(const Tensor& image, int64_t h, int64_t w, const ColorJitterOptions& jitter,
                            Generator& gen) {
  const int64_t top = draw_int(gen, 0, image.size(1) - h + 1);
  const int64_t left = draw_int(gen, 0, image.size(2) - w + 1);
  return color_jitter(image.narrow(1, top, h).narrow(2, left, w).contiguous(), jitter, gen);
}

// A top-left coordinate for a patch of `size` whose rotated extent is
// `half_extent` either side of its centre, so that the extent fits [0, limit].
double random_corner(Generator& gen, int64_t size, double half_extent, int64_t limit) {
  const double half = 0.5 * static_cast<double>(size);
  const auto lo = static_cast<int64_t>(std::ceil(half_extent - half - 1e-9));
  const auto hi = static_cast<int64_t>(std::floor(static_cast<double>(limit) - half_extent - half + 1e-9));
  if (hi < lo) return std::floor(0.5 * static_cast<double>(limit - size));  // larger than the image: centre it
  return static_cast<double>(draw_int(gen, lo, hi + 1));
}

// Half the height and width of the bounding box of an h x w rectangle turned by `angle`.
std::pair<double, double> rotated_half_extents(int64_t h, int64_t w, double angle) {
  const double c = std::abs(std::cos(angle)), s = std::abs(std::sin(angle));
  const double hd = static_cast<double>(h), wd = static_cast<double>(w);
  return {0.5 * (s * wd + c * hd), 0.5 * (c * wd + s * hd)};
}

}  // namespace

SynthResult paste_patch(const Tensor& image, const Tensor& patch, double top, double left, double angle) {
  LOOM_CHECK(patch.dim() == 3 && patch.size(0) == image.size(0), "paste_patch: patch ", shape_str(patch.shape()),
             " does not match the image's channels ", shape_str(image.shape()));
  const int64_t c = image.size(0), height = image.size(1), width = image.size(2);
  const int64_t ph = patch.size(1), pw = patch.size(2);
  const Tensor src = patch.contiguous();
  const float* s = src.data<float>();
  Tensor fill = image.clone();  // (C, H, W)
  float* f = fill.data<float>();
  Region region(height, width);

  const double cy = top + 0.5 * static_cast<double>(ph), cx = left + 0.5 * static_cast<double>(pw);
  const double cos_a = std::cos(angle), sin_a = std::sin(angle);
  // Bounding box of the turned patch, clipped to the image.
  const auto [ey, ex] = rotated_half_extents(ph, pw, angle);
  const int64_t i_lo = std::max<int64_t>(0, static_cast<int64_t>(std::floor(cy - ey)));
  const int64_t i_hi = std::min<int64_t>(height - 1, static_cast<int64_t>(std::ceil(cy + ey)));
  const int64_t j_lo = std::max<int64_t>(0, static_cast<int64_t>(std::floor(cx - ex)));
  const int64_t j_hi = std::min<int64_t>(width - 1, static_cast<int64_t>(std::ceil(cx + ex)));
  for (int64_t i = i_lo; i <= i_hi; ++i)
    for (int64_t j = j_lo; j <= j_hi; ++j) {
      // P - centre, turned back by -angle, in patch coordinates.
      const double dy = static_cast<double>(i) + 0.5 - cy, dx = static_cast<double>(j) + 0.5 - cx;
      const double qy = cos_a * dy - sin_a * dx + 0.5 * static_cast<double>(ph);
      const double qx = sin_a * dy + cos_a * dx + 0.5 * static_cast<double>(pw);
      if (qy < 0 || qx < 0 || qy >= static_cast<double>(ph) || qx >= static_cast<double>(pw)) continue;
      const auto a = static_cast<int64_t>(qy), b = static_cast<int64_t>(qx);
      region.at(i, j) = 1;
      for (int64_t ch = 0; ch < c; ++ch) f[(ch * height + i) * width + j] = s[(ch * ph + a) * pw + b];
    }
  return paste_hard(image, fill, region);
}

SynthResult cutpaste(const Tensor& image_in, Generator& gen, const CutPasteParams& params) {
  const Tensor image = checked_image(image_in, "cutpaste");
  LOOM_CHECK(params.area_min > 0 && params.area_min <= params.area_max && params.area_max < 1,
             "cutpaste: area fractions must satisfy 0 < min <= max < 1, got [", params.area_min, ", ", params.area_max,
             "]");
  LOOM_CHECK(params.aspect_min > 0 && params.aspect_min <= params.aspect_max,
             "cutpaste: aspect ratios must satisfy 0 < min <= max, got [", params.aspect_min, ", ", params.aspect_max,
             "]");
  const int64_t height = image.size(1), width = image.size(2);
  const double total = static_cast<double>(height * width);
  const double area = draw_uniform(gen, params.area_min, params.area_max) * total;
  const double aspect = std::exp(draw_uniform(gen, std::log(params.aspect_min), std::log(params.aspect_max)));  // w / h
  const int64_t w = std::clamp<int64_t>(std::llround(std::sqrt(area * aspect)), 1, width);
  int64_t h = std::llround(std::sqrt(area / aspect));
  // Keep w h within the area bounds after rounding.
  const auto h_lo = static_cast<int64_t>(std::ceil(params.area_min * total / static_cast<double>(w)));
  const auto h_hi = static_cast<int64_t>(std::floor(params.area_max * total / static_cast<double>(w)));
  if (h_lo <= h_hi) h = std::clamp(h, h_lo, h_hi);
  h = std::clamp<int64_t>(h, 1, height);

  const Tensor patch = random_jittered_crop(image, h, w, params.jitter, gen);
  const double top = static_cast<double>(draw_int(gen, 0, height - h + 1));
  const double left = static_cast<double>(draw_int(gen, 0, width - w + 1));
  return paste_patch(image, patch, top, left, 0.0);
}

SynthResult cutpaste_scar(const Tensor& image_in, Generator& gen, const CutPasteScarParams& params) {
  const Tensor image = checked_image(image_in, "cutpaste_scar");
  LOOM_CHECK(params.width_min >= 1 && params.width_min <= params.width_max && params.height_min >= 1 &&
                 params.height_min <= params.height_max,
             "cutpaste_scar: size ranges must be 1 <= min <= max, got width [", params.width_min, ", ",
             params.width_max, "], height [", params.height_min, ", ", params.height_max, "]");
  const int64_t height = image.size(1), width = image.size(2);
  const int64_t w = std::min(draw_int(gen, params.width_min, params.width_max + 1), width);
  const int64_t h = std::min(draw_int(gen, params.height_min, params.height_max + 1), height);
  const double angle = draw_uniform(gen, -params.max_angle_deg, params.max_angle_deg) * std::numbers::pi / 180.0;

  const Tensor patch = random_jittered_crop(image, h, w, params.jitter, gen);
  const auto [half_y, half_x] = rotated_half_extents(h, w, angle);
  const double top = random_corner(gen, h, half_y, height);
  const double left = random_corner(gen, w, half_x, width);
  return paste_patch(image, patch, top, left, angle);
}

}  // namespace loom::data::synth
