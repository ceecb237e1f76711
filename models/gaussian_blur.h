// gaussian_blur.h: a differentiable, device-agnostic Gaussian blur of every
// (n, c) plane of an (N, C, H, W) tensor, written as two fixed convolutions
// (autograd conv2d) so gradients flow through it and it runs wherever the
// tensor lives. Same kernel and borders as data/synth/warp.h's gaussian_blur
// (which works on CPU float vectors in loom_data, out of the models' reach):
//   g_k = exp(-k^2 / (2 sigma^2)) / sum_j exp(-j^2 / (2 sigma^2)),  k = -r..r
//   r = ceil(3 sigma), at most min(H, W) - 1 (mirrored borders need r < side)
//   out = g (rows) * (g (columns) * x), borders mirrored without repeating the
//   edge pixel (PadMode::Reflect).
// sigma <= 0 returns x itself.
#pragma once
#include <vector>

#include "autograd/functions.h"

namespace loom::models {

// The normalised taps g_{-r..r} of the blur above for planes of (height, width).
std::vector<double> gaussian_taps(double sigma, int64_t height, int64_t width);

Tensor gaussian_blur(const Tensor& x, double sigma);  // (N, C, H, W) -> (N, C, H, W)

}  // namespace loom::models
