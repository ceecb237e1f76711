// color.h: the colour operations of DRAEM's RandAugment-style texture
// augmentation that data/transforms.h does not have, on (C, H, W) float32
// images in [0, 1] (C = 1 or 3). Each returns a new image clamped to [0, 1].
// (Brightness, contrast, saturation and hue, and CutPaste's colour jitter,
// are data::apply_jitter and data::color_jitter in data/transforms.h.)
#pragma once

#include "tensor/tensor.h"

namespace loom::data::synth {

Tensor scale_and_shift(const Tensor& image, double factor, double offset);  // factor x + offset
Tensor adjust_gamma(const Tensor& image, double gamma);                     // x^gamma
Tensor solarize(const Tensor& image, double threshold);                     // x >= threshold ? 1 - x : x
Tensor posterize(const Tensor& image, int bits);                            // keep the top `bits` of each 8-bit value
Tensor invert(const Tensor& image);                                         // 1 - x
Tensor autocontrast(const Tensor& image);                                   // per channel (x - min) / (max - min)
// Per channel histogram equalisation of the 8-bit values (PIL ImageOps.equalize).
Tensor equalize(const Tensor& image);
// factor x + (1 - factor) smooth(x), smooth = the 3x3 kernel [1 1 1; 1 5 1; 1 1 1] / 13
// (PIL ImageEnhance.Sharpness); the one-pixel border is left as it is.
Tensor adjust_sharpness(const Tensor& image, double factor);

}  // namespace loom::data::synth
