// elastic.cpp: Simard's smoothed random displacement field, bending a region
// with it, and the local weave distortion method (see elastic.h).
#include "data/synth/elastic.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "data/random_draws.h"
#include "data/synth/warp.h"
#include "tensor/error.h"

namespace loom::data::synth {

Tensor elastic_displacement(int64_t height, int64_t width, double alpha, double sigma, Generator& gen) {
  LOOM_CHECK(height >= 1 && width >= 1, "elastic_displacement: size ", height, "x", width, " is empty");
  LOOM_CHECK(sigma >= 0, "elastic_displacement: sigma must be non-negative, got ", sigma);
  const int64_t plane = height * width;
  const std::vector<float> random = uniform({2, height, width}, -1.0, 1.0, gen).to_vector<float>();
  Tensor field = Tensor::empty({2, height, width});  // (2, H, W): dy, dx
  float* out = field.data<float>();
  for (int64_t axis = 0; axis < 2; ++axis) {
    const std::vector<float> smooth = gaussian_blur(
        std::vector<float>(random.begin() + axis * plane, random.begin() + (axis + 1) * plane), height, width, sigma);
    for (int64_t k = 0; k < plane; ++k)
      out[axis * plane + k] = static_cast<float>(alpha) * smooth[static_cast<size_t>(k)];
  }
  return field;
}

double elastic_alpha_for_rms(double rms, double sigma) {
  return rms * 2.0 * std::sqrt(3.0 * std::numbers::pi) * std::max(sigma, 1.0);
}

Region elastic_region(const Region& region, const Tensor& displacement) {
  const Tensor moved = warp_image(region.to_mask(), displacement);  // (1, H, W)
  const float* m = moved.data<float>();
  Region out(region.height, region.width);
  for (size_t k = 0; k < out.inside.size(); ++k) out.inside[k] = m[k] > 0.5f ? 1 : 0;
  return out;
}

BentEllipse random_bent_ellipse(int64_t height, int64_t width, Generator& gen, double axis_min, double axis_max,
                                double bend_rms, double bend_sigma) {
  const Ellipse ellipse = random_ellipse(height, width, gen, axis_min, axis_max);
  const double sigma = bend_sigma * ellipse.semi_minor;
  const double alpha = elastic_alpha_for_rms(bend_rms * ellipse.semi_minor, sigma);
  const Tensor bend = elastic_displacement(height, width, alpha, sigma, gen);
  BentEllipse blob{ellipse, elastic_region(fill_ellipse(height, width, ellipse), bend)};
  if (blob.region.count() == 0)
    blob.region.at(std::clamp<int64_t>(std::llround(ellipse.cy), 0, height - 1),
                   std::clamp<int64_t>(std::llround(ellipse.cx), 0, width - 1)) = 1;
  return blob;
}

SynthResult elastic_distortion(const Tensor& image_in, Generator& gen, const ElasticParams& params) {
  const Tensor image = checked_image(image_in, "elastic");
  LOOM_CHECK(params.alpha_min <= params.alpha_max && params.sigma_min <= params.sigma_max && params.sigma_min >= 0,
             "elastic: parameter ranges must satisfy min <= max (sigma >= 0)");
  const int64_t h = image.size(1), w = image.size(2);
  const Region region = random_bent_ellipse(h, w, gen, params.axis_min, params.axis_max, params.bend_rms).region;

  const double alpha = draw_uniform(gen, params.alpha_min, params.alpha_max);
  const double sigma = draw_uniform(gen, params.sigma_min, params.sigma_max);
  const Tensor distorted = warp_image(image, elastic_displacement(h, w, alpha, sigma, gen));
  return paste_hard(image, distorted, region);
}

}  // namespace loom::data::synth
