// draem.cpp: DRAEM's Perlin mask, texture augmentation and blend (see draem.h).
#include "data/synth/draem.h"

#include <functional>
#include <numbers>
#include <vector>

#include "data/random_draws.h"
#include "data/synth/color.h"
#include "data/synth/perlin.h"
#include "data/synth/warp.h"
#include "data/transforms.h"
#include "tensor/error.h"

namespace loom::data::synth {

Region draem_mask(int64_t height, int64_t width, Generator& gen, const DraemParams& params) {
  LOOM_CHECK(params.min_scale_log2 >= 0 && params.min_scale_log2 < params.max_scale_log2,
             "draem: scale exponents must satisfy 0 <= min < max, got [", params.min_scale_log2, ", ",
             params.max_scale_log2, ")");
  LOOM_CHECK(params.threshold < 1.0, "draem: a threshold of ", params.threshold,
             " leaves the mask empty (the noise lies in [-1, 1])");
  Region mask(height, width);
  for (int draw = 0; draw < params.max_mask_draws; ++draw) {
    const int64_t res_y = int64_t{1} << draw_int(gen, params.min_scale_log2, params.max_scale_log2);
    const int64_t res_x = int64_t{1} << draw_int(gen, params.min_scale_log2, params.max_scale_log2);
    const double angle = params.rotate ? draw_uniform(gen, -90.0, 90.0) * std::numbers::pi / 180.0 : 0.0;
    const std::vector<float> noise = perlin_noise(height, width, res_y, res_x, gen, angle).to_vector<float>();
    for (size_t k = 0; k < noise.size(); ++k) mask.inside[k] = noise[k] > params.threshold ? 1 : 0;
    if (mask.count() > 0) return mask;
  }
  LOOM_CHECK(false, "draem: ", params.max_mask_draws, " Perlin draws gave no pixel above the threshold ",
             params.threshold, " on a ", height, "x", width, " image");
  return mask;
}

Tensor draem_augment(const Tensor& texture, int count, Generator& gen) {
  using Op = std::function<Tensor(const Tensor&, Generator&)>;
  const std::vector<Op> ops = {
      [](const Tensor& t, Generator& g) { return adjust_gamma(t, draw_uniform(g, 0.5, 2.0)); },
      [](const Tensor& t, Generator& g) {
        const double factor = draw_uniform(g, 0.8, 1.2);
        return scale_and_shift(t, factor, draw_uniform(g, -30.0, 30.0) / 255.0);
      },
      [](const Tensor& t, Generator& g) { return adjust_sharpness(t, draw_uniform(g, 0.0, 2.0)); },
      [](const Tensor& t, Generator& g) {
        JitterParams hue_saturation;
        hue_saturation.hue = draw_uniform(g, -0.2, 0.2);
        hue_saturation.saturation = draw_uniform(g, 0.6, 1.4);
        return apply_jitter(t, hue_saturation);
      },
      [](const Tensor& t, Generator& g) { return solarize(t, draw_uniform(g, 32.0, 128.0) / 255.0); },
      [](const Tensor& t, Generator& g) { return posterize(t, static_cast<int>(draw_int(g, 1, 9))); },
      [](const Tensor& t, Generator&) { return invert(t); },
      [](const Tensor& t, Generator&) { return autocontrast(t); },
      [](const Tensor& t, Generator&) { return equalize(t); },
      [](const Tensor& t, Generator& g) {
        const double angle = draw_uniform(g, -45.0, 45.0) * std::numbers::pi / 180.0;
        return warp_image(t, rotation_displacement(t.size(1), t.size(2), angle));
      },
  };
  LOOM_CHECK(count >= 0 && count <= static_cast<int>(ops.size()), "draem_augment: count ", count, " is outside 0..",
             ops.size());
  Tensor out = checked_image(texture, "draem_augment", 1);
  const std::vector<int64_t> order = randperm(static_cast<int64_t>(ops.size()), gen).to_vector<int64_t>();
  for (int k = 0; k < count; ++k) out = ops[static_cast<size_t>(order[static_cast<size_t>(k)])](out, gen);
  return out;
}

SynthResult draem(const Tensor& image_in, const Tensor& texture, Generator& gen, const DraemParams& params) {
  const Tensor image = checked_image(image_in, "draem");
  LOOM_CHECK(params.beta_max >= 0 && params.beta_max <= 1, "draem: beta_max must be in [0, 1], got ", params.beta_max);
  const int64_t c = image.size(0), h = image.size(1), w = image.size(2);
  const Region mask = draem_mask(h, w, gen, params);
  const Tensor anomaly = draem_augment(match_texture(texture, c, h, w), params.augmentations, gen);
  const double beta = draw_uniform(gen, 0.0, params.beta_max);
  // Inside M: beta I + (1 - beta) A, i.e. opacity 1 - beta for A.
  const std::vector<float> alpha(static_cast<size_t>(h * w), static_cast<float>(1.0 - beta));
  return blend_soft(image, anomaly, alpha, mask);
}

}  // namespace loom::data::synth
