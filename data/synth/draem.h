// draem.h: DRAEM's anomaly synthesis (Zavrtanik, Kristan, Skocaj, "DRAEM - A
// discriminatively trained reconstruction embedding for surface anomaly
// detection", ICCV 2021, Sec. 3.3 and its reference code).
//
//   mask    Perlin noise with 2^k cells per axis (k uniform in [0, 6), drawn
//           separately for y and x), rotated by U[-90, 90) degrees, thresholded:
//           M = noise > 0.5. Redrawn until M is not empty.
//   texture an anomaly source image A, brought to the image's size and
//           channels, with `augmentations` distinct operations picked at random
//           from DRAEM's list (see draem_augment).
//   blend   I_a = (1 - M) I + (1 - beta) M A + beta M I,  beta ~ U[0, 0.8)
//
// A soft blend: the mask is M, a superset of the changed pixels (inside M a
// pixel of A equal to I's stays as it was); outside M the image is untouched.
#pragma once
#include <cstdint>

#include "data/synth/synth.h"

namespace loom::data::synth {

struct DraemParams {
  int64_t min_scale_log2 = 0, max_scale_log2 = 6;  // cells per axis 2^k, k in [min, max)
  bool rotate = true;                              // turn the noise by U[-90, 90) degrees
  double threshold = 0.5;                          // M = noise > threshold (noise in [-1, 1])
  double beta_max = 0.8;                           // beta ~ U[0, beta_max)
  int augmentations = 3;                           // operations applied to the texture
  int max_mask_draws = 100;                        // noise redraws before giving up on an empty M
};

// The thresholded, rotated Perlin mask (the first step above).
Region draem_mask(int64_t height, int64_t width, Generator& gen, const DraemParams& params = {});

// DRAEM's texture augmentation: `count` distinct operations chosen uniformly
// (a random permutation of the list, first `count`) and applied in that order:
//   gamma contrast x^g, g ~ U[0.5, 2];  brightness 0.8..1.2 x + U[-30, 30]/255;
//   sharpness factor U[0, 2];  saturation factor U[0.6, 1.4] then hue shift
//   U[-0.2, 0.2] turn (data::apply_jitter);  solarize above U[32, 128]/255;  posterize to 1..8 bits;
//   invert;  autocontrast;  equalize;  rotation by U[-45, 45] degrees
//   (clamp-to-edge where imgaug fills black).
Tensor draem_augment(const Tensor& texture, int count, Generator& gen);

// The whole method on `image` with anomaly source `texture` (any size, 1 or 3 channels).
SynthResult draem(const Tensor& image, const Tensor& texture, Generator& gen, const DraemParams& params = {});

}  // namespace loom::data::synth
