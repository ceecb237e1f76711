// perlin.cpp: Perlin gradient noise on a lattice and as a rotated (H, W) image
// (see perlin.h for the formula).
#include "data/synth/perlin.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "tensor/error.h"

namespace loom::data::synth {

PerlinLattice::PerlinLattice(int64_t y0, int64_t x0, int64_t cells_y, int64_t cells_x, Generator& gen)
    : y0_(y0), x0_(x0), cells_y_(cells_y), cells_x_(cells_x) {
  LOOM_CHECK(cells_y >= 1 && cells_x >= 1, "PerlinLattice: needs at least one cell each way, got ", cells_y, "x",
             cells_x);
  const int64_t points = (cells_y + 1) * (cells_x + 1);
  const std::vector<double> angles =
      uniform({points}, 0.0, 2.0 * std::numbers::pi, gen, DType::Float64).to_vector<double>();
  gy_.resize(static_cast<size_t>(points));
  gx_.resize(static_cast<size_t>(points));
  for (size_t k = 0; k < angles.size(); ++k) {
    gy_[k] = std::sin(angles[k]);
    gx_[k] = std::cos(angles[k]);
  }
}

double PerlinLattice::at(double y, double x) const {
  // The cell holding (y, x); a point on the far edge belongs to the last cell.
  const int64_t i = std::clamp(static_cast<int64_t>(std::floor(y)) - y0_, int64_t{0}, cells_y_ - 1);
  const int64_t j = std::clamp(static_cast<int64_t>(std::floor(x)) - x0_, int64_t{0}, cells_x_ - 1);
  const double u = y - static_cast<double>(y0_ + i), v = x - static_cast<double>(x0_ + j);
  const int64_t row = cells_x_ + 1;
  auto dot = [&](int64_t a, int64_t b) {  // g_{corner (i+a, j+b)} . (p - corner)
    const size_t k = static_cast<size_t>((i + a) * row + (j + b));
    return gy_[k] * (u - static_cast<double>(a)) + gx_[k] * (v - static_cast<double>(b));
  };
  auto fade = [](double t) { return t * t * t * (t * (t * 6.0 - 15.0) + 10.0); };
  const double fu = fade(u), fv = fade(v);
  const double top = dot(0, 0) + fv * (dot(0, 1) - dot(0, 0));
  const double bottom = dot(1, 0) + fv * (dot(1, 1) - dot(1, 0));
  return top + fu * (bottom - top);
}

Tensor perlin_noise(int64_t height, int64_t width, int64_t res_y, int64_t res_x, Generator& gen, double angle) {
  LOOM_CHECK(height >= 1 && width >= 1, "perlin_noise: size ", height, "x", width, " is empty");
  LOOM_CHECK(res_y >= 1 && res_x >= 1, "perlin_noise: resolution ", res_y, "x", res_x,
             " must be at least one cell each way");
  // Pixel (i, j) -> rotated pixel coordinates about the centre c -> lattice units.
  const double cy = 0.5 * static_cast<double>(height - 1), cx = 0.5 * static_cast<double>(width - 1);
  const double cos_a = std::cos(angle), sin_a = std::sin(angle);
  const double sy = static_cast<double>(res_y) / static_cast<double>(height);
  const double sx = static_cast<double>(res_x) / static_cast<double>(width);
  auto lattice_point = [&](double i, double j) {
    const double di = i - cy, dj = j - cx;
    return std::pair{(cy + cos_a * di - sin_a * dj) * sy, (cx + sin_a * di + cos_a * dj) * sx};
  };
  // The lattice covers the rotated image's bounding box.
  double y_min = 1e300, y_max = -1e300, x_min = 1e300, x_max = -1e300;
  for (double i : {0.0, static_cast<double>(height - 1)})
    for (double j : {0.0, static_cast<double>(width - 1)}) {
      const auto [y, x] = lattice_point(i, j);
      y_min = std::min(y_min, y), y_max = std::max(y_max, y);
      x_min = std::min(x_min, x), x_max = std::max(x_max, x);
    }
  const auto y0 = static_cast<int64_t>(std::floor(y_min)), x0 = static_cast<int64_t>(std::floor(x_min));
  const int64_t cells_y = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(y_max)) - y0);
  const int64_t cells_x = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(x_max)) - x0);
  const PerlinLattice lattice(y0, x0, cells_y, cells_x, gen);

  Tensor noise = Tensor::empty({height, width});  // (H, W)
  float* out = noise.data<float>();
  for (int64_t i = 0; i < height; ++i)
    for (int64_t j = 0; j < width; ++j) {
      const auto [y, x] = lattice_point(static_cast<double>(i), static_cast<double>(j));
      out[i * width + j] = static_cast<float>(std::numbers::sqrt2 * lattice.at(y, x));
    }
  return noise;
}

}  // namespace loom::data::synth
