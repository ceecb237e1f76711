// pixel_math.h: the small per-pixel formulas that image IO, transforms, sample
// sheets, the fabric renderer and the defect synthesis share, so each is
// written once:
//   luma(r, g, b)    = 0.299 r + 0.587 g + 0.114 b    (ITU-R BT.601), any scale
//   clamp01(x)       = min(max(x, 0), 1)
//   smoothstep01(t)  = t^2 (3 - 2 t), the C1 ramp from 0 at t = 0 to 1 at t = 1
//                      (t outside [0, 1] is not clamped: clamp first if needed)
// and changed_pixels, the "which pixels differ" mask behind every exact defect
// mask (fabric defects, hard-paste synthesis).
#pragma once
#include <algorithm>

#include "tensor/tensor.h"

namespace loom::data {

inline constexpr double kLumaR = 0.299, kLumaG = 0.587, kLumaB = 0.114;

inline double luma(double r, double g, double b) { return kLumaR * r + kLumaG * g + kLumaB * b; }

inline double clamp01(double x) { return std::clamp(x, 0.0, 1.0); }

template <class T>
T smoothstep01(T t) {
  return t * t * (T(3) - T(2) * t);
}

// (1, H, W) uint8: 255 where some channel of `after` differs from `before`,
// else 0. before and after: (C, H, W) of the same shape, any dtype (compared
// as float32).
Tensor changed_pixels(const Tensor& before, const Tensor& after);

}  // namespace loom::data
