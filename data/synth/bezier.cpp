// bezier.cpp: Bezier-scar and Bezier-clump shapes, their noise and cut-paste
// fills, and the paste / fuse blends (see bezier.h for the model).
#include "data/synth/bezier.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "data/random_draws.h"
#include "data/synth/perlin.h"
#include "data/synth/shapes.h"
#include "data/synth/warp.h"
#include "tensor/error.h"

namespace loom::data::synth {

namespace {

// B(t) = (1-t)^3 P0 + 3 (1-t)^2 t P1 + 3 (1-t) t^2 P2 + t^3 P3
Point cubic_bezier(const Point& p0, const Point& p1, const Point& p2, const Point& p3, double t) {
  const double s = 1.0 - t;
  const double w0 = s * s * s, w1 = 3 * s * s * t, w2 = 3 * s * t * t, w3 = t * t * t;
  return {w0 * p0.y + w1 * p1.y + w2 * p2.y + w3 * p3.y, w0 * p0.x + w1 * p1.x + w2 * p2.x + w3 * p3.x};
}

// Appends `samples` points of the segment, t = 0 .. (samples-1)/samples (the
// next segment supplies t = 1), or t = 0 .. 1 when `closing`.
void sample_segment(std::vector<Point>& out, const Point& p0, const Point& p1, const Point& p2, const Point& p3,
                    int samples, bool closing) {
  const int last = closing ? samples : samples - 1;
  for (int k = 0; k <= last; ++k) out.push_back(cubic_bezier(p0, p1, p2, p3, static_cast<double>(k) / samples));
}

// A coordinate uniform over [half, limit - 1 - half], or the middle when that is empty.
double random_centre(Generator& gen, double half, int64_t limit) {
  const double hi = static_cast<double>(limit - 1) - half;
  if (hi < half) return 0.5 * static_cast<double>(limit - 1);
  return draw_uniform(gen, half, hi);
}

double shorter_side(int64_t height, int64_t width) { return static_cast<double>(std::min(height, width)); }

Tensor noise_fill(int64_t c, int64_t h, int64_t w, Generator& gen) {
  const double level = draw_uniform(gen, 0.0, 1.0);
  const double amplitude = draw_uniform(gen, 0.02, 0.25);
  const std::vector<double> tint = draw_uniforms(gen, c, -0.1, 0.1);
  const std::vector<float> u = uniform({h, w}, -1.0, 1.0, gen).to_vector<float>();
  Tensor fill = Tensor::empty({c, h, w});  // (C, H, W)
  float* f = fill.data<float>();
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t k = 0; k < h * w; ++k)
      f[ch * h * w + k] = static_cast<float>(
          std::clamp(level + tint[static_cast<size_t>(ch)] + amplitude * u[static_cast<size_t>(k)], 0.0, 1.0));
  return fill;
}

Tensor cut_paste_fill(const Tensor& image, const Tensor& source, Generator& gen) {
  const int64_t c = image.size(0), h = image.size(1), w = image.size(2);
  const Tensor src = source.defined() ? match_texture(source, c, h, w) : image;
  const int64_t dy = draw_int(gen, h / 4, h - h / 4 + 1), dx = draw_int(gen, w / 4, w - w / 4 + 1);
  Tensor fill = Tensor::empty({c, h, w});  // (C, H, W): src rolled by (dy, dx)
  const float* s = src.data<float>();
  float* f = fill.data<float>();
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < w; ++j) f[(ch * h + i) * w + j] = s[(ch * h + (i + dy) % h) * w + (j + dx) % w];
  return fill;
}

}  // namespace

Region bezier_scar_region(int64_t height, int64_t width, Generator& gen, const BezierParams& p) {
  const double side = shorter_side(height, width);
  const double length = draw_uniform(gen, p.length_min, p.length_max) * side;
  const double band = std::max(1.5, draw_uniform(gen, p.band_min, p.band_max) * side);
  const double thickness = std::clamp(draw_uniform(gen, p.thickness_min, p.thickness_max) * side, 1.5, band);
  const double angle = draw_uniform(gen, 0.0, std::numbers::pi);
  const double c = std::cos(angle), s = std::sin(angle);
  const double cy = random_centre(gen, 0.5 * (std::abs(s) * length + std::abs(c) * band), height);
  const double cx = random_centre(gen, 0.5 * (std::abs(c) * length + std::abs(s) * band), width);
  // Control points in the band's frame (a along, b across), then in the image.
  const double slack = 0.5 * (band - thickness);
  const std::vector<double> across = draw_uniforms(gen, 4, -slack, slack);
  const double along[4] = {-0.5 * length, -length / 6, length / 6, 0.5 * length};
  Point ctrl[4];
  for (int k = 0; k < 4; ++k)
    ctrl[k] = {cy + along[k] * s + across[static_cast<size_t>(k)] * c,
               cx + along[k] * c - across[static_cast<size_t>(k)] * s};
  std::vector<Point> curve;
  sample_segment(curve, ctrl[0], ctrl[1], ctrl[2], ctrl[3], 4 * static_cast<int>(std::ceil(length)) + 4, true);
  return stroke_polyline(height, width, curve, thickness);
}

