// gaussian_blur.cpp: separable Gaussian blur as two fixed convolutions (see gaussian_blur.h).
#include "models/gaussian_blur.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"

namespace loom::models {

std::vector<double> gaussian_taps(double sigma, int64_t height, int64_t width) {
  const int64_t r = std::min<int64_t>(static_cast<int64_t>(std::ceil(3.0 * sigma)), std::min(height, width) - 1);
  std::vector<double> taps(2 * r + 1);
  double total = 0.0;
  for (int64_t k = -r; k <= r; ++k) total += taps[k + r] = std::exp(-double(k * k) / (2.0 * sigma * sigma));
  for (double& t : taps) t /= total;
  return taps;
}

Tensor gaussian_blur(const Tensor& x, double sigma) {
  LOOM_CHECK(x.dim() == 4, "gaussian_blur: input must be (N, C, H, W), got ", shape_str(x.shape()));
  if (sigma <= 0.0) return x;
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const std::vector<double> taps = gaussian_taps(sigma, H, W);
  const int64_t r = static_cast<int64_t>(taps.size() / 2), k = static_cast<int64_t>(taps.size());
  if (r == 0) return x;
  const Tensor g = Tensor::from_vector(taps, {k}).to(x.dtype()).to(x.device());
  const Tensor along_w = g.reshape({1, 1, 1, k});                           // conv weight (1, 1, 1, 2r+1)
  const Tensor along_h = g.reshape({1, 1, k, 1});                           // conv weight (1, 1, 2r+1, 1)
  Tensor planes = x.reshape({N * C, 1, H, W});                              // (N C, 1, H, W)
  planes = conv2d(pad2d(planes, {r, r, 0, 0}, PadMode::Reflect), along_w);  // rows
  planes = conv2d(pad2d(planes, {0, 0, r, r}, PadMode::Reflect), along_h);  // columns
  return planes.reshape({N, C, H, W});
}

}  // namespace loom::models
