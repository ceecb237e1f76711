// shapes.h: drawing region shapes on the pixel grid, shared by the methods
// that need an outline (elastic, gradient, Bezier, Poisson): ellipses, polygons
// filled by the even-odd rule, and thick polylines. A pixel belongs to a shape
// when its centre does; pixel (i, j) has its centre at (y, x) = (i, j).
#pragma once
#include <cstdint>
#include <vector>

#include "data/synth/synth.h"

namespace loom::data::synth {

struct Point {
  double y = 0, x = 0;
};

struct Ellipse {
  double cy = 0, cx = 0;                  // centre
  double semi_major = 1, semi_minor = 1;  // semi-axes, in pixels
  double angle = 0;                       // of the major axis from the x axis, radians
};

// Semi-axes a >= b drawn U[min_frac, max_frac) of the shorter image side (the
// larger of two draws is a), angle U[0, pi), the centre uniform over the places
// where the ellipse's bounding box fits inside the image.
Ellipse random_ellipse(int64_t height, int64_t width, Generator& gen, double min_frac, double max_frac);

// The square of the ellipse's radius coordinate at (y, x):
//   r^2 = (u / a)^2 + (v / b)^2,
// (u, v) the offset from the centre along the major and minor axes; 0 at the
// centre, 1 on the outline.
double ellipse_radius_squared(const Ellipse& ellipse, double y, double x);

// Pixels with r^2 <= 1.
Region fill_ellipse(int64_t height, int64_t width, const Ellipse& ellipse);

// Pixels inside the closed polygon (even-odd rule on a horizontal ray).
Region fill_polygon(int64_t height, int64_t width, const std::vector<Point>& polygon);

// Pixels within thickness / 2 of the polyline (distance to the nearest segment).
Region stroke_polyline(int64_t height, int64_t width, const std::vector<Point>& line, double thickness);

}  // namespace loom::data::synth
