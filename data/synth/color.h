// color.h: colour adjustments of (C, H, W) float32 images in [0, 1] (C = 1 or
// 3), the photometric half of the defect methods: CutPaste's colour jitter and
// DRAEM's RandAugment-style texture augmentations. Each returns a new image
// clamped to [0, 1]; saturation and hue leave a gray image as it is.
// luma(p) = 0.299 R + 0.587 G + 0.114 B (ITU-R 601), the gray value itself for C = 1.
#pragma once
#include <cstdint>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace loom::data::synth {

Tensor adjust_brightness(const Tensor& image, double factor, double offset = 0.0);  // factor x + offset
Tensor adjust_contrast(const Tensor& image, double factor);    // factor x + (1 - factor) mean(luma)
Tensor adjust_saturation(const Tensor& image, double factor);  // factor x + (1 - factor) luma(pixel)
Tensor adjust_hue(const Tensor& image, double shift);          // HSV hue + shift (in turns, mod 1)
Tensor adjust_gamma(const Tensor& image, double gamma);        // x^gamma
Tensor solarize(const Tensor& image, double threshold);        // x >= threshold ? 1 - x : x
Tensor posterize(const Tensor& image, int bits);               // keep the top `bits` of each 8-bit value
Tensor invert(const Tensor& image);                            // 1 - x
Tensor autocontrast(const Tensor& image);                      // per channel (x - min) / (max - min)
// Per channel histogram equalisation of the 8-bit values (PIL ImageOps.equalize).
Tensor equalize(const Tensor& image);
// factor x + (1 - factor) smooth(x), smooth = the 3x3 kernel [1 1 1; 1 5 1; 1 1 1] / 13
// (PIL ImageEnhance.Sharpness); the one-pixel border is left as it is.
Tensor adjust_sharpness(const Tensor& image, double factor);

// torchvision-style colour jitter: brightness, contrast and saturation factors
// drawn from U[1 - s, 1 + s], a hue shift from U[-hue, hue], applied in that order.
struct ColorJitter {
  double brightness = 0.1, contrast = 0.1, saturation = 0.1, hue = 0.1;
};
Tensor color_jitter(const Tensor& image, const ColorJitter& jitter, Generator& gen);

}  // namespace loom::data::synth
