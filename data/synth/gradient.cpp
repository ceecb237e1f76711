// gradient.cpp: the fading gray stain (see gradient.h for the model).
#include "data/synth/gradient.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "data/pixel_math.h"
#include "data/random_draws.h"
#include "data/synth/elastic.h"
#include "tensor/error.h"

namespace loom::data::synth {

namespace {

// Mean luma of the image inside the region.
double mean_luma(const Tensor& image, const Region& region) {
  const int64_t c = image.size(0), plane = region.height * region.width;
  const float* p = image.data<float>();
  double sum = 0;
  for (int64_t k = 0; k < plane; ++k) {
    if (!region.inside[static_cast<size_t>(k)]) continue;
    sum += c == 1 ? p[k] : luma(p[k], p[plane + k], p[2 * plane + k]);
  }
  return sum / static_cast<double>(std::max<int64_t>(1, region.count()));
}

// 1 - t with t the normalised position along direction `angle` across the region.
std::vector<float> linear_profile(const Region& region, double angle) {
  const double dy = std::sin(angle), dx = std::cos(angle);
  double lo = 1e300, hi = -1e300;
  for (int64_t i = 0; i < region.height; ++i)
    for (int64_t j = 0; j < region.width; ++j)
      if (region.at(i, j)) {
        const double s = dy * static_cast<double>(i) + dx * static_cast<double>(j);
        lo = std::min(lo, s), hi = std::max(hi, s);
      }
  std::vector<float> profile(region.inside.size(), 0.0f);
  const double span = std::max(hi - lo, 1.0);
  for (int64_t i = 0; i < region.height; ++i)
    for (int64_t j = 0; j < region.width; ++j) {
      const double s = dy * static_cast<double>(i) + dx * static_cast<double>(j);
      profile[static_cast<size_t>(i * region.width + j)] =
          static_cast<float>(std::clamp(1.0 - (s - lo) / span, 0.0, 1.0));
    }
  return profile;
}

// (1 - r)^gamma, r the radius coordinate of the ellipse, 0 beyond its outline.
std::vector<float> radial_profile(int64_t height, int64_t width, const Ellipse& e, double gamma) {
  std::vector<float> profile(static_cast<size_t>(height * width), 0.0f);
  for (int64_t i = 0; i < height; ++i)
    for (int64_t j = 0; j < width; ++j) {
      const double r = std::sqrt(ellipse_radius_squared(e, static_cast<double>(i), static_cast<double>(j)));
      profile[static_cast<size_t>(i * width + j)] = static_cast<float>(std::pow(std::max(0.0, 1.0 - r), gamma));
    }
  return profile;
}

}  // namespace

SynthResult gradient_stain(const Tensor& image_in, Generator& gen, const GradientParams& params) {
  const Tensor image = checked_image(image_in, "gradient");
  LOOM_CHECK(params.delta_min <= params.delta_max && params.peak_min <= params.peak_max && params.peak_min >= 0 &&
                 params.peak_max <= 1,
             "gradient: ranges must satisfy min <= max, with the peak opacity in [0, 1]");
  const int64_t c = image.size(0), h = image.size(1), w = image.size(2);
  const BentEllipse blob = random_bent_ellipse(h, w, gen, params.axis_min, params.axis_max, params.bend_rms);
  const double delta = draw_uniform(gen, params.delta_min, params.delta_max);
  const bool darker = draw_bool(gen, 0.5);
  const double level = std::clamp(mean_luma(image, blob.region) + (darker ? -delta : delta), 0.0, 1.0);
  const double peak = draw_uniform(gen, params.peak_min, params.peak_max);

  std::vector<float> alpha;
  if (draw_bool(gen, 0.5)) {
    alpha = linear_profile(blob.region, draw_uniform(gen, 0.0, 2.0 * std::numbers::pi));
  } else {
    alpha = radial_profile(h, w, blob.ellipse, draw_uniform(gen, 0.5, 2.0));
  }
  for (float& a : alpha) a *= static_cast<float>(peak);
  return blend_soft(image, Tensor::full({c, h, w}, level), alpha, blob.region);
}

}  // namespace loom::data::synth
