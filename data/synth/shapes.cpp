// shapes.cpp: ellipses, even-odd polygon fill and thick polylines on the pixel
// grid (see shapes.h).
#include "data/synth/shapes.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "data/random_draws.h"
#include "tensor/error.h"

namespace loom::data::synth {

Ellipse random_ellipse(int64_t height, int64_t width, Generator& gen, double min_frac, double max_frac) {
  LOOM_CHECK(min_frac > 0 && min_frac <= max_frac && max_frac <= 0.5, "random_ellipse: axis fractions must satisfy ",
             "0 < min <= max <= 0.5, got [", min_frac, ", ", max_frac, ")");
  const double side = static_cast<double>(std::min(height, width));
  const double first = draw_uniform(gen, min_frac, max_frac) * side;
  const double second = draw_uniform(gen, min_frac, max_frac) * side;
  Ellipse e;
  e.semi_major = std::max(first, second);
  e.semi_minor = std::min(first, second);
  e.angle = draw_uniform(gen, 0.0, std::numbers::pi);
  // Half extents of the turned ellipse's bounding box.
  const double c = std::cos(e.angle), s = std::sin(e.angle);
  const double half_x = std::hypot(e.semi_major * c, e.semi_minor * s);
  const double half_y = std::hypot(e.semi_major * s, e.semi_minor * c);
  const double hi_y = std::max(half_y, static_cast<double>(height - 1) - half_y);
  const double hi_x = std::max(half_x, static_cast<double>(width - 1) - half_x);
  e.cy = draw_uniform(gen, std::min(half_y, hi_y), hi_y);
  e.cx = draw_uniform(gen, std::min(half_x, hi_x), hi_x);
  return e;
}

double ellipse_radius_squared(const Ellipse& e, double y, double x) {
  const double c = std::cos(e.angle), s = std::sin(e.angle);
  const double dy = y - e.cy, dx = x - e.cx;
  const double u = (c * dx + s * dy) / e.semi_major, v = (-s * dx + c * dy) / e.semi_minor;
  return u * u + v * v;
}

Region fill_ellipse(int64_t height, int64_t width, const Ellipse& e) {
  Region region(height, width);
  for (int64_t i = 0; i < height; ++i)
    for (int64_t j = 0; j < width; ++j)
      region.at(i, j) = ellipse_radius_squared(e, static_cast<double>(i), static_cast<double>(j)) <= 1.0 ? 1 : 0;
  return region;
}

Region fill_polygon(int64_t height, int64_t width, const std::vector<Point>& polygon) {
  Region region(height, width);
  const size_t n = polygon.size();
  if (n < 3) return region;
  std::vector<double> crossings;
  for (int64_t i = 0; i < height; ++i) {
    // x positions where the edges cross the row y = i (half-open in y, so a
    // vertex on the row counts once).
    const auto y = static_cast<double>(i);
    crossings.clear();
    for (size_t k = 0; k < n; ++k) {
      const Point& a = polygon[k];
      const Point& b = polygon[(k + 1) % n];
      if ((a.y <= y) == (b.y <= y)) continue;
      crossings.push_back(a.x + (y - a.y) / (b.y - a.y) * (b.x - a.x));
    }
    std::sort(crossings.begin(), crossings.end());
    for (size_t k = 0; k + 1 < crossings.size(); k += 2) {
      const int64_t j0 = std::max<int64_t>(0, static_cast<int64_t>(std::ceil(crossings[k])));
      const int64_t j1 = std::min<int64_t>(width - 1, static_cast<int64_t>(std::floor(crossings[k + 1])));
      for (int64_t j = j0; j <= j1; ++j) region.at(i, j) = 1;
    }
  }
  return region;
}

Region stroke_polyline(int64_t height, int64_t width, const std::vector<Point>& line, double thickness) {
  Region region(height, width);
  const double r = 0.5 * thickness;
  for (size_t k = 0; k + 1 < line.size(); ++k) {
    const Point& a = line[k];
    const Point& b = line[k + 1];
    const int64_t i0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(std::min(a.y, b.y) - r)));
    const int64_t i1 = std::min<int64_t>(height - 1, static_cast<int64_t>(std::ceil(std::max(a.y, b.y) + r)));
    const int64_t j0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(std::min(a.x, b.x) - r)));
    const int64_t j1 = std::min<int64_t>(width - 1, static_cast<int64_t>(std::ceil(std::max(a.x, b.x) + r)));
    const double ey = b.y - a.y, ex = b.x - a.x, len2 = ey * ey + ex * ex;
    for (int64_t i = i0; i <= i1; ++i)
      for (int64_t j = j0; j <= j1; ++j) {
        // Distance from the pixel centre to the segment a-b.
        const double py = static_cast<double>(i) - a.y, px = static_cast<double>(j) - a.x;
        const double t = len2 > 0 ? std::clamp((py * ey + px * ex) / len2, 0.0, 1.0) : 0.0;
        const double dy = py - t * ey, dx = px - t * ex;
        if (dy * dy + dx * dx <= r * r) region.at(i, j) = 1;
      }
  }
  return region;
}

}  // namespace loom::data::synth
