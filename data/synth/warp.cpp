// warp.cpp: bilinear sampling, displacement warps, rotation fields and the
// separable Gaussian blur (see warp.h).
#include "data/synth/warp.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"

namespace loom::data::synth {

float sample_bilinear(const float* plane, int64_t height, int64_t width, double y, double x) {
  y = std::clamp(y, 0.0, static_cast<double>(height - 1));
  x = std::clamp(x, 0.0, static_cast<double>(width - 1));
  const auto y0 = static_cast<int64_t>(std::floor(y)), x0 = static_cast<int64_t>(std::floor(x));
  const int64_t y1 = std::min(y0 + 1, height - 1), x1 = std::min(x0 + 1, width - 1);
  const float fy = static_cast<float>(y - static_cast<double>(y0));
  const float fx = static_cast<float>(x - static_cast<double>(x0));
  const float top = (1.0f - fx) * plane[y0 * width + x0] + fx * plane[y0 * width + x1];
  const float bottom = (1.0f - fx) * plane[y1 * width + x0] + fx * plane[y1 * width + x1];
  return (1.0f - fy) * top + fy * bottom;
}

Tensor warp_image(const Tensor& image, const Tensor& displacement) {
  LOOM_CHECK(image.dim() == 3 && image.dtype() == DType::Float32,
             "warp_image: expected a float32 (C, H, W) image, got ", shape_str(image.shape()));
  const int64_t c = image.size(0), h = image.size(1), w = image.size(2);
  LOOM_CHECK(displacement.shape() == Shape({2, h, w}) && displacement.dtype() == DType::Float32,
             "warp_image: displacement must be float32 (2, H, W) = [2, ", h, ", ", w, "], got ",
             shape_str(displacement.shape()));
  const Tensor src = image.contiguous(), disp = displacement.contiguous();
  Tensor out = Tensor::empty({c, h, w});  // (C, H, W)
  const float* s = src.data<float>();
  const float* dy = disp.data<float>();
  const float* dx = dy + h * w;
  float* o = out.data<float>();
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < w; ++j) {
        const int64_t k = i * w + j;
        o[ch * h * w + k] =
            sample_bilinear(s + ch * h * w, h, w, static_cast<double>(i) + dy[k], static_cast<double>(j) + dx[k]);
      }
  return out;
}

Tensor rotation_displacement(int64_t height, int64_t width, double angle) {
  // The output pixel p samples the input at c + R(-angle)(p - c).
  const double cy = 0.5 * static_cast<double>(height - 1), cx = 0.5 * static_cast<double>(width - 1);
  const double cos_a = std::cos(angle), sin_a = std::sin(angle);
  Tensor disp = Tensor::empty({2, height, width});  // (2, H, W): dy, dx
  float* dy = disp.data<float>();
  float* dx = dy + height * width;
  for (int64_t i = 0; i < height; ++i)
    for (int64_t j = 0; j < width; ++j) {
      const double di = static_cast<double>(i) - cy, dj = static_cast<double>(j) - cx;
      const double src_i = cos_a * di + sin_a * dj, src_j = -sin_a * di + cos_a * dj;
      dy[i * width + j] = static_cast<float>(src_i - di);
      dx[i * width + j] = static_cast<float>(src_j - dj);
    }
  return disp;
}

namespace {

// Mirror an index into [0, n): -1 -> 1, n -> n - 2 (repeated for long kernels).
int64_t reflect_index(int64_t k, int64_t n) {
  if (n == 1) return 0;
  const int64_t period = 2 * (n - 1);
  k %= period;
  if (k < 0) k += period;
  return k < n ? k : period - k;
}

}  // namespace

std::vector<float> gaussian_blur(const std::vector<float>& plane, int64_t height, int64_t width, double sigma) {
  LOOM_CHECK(static_cast<int64_t>(plane.size()) == height * width, "gaussian_blur: plane has ", plane.size(),
             " values, expected ", height, "x", width);
  if (sigma <= 0) return plane;
  const auto radius = static_cast<int64_t>(std::ceil(3.0 * sigma));
  std::vector<double> weights(static_cast<size_t>(2 * radius + 1));
  double total = 0;
  for (int64_t k = -radius; k <= radius; ++k)
    total += weights[static_cast<size_t>(k + radius)] = std::exp(-static_cast<double>(k * k) / (2 * sigma * sigma));
  for (double& wt : weights) wt /= total;

  std::vector<float> rows(plane.size()), out(plane.size());
  for (int64_t i = 0; i < height; ++i)  // along x
    for (int64_t j = 0; j < width; ++j) {
      double acc = 0;
      for (int64_t k = -radius; k <= radius; ++k)
        acc += weights[static_cast<size_t>(k + radius)] * plane[i * width + reflect_index(j + k, width)];
      rows[i * width + j] = static_cast<float>(acc);
    }
  for (int64_t i = 0; i < height; ++i)  // along y
    for (int64_t j = 0; j < width; ++j) {
      double acc = 0;
      for (int64_t k = -radius; k <= radius; ++k)
        acc += weights[static_cast<size_t>(k + radius)] * rows[reflect_index(i + k, height) * width + j];
      out[i * width + j] = static_cast<float>(acc);
    }
  return out;
}

}  // namespace loom::data::synth
