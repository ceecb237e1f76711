// warp.h: the geometric resampling the defect methods share: bilinear
// sampling of a plane, warping an image by a per-pixel displacement field,
// rotation about the centre, and a separable Gaussian blur of a plane.
//
// Coordinates are pixel indices: (y, x) = (i, j) is the centre of pixel (i, j).
// Samples outside the image take the nearest edge pixel (clamp-to-edge).
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace loom::data::synth {

// Bilinear interpolation of a row-major (H, W) plane at (y, x):
//   v = (1-fy)((1-fx) p[y0][x0] + fx p[y0][x0+1]) + fy((1-fx) p[y0+1][x0] + fx p[y0+1][x0+1])
// with y0 = floor(y), fy = y - y0 (likewise x). At integer (y, x) it returns
// p[y][x] exactly.
float sample_bilinear(const float* plane, int64_t height, int64_t width, double y, double x);

// out(c, i, j) = image(c, i + dy(i, j), j + dx(i, j)), bilinear.
// image: (C, H, W) float32; displacement: (2, H, W) float32, channel 0 = dy, 1 = dx.
// A zero displacement returns the image unchanged, bit for bit.
Tensor warp_image(const Tensor& image, const Tensor& displacement);

// The displacement field of a rotation by `angle` radians about the image
// centre ((H-1)/2, (W-1)/2): (2, H, W), so that warp_image rotates the content.
Tensor rotation_displacement(int64_t height, int64_t width, double angle);

// Separable Gaussian blur of a row-major (H, W) plane, kernel radius ceil(3 sigma),
// weights exp(-k^2 / (2 sigma^2)) normalised to sum 1, mirrored borders
// (reflect without repeating the edge pixel). sigma <= 0 returns the plane.
std::vector<float> gaussian_blur(const std::vector<float>& plane, int64_t height, int64_t width, double sigma);

}  // namespace loom::data::synth