Region bezier_clump_region(int64_t height, int64_t width, Generator& gen, const BezierParams& p) {
  const double side = shorter_side(height, width);
  const double radius = std::max(1.5, draw_uniform(gen, p.radius_min, p.radius_max) * side);
  const auto n = static_cast<size_t>(draw_int(gen, 4, 9));
  const double cy = random_centre(gen, radius, height), cx = random_centre(gen, radius, width);
  std::vector<double> angles = draw_uniforms(gen, static_cast<int64_t>(n), 0.0, 2.0 * std::numbers::pi);
  std::sort(angles.begin(), angles.end());
  const std::vector<double> radii = draw_uniforms(gen, static_cast<int64_t>(n), 0.4 * radius, radius);
  std::vector<Point> pts(n);
  for (size_t k = 0; k < n; ++k) pts[k] = {cy + radii[k] * std::sin(angles[k]), cx + radii[k] * std::cos(angles[k])};
  // Closed Catmull-Rom spline as cubic Bezier segments P_k -> P_{k+1}.
  std::vector<Point> outline;
  for (size_t k = 0; k < n; ++k) {
    const Point& prev = pts[(k + n - 1) % n];
    const Point& a = pts[k];
    const Point& b = pts[(k + 1) % n];
    const Point& next = pts[(k + 2) % n];
    const Point c1{a.y + (b.y - prev.y) / 6, a.x + (b.x - prev.x) / 6};
    const Point c2{b.y - (next.y - a.y) / 6, b.x - (next.x - a.x) / 6};
    sample_segment(outline, a, c1, c2, b, 24, false);
  }
  Region shape = fill_polygon(height, width, outline);

  // Erode and split: drop the pixels where a Perlin field falls below tau.
  const double cells = static_cast<double>(draw_int(gen, 3, 7));
  const double tau = draw_uniform(gen, -0.5, 0.0);
  const auto res_y = std::max<int64_t>(1, std::llround(cells * static_cast<double>(height) / (2 * radius)));
  const auto res_x = std::max<int64_t>(1, std::llround(cells * static_cast<double>(width) / (2 * radius)));
  const std::vector<float> field = perlin_noise(height, width, res_y, res_x, gen).to_vector<float>();
  Region split = shape;
  for (size_t k = 0; k < split.inside.size(); ++k)
    if (field[k] < tau) split.inside[k] = 0;
  return split.count() > 0 ? split : shape;
}

SynthResult bezier_defect(const Tensor& image_in, const Tensor& source, BezierShape shape, Generator& gen,
                          const BezierParams& params) {
  const Tensor image = checked_image(image_in, "bezier");
  const int64_t c = image.size(0), h = image.size(1), w = image.size(2);
  const Region region =
      shape == BezierShape::Scar ? bezier_scar_region(h, w, gen, params) : bezier_clump_region(h, w, gen, params);
  BezierFill fill_kind = params.fill;
  if (fill_kind == BezierFill::Random) fill_kind = draw_bool(gen, 0.5) ? BezierFill::Noise : BezierFill::CutPaste;
  const Tensor fill = fill_kind == BezierFill::Noise ? noise_fill(c, h, w, gen) : cut_paste_fill(image, source, gen);
  BezierBlend blend = params.blend;
  if (blend == BezierBlend::Random) blend = draw_bool(gen, 0.5) ? BezierBlend::Paste : BezierBlend::Fuse;
  if (blend == BezierBlend::Paste) return paste_hard(image, fill, region);

  // Fuse: alpha = opacity * (G_sigma * shape), inside the shape only.
  const double opacity = draw_uniform(gen, 0.5, 1.0);
  const double sigma = draw_uniform(gen, 1.0, 3.0);
  std::vector<float> alpha(region.inside.begin(), region.inside.end());
  alpha = gaussian_blur(alpha, h, w, sigma);
  for (float& a : alpha) a *= static_cast<float>(opacity);
  return blend_soft(image, fill, alpha, region);
}

}  // namespace loom::data::synth
