// defects.cpp: the fabric defect classes of defects.h. The surface defects
// (colour spot, oil stain, knot, scratch) blend an appearance into the surface
// through a coverage map alpha: out = surface + alpha (appearance - surface).
// The thread defects (broken end, broken yarn, white stripe, hole) re-render
// the fabric with ThreadEdits and take the pixels that changed.
#include "data/fabric/defects.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "data/fabric/noise.h"
#include "data/pixel_math.h"
#include "data/random_draws.h"
#include "tensor/error.h"

namespace loom::data::fabric {

namespace {

constexpr double kPi = std::numbers::pi;

// A (3, H, W) surface being edited in place.
struct Surface {
  Tensor tensor;  // (3, H, W) float32, contiguous
  float* data;
  int64_t height, width;

  explicit Surface(const Tensor& src)
      : tensor(src.to(DType::Float32).contiguous().clone()),
        data(tensor.data<float>()),
        height(src.size(1)),
        width(src.size(2)) {}
  float& at(int64_t c, int64_t y, int64_t x) { return data[(c * height + y) * width + x]; }
  // Blends `target` into pixel (y, x) with weight alpha in [0, 1]: c += alpha (target_c - c).
  void blend(int64_t y, int64_t x, double alpha, const std::array<double, 3>& target) {
    for (int64_t c = 0; c < 3; ++c) {
      float& v = at(c, y, x);
      v = static_cast<float>(v + alpha * (target[c] - v));
    }
  }
  std::array<double, 3> pixel(int64_t y, int64_t x) { return {at(0, y, x), at(1, y, x), at(2, y, x)}; }
};

// The pixel rows/columns [lo, hi) of a box around (cy, cx) of half size r,
// clipped to the image.
struct Box {
  int64_t y0, y1, x0, x1;
};
Box box_around(double cy, double cx, double r, int64_t height, int64_t width) {
  return {std::max<int64_t>(0, static_cast<int64_t>(std::floor(cy - r))),
          std::min<int64_t>(height, static_cast<int64_t>(std::ceil(cy + r)) + 1),
          std::max<int64_t>(0, static_cast<int64_t>(std::floor(cx - r))),
          std::min<int64_t>(width, static_cast<int64_t>(std::ceil(cx + r)) + 1)};
}

// An irregular round shape: radius r(theta) = radius (1 + sum_k a_k cos(k theta + phi_k))
// for k = 2, 3, 5.
struct Blob {
  double cy = 0, cx = 0, radius = 0;
  std::array<double, 3> amplitude{}, phase{};
  static constexpr std::array<int, 3> kHarmonics{2, 3, 5};

  double radius_at(double theta) const {
    double r = 1.0;
    for (size_t k = 0; k < 3; ++k) r += amplitude[k] * std::cos(kHarmonics[k] * theta + phase[k]);
    return radius * r;
  }
  // Signed distance (approximately, in px) from pixel centre (y, x) to the
  // outline: positive inside.
  double inside_by(double y, double x) const {
    const double dy = y - cy, dx = x - cx;
    return radius_at(std::atan2(dy, dx)) - std::sqrt(dy * dy + dx * dx);
  }
  // The largest radius the outline can reach.
  double reach() const { return radius * (1.0 + amplitude[0] + amplitude[1] + amplitude[2]); }
};

// A blob of radius U[r_lo, r_hi] with harmonics up to `irregularity`, centred
// so that it lies inside the image with a margin.
Blob draw_blob(Generator& gen, int64_t height, int64_t width, double r_lo, double r_hi, double irregularity) {
  Blob b;
  b.radius = draw_uniform(gen, r_lo, r_hi);
  for (size_t k = 0; k < 3; ++k) {
    b.amplitude[k] = draw_uniform(gen, 0.0, irregularity / (1.0 + k));
    b.phase[k] = draw_uniform(gen, 0.0, 2.0 * kPi);
  }
  const double margin_y = std::min(b.reach() + 2.0, 0.5 * height), margin_x = std::min(b.reach() + 2.0, 0.5 * width);
  b.cy = draw_uniform(gen, margin_y, std::max(margin_y + 1e-9, height - margin_y));
  b.cx = draw_uniform(gen, margin_x, std::max(margin_x + 1e-9, width - margin_x));
  return b;
}

double min_side(const Fabric& f) { return static_cast<double>(std::min(f.height(), f.width())); }

// ---- colour spot -----------------------------------------------------------

const std::array<std::array<double, 3>, 6> kDyes{{{0.75, 0.33, 0.15},    // rust
                                                  {0.22, 0.32, 0.80},    // blue ink
                                                  {0.30, 0.62, 0.30},    // green
                                                  {0.90, 0.72, 0.18},    // yellow
                                                  {0.55, 0.28, 0.60},    // purple
                                                  {0.35, 0.24, 0.18}}};  // brown

// Hard-edged blob; inside, the surface is multiplied by the dye tint
// (1 - s) + s dye and darkened by 0.8: the texture shows through.
Tensor color_spot(const Fabric& fabric, const Tensor& surface, Generator& gen) {
  Surface s(surface);
  const double side = min_side(fabric);
  const Blob blob = draw_blob(gen, s.height, s.width, std::max(3.0, 0.04 * side), std::max(4.0, 0.10 * side), 0.3);
  const auto& dye = kDyes[static_cast<size_t>(draw_int(gen, 0, static_cast<int64_t>(kDyes.size())))];
  const double strength = draw_uniform(gen, 0.55, 0.85);
  const Box box = box_around(blob.cy, blob.cx, blob.reach() + 1.0, s.height, s.width);
  for (int64_t y = box.y0; y < box.y1; ++y)
    for (int64_t x = box.x0; x < box.x1; ++x) {
      const double alpha = clamp01(blob.inside_by(y + 0.5, x + 0.5) + 0.5);  // one-pixel anti-aliased edge
      if (alpha <= 0.0) continue;
      std::array<double, 3> target = s.pixel(y, x);
      for (int c = 0; c < 3; ++c) target[c] *= 0.8 * (1.0 - strength + strength * dye[c]);
      s.blend(y, x, alpha, target);
    }
  return s.tensor;
}

// ---- oil stain ---------------------------------------------------------------

// alpha = opacity * S((r(theta) - d) / feather) * mottling, S = smoothstep on
// [0, 1]: zero on and outside the outline, full opacity `feather` px inside it.
// The stain multiplies the surface by a yellow-brown (1 - 0.55, 1 - 0.6, 1 - 0.7).
Tensor oil_stain(const Fabric& fabric, const Tensor& surface, Generator& gen) {
  Surface s(surface);
  const double side = min_side(fabric);
  const Blob blob = draw_blob(gen, s.height, s.width, std::max(5.0, 0.06 * side), std::max(7.0, 0.13 * side), 0.35);
  const double opacity = draw_uniform(gen, 0.6, 0.85);
  const double feather = blob.radius * draw_uniform(gen, 0.3, 0.5);
  const PeriodicNoise mottle(6, 6, gen);  // over the blob's box
  const double box_r = blob.reach() + 1.0;
  const Box box = box_around(blob.cy, blob.cx, box_r, s.height, s.width);
  const std::array<double, 3> oil{0.45, 0.40, 0.30};
  for (int64_t y = box.y0; y < box.y1; ++y)
    for (int64_t x = box.x0; x < box.x1; ++x) {
      const double inside = blob.inside_by(y + 0.5, x + 0.5);
      if (inside <= 0.0) continue;
      const double m = mottle.at((y - blob.cy + box_r) / (2 * box_r) * 6, (x - blob.cx + box_r) / (2 * box_r) * 6);
      const double alpha = opacity * smoothstep01(clamp01(inside / feather)) * (0.75 + 0.25 * m);
      std::array<double, 3> target = s.pixel(y, x);
      for (int c = 0; c < 3; ++c) target[c] *= oil[c];
      s.blend(y, x, alpha, target);
    }
  return s.tensor;
}

// ---- knot ------------------------------------------------------------------

// An ellipse with semi-axes a (along the unit direction (dy, dx)) and b across.
struct Ellipse {
  double cy, cx, dy, dx, a, b;
  // Local coordinates (p, q) = (along / a, across / b).
  void local(double y, double x, double* p, double* q) const {
    const double ry = y - cy, rx = x - cx;
    *p = (ry * dy + rx * dx) / a;
    *q = (rx * dy - ry * dx) / b;
  }
  // Approximate signed distance inside the outline, in px.
  double inside_by(double y, double x) const {
    double p, q;
    local(y, x, &p, &q);
    return (1.0 - std::sqrt(p * p + q * q)) * std::min(a, b);
  }
};

// The across-coordinate of thread `i` of `axis` at the pixel (y, x) that lies
// on (or near) it: the pixel position minus its distance from the centre line.
double centre_line_at(const Fabric& fabric, Axis axis, int64_t i, int64_t y, int64_t x) {
  const ThreadAxis& t = fabric.threads(axis);
  const double u = axis == Axis::Warp ? x + 0.5 + fabric.warp_meander(y) : y + 0.5 + fabric.weft_meander(x);
  double d = u - t.center(i);
  if (t.period > 0) d -= t.period * std::round(d / t.period);
  return (axis == Axis::Warp ? x + 0.5 : y + 0.5) - d;
}

// A lump of yarn on one thread: a raised ellipsoid (normal (q, p, sqrt(1 - p^2 -
// q^2)) in the thread's frame) lit like the yarns, with spiral fibre stripes
// and fibre mottling, over a shadow cast away from the light.
Tensor knot(const Fabric& fabric, const Tensor& surface, Generator& gen) {
  Surface s(surface);
  const Axis axis = draw_bool(gen, 0.5) ? Axis::Warp : Axis::Weft;
  const ThreadAxis& threads = fabric.threads(axis);
  const int64_t py = draw_int(gen, s.height / 5, std::max<int64_t>(s.height / 5 + 1, s.height * 4 / 5));
  const int64_t px = draw_int(gen, s.width / 5, std::max<int64_t>(s.width / 5 + 1, s.width * 4 / 5));
  const int64_t thread = fabric.thread_at(axis, px + 0.5, py + 0.5);
  LOOM_CHECK(thread >= 0, "knot: no thread near pixel (", py, ", ", px, ")");
  const double across = centre_line_at(fabric, axis, thread, py, px);
  Ellipse e{};
  e.cy = axis == Axis::Warp ? py + 0.5 : across;
  e.cx = axis == Axis::Warp ? across : px + 0.5;
  const double tilt = draw_normal(gen, 0.0, 0.15);  // lumps sit a little askew
  e.dy = axis == Axis::Warp ? std::cos(tilt) : std::sin(tilt);
  e.dx = axis == Axis::Warp ? std::sin(tilt) : std::cos(tilt);
  e.a = std::max(4.0, threads.spacing * draw_uniform(gen, 1.4, 2.4));
  e.b = std::max(3.0, threads.spacing * draw_uniform(gen, 0.8, 1.2));
  const Rgb base = threads.color[static_cast<size_t>(thread)];
  const double tone = draw_uniform(gen, 0.9, 1.25);
  const double twist_phase = draw_uniform(gen, 0.0, 1.0);
  const PeriodicNoise fibres(12, 12, gen);  // fibre mottling over the lump's box
  const Vec3 light = light_direction();
  // The shadow: the same ellipse, a little larger, pushed away from the light.
  Ellipse shadow = e;
  shadow.cy -= light.y * 0.6 * e.b;
  shadow.cx -= light.x * 0.6 * e.b;
  shadow.a *= 1.1;
  shadow.b *= 1.1;
  const Box box = box_around(e.cy, e.cx, e.a * 1.1 + 2.0 * e.b, s.height, s.width);
  for (int64_t y = box.y0; y < box.y1; ++y)
    for (int64_t x = box.x0; x < box.x1; ++x) {
      const double yc = y + 0.5, xc = x + 0.5;
      const double shadow_alpha = clamp01(shadow.inside_by(yc, xc) + 0.5);
      if (shadow_alpha > 0.0) {
        std::array<double, 3> dark = s.pixel(y, x);
        for (double& v : dark) v *= 0.55;
        s.blend(y, x, shadow_alpha, dark);
      }
      const double lump_alpha = clamp01(e.inside_by(yc, xc) + 0.5);
      if (lump_alpha <= 0.0) continue;
      double p, q;
      e.local(yc, xc, &p, &q);
      const double rho2 = std::min(1.0, p * p + q * q);
      const double up = std::sqrt(1.0 - rho2);
      // Normal in image coordinates: along component p, across component q.
      const double n_y = p * e.dy - q * e.dx, n_x = p * e.dx + q * e.dy;
      const double inv = 1.0 / std::sqrt(n_y * n_y + n_x * n_x + up * up);
      const double diffuse = std::max(0.0, (n_x * light.x + n_y * light.y + up * light.z) * inv) / light.z;
      const double stripes = 1.0 + 0.25 * std::sin(2.0 * kPi * (p * e.a / 2.5 + 0.9 * q * e.b / 2.5 + twist_phase));
      const double mottle = 1.0 + 0.3 * (2.0 * fibres.at(6.0 * (p + 1.0), 6.0 * (q + 1.0)) - 1.0);
      const double k = tone * (0.3 + 0.7 * diffuse) * stripes * mottle;
      s.blend(y, x, lump_alpha, {base.r * k, base.g * k, base.b * k});
    }
  return s.tensor;
}

// ---- scratch -----------------------------------------------------------------

// A quadratic Bezier B(t) = (1-t)^2 P0 + 2 t (1-t) P1 + t^2 P2 of width w,
// coverage clamp(w/2 + 1/2 - distance, 0, 1). On a light fabric (mean luma
// of the covered pixels above 0.6) it darkens the surface by `amount`,
// otherwise it whitens it: c + amount (1 - c).
Tensor scratch(const Fabric& fabric, const Tensor& surface, Generator& gen) {
  Surface s(surface);
  const double side = min_side(fabric);
  const double length = side * draw_uniform(gen, 0.2, 0.45);
  const double angle = draw_uniform(gen, 0.0, kPi);
  const double cy = draw_uniform(gen, 0.25, 0.75) * s.height, cx = draw_uniform(gen, 0.25, 0.75) * s.width;
  const double bend = length * draw_uniform(gen, -0.2, 0.2);
  const double width = draw_uniform(gen, 1.5, 3.0);
  const double amount = draw_uniform(gen, 0.55, 0.8);
  const double uy = std::sin(angle), ux = std::cos(angle);
  const double p0y = cy - 0.5 * length * uy, p0x = cx - 0.5 * length * ux;
  const double p2y = cy + 0.5 * length * uy, p2x = cx + 0.5 * length * ux;
  const double p1y = cy + bend * ux, p1x = cx - bend * uy;  // pushed sideways
  constexpr int kSegments = 48;
  std::vector<std::array<double, 2>> pts;
  for (int k = 0; k <= kSegments; ++k) {
    const double t = static_cast<double>(k) / kSegments, w0 = (1 - t) * (1 - t), w1 = 2 * t * (1 - t), w2 = t * t;
    pts.push_back({w0 * p0y + w1 * p1y + w2 * p2y, w0 * p0x + w1 * p1x + w2 * p2x});
  }
  const Box box = box_around(cy, cx, 0.5 * length + std::abs(bend) + width + 2.0, s.height, s.width);
  std::vector<double> coverage(static_cast<size_t>((box.y1 - box.y0) * (box.x1 - box.x0)), 0.0);
  double luma_sum = 0, weight_sum = 0;
  for (int64_t y = box.y0; y < box.y1; ++y)
    for (int64_t x = box.x0; x < box.x1; ++x) {
      const double yc = y + 0.5, xc = x + 0.5;
      double best = 1e30;  // squared distance to the polyline
      for (int k = 0; k < kSegments; ++k) {
        const double ay = pts[k][0], ax = pts[k][1], by = pts[k + 1][0] - ay, bx = pts[k + 1][1] - ax;
        const double t = std::clamp(((yc - ay) * by + (xc - ax) * bx) / (by * by + bx * bx + 1e-12), 0.0, 1.0);
        const double ey = yc - ay - t * by, ex = xc - ax - t * bx;
        best = std::min(best, ey * ey + ex * ex);
      }
      const double alpha = clamp01(0.5 * width + 0.5 - std::sqrt(best));
      coverage[static_cast<size_t>((y - box.y0) * (box.x1 - box.x0) + (x - box.x0))] = alpha;
      if (alpha > 0) {
        luma_sum += alpha * luma(s.at(0, y, x), s.at(1, y, x), s.at(2, y, x));
        weight_sum += alpha;
      }
    }
  const bool darken = weight_sum > 0 && luma_sum / weight_sum > 0.6;
  for (int64_t y = box.y0; y < box.y1; ++y)
    for (int64_t x = box.x0; x < box.x1; ++x) {
      const double alpha = coverage[static_cast<size_t>((y - box.y0) * (box.x1 - box.x0) + (x - box.x0))];
      if (alpha <= 0.0) continue;
      std::array<double, 3> target = s.pixel(y, x);
      for (double& v : target) v = darken ? v * (1.0 - amount) : v + amount * (1.0 - v);
      s.blend(y, x, alpha, target);
    }
  return s.tensor;
}

// ---- thread defects ------------------------------------------------------------

// surface where the fabric rendered with `edits` equals the plain rendering,
// the edited rendering where it differs.
Tensor with_thread_edits(const Fabric& fabric, const Tensor& surface, const std::vector<ThreadEdit>& edits) {
  const Tensor plain = fabric.render_surface();
  const Tensor edited = fabric.render_surface(edits);
  Surface s(surface);
  const float* p = plain.data<float>();
  const float* e = edited.data<float>();
  const int64_t plane = s.height * s.width;
  for (int64_t i = 0; i < plane; ++i) {
    bool changed = false;
    for (int64_t c = 0; c < 3; ++c) changed |= p[c * plane + i] != e[c * plane + i];
    if (changed)
      for (int64_t c = 0; c < 3; ++c) s.data[c * plane + i] = e[c * plane + i];
  }
  return s.tensor;
}

// The extent of the image along threads of `axis` (H for warp, W for weft).
int64_t along_extent(const Fabric& f, Axis axis) { return axis == Axis::Warp ? f.height() : f.width(); }

// A thread of `axis` crossing the middle 70% of the image.
int64_t draw_thread(const Fabric& fabric, Axis axis, Generator& gen) {
  const double across = axis == Axis::Warp ? fabric.width() : fabric.height();
  const double along = along_extent(fabric, axis);
  const double a = draw_uniform(gen, 0.15, 0.85) * across, b = draw_uniform(gen, 0.15, 0.85) * along;
  const int64_t thread = axis == Axis::Warp ? fabric.thread_at(axis, a, b) : fabric.thread_at(axis, b, a);
  LOOM_CHECK(thread >= 0, "fabric defect: no ", axis == Axis::Warp ? "warp" : "weft", " thread at ", a);
  return thread;
}

// One thread missing over a stretch of 20-80% of the image (sometimes running
// off an edge), its ends tapering over 1-3 thread spacings.
Tensor broken_thread(Axis axis, const Fabric& fabric, const Tensor& surface, Generator& gen) {
  const double extent = static_cast<double>(along_extent(fabric, axis));
  const double spacing = fabric.threads(axis).spacing;
  ThreadEdit edit;
  edit.axis = axis;
  edit.thread = draw_thread(fabric, axis, gen);
  const double length = extent * draw_uniform(gen, 0.2, 0.8);
  edit.from_px = draw_uniform(gen, -0.1 * extent, extent - length + 0.1 * extent);
  edit.to_px = edit.from_px + length;
  edit.radius_scale = 0.0;
  edit.taper_px = spacing * draw_uniform(gen, 1.0, 3.0);
  return with_thread_edits(fabric, surface, {edit});
}

// Two to four neighbouring threads replaced by a thicker near-white yarn over
// 50-100% of the image. The threads run along the axis that shows more on the
// face (weft for plain and basket weaves, warp for warp-faced twills and satins),
// so the stripe is seen.
Tensor white_stripe(const Fabric& fabric, const Tensor& surface, Generator& gen) {
  const Weave& weave = fabric.params().weave;
  const int64_t warp_up = std::count(weave.warp_up.begin(), weave.warp_up.end(), uint8_t{1});
  const Axis axis = 2 * warp_up > static_cast<int64_t>(weave.warp_up.size()) ? Axis::Warp : Axis::Weft;
  const ThreadAxis& threads = fabric.threads(axis);
  const int64_t first = draw_thread(fabric, axis, gen);
  const int64_t count = draw_int(gen, 2, 5);
  const double extent = static_cast<double>(along_extent(fabric, axis));
  const double length = extent * draw_uniform(gen, 0.5, 1.05);
  const double from = draw_uniform(gen, -0.05 * extent, std::max(-0.05 * extent, 1.05 * extent - length));
  const double mix = draw_uniform(gen, 0.7, 0.9), thick = draw_uniform(gen, 1.05, 1.2);
  std::vector<ThreadEdit> edits;
  for (int64_t k = 0; k < count; ++k) {
    ThreadEdit e;
    e.axis = axis;
    e.thread = threads.period > 0 ? (first + k) % threads.count : std::min(first + k, threads.count - 1);
    e.from_px = from;
    e.to_px = from + length;
    e.radius_scale = thick;
    e.color = {0.96f, 0.95f, 0.92f};
    e.color_mix = mix;
    edits.push_back(e);
  }
  return with_thread_edits(fabric, surface, edits);
}

// Every thread whose centre line passes through an irregular blob of 1.2-3
// thread spacings in radius (at most 12% of the image side unless one thread
// spacing needs more) is missing there, each end torn a random distance
// further and tapering, so the hole's rim is ragged.
Tensor hole(const Fabric& fabric, const Tensor& surface, Generator& gen) {
  const double spacing = std::max(fabric.threads(Axis::Warp).spacing, fabric.threads(Axis::Weft).spacing);
  const double side = min_side(fabric);
  const double r_lo = std::max(4.0, 1.2 * spacing);
  const double r_hi = std::max(r_lo, std::min(0.12 * side, 3.0 * spacing));
  const Blob blob = draw_blob(gen, fabric.height(), fabric.width(), r_lo, r_hi, 0.3);
  std::vector<ThreadEdit> edits;
  for (Axis axis : {Axis::Warp, Axis::Weft}) {
    const ThreadAxis& threads = fabric.threads(axis);
    const double reach = blob.reach() + 1.0;
    const int64_t lo = static_cast<int64_t>(std::floor((axis == Axis::Warp ? blob.cy : blob.cx) - reach));
    const int64_t hi = static_cast<int64_t>(std::ceil((axis == Axis::Warp ? blob.cy : blob.cx) + reach));
    for (int64_t i = 0; i < threads.count; ++i) {
      // Walk along the thread's centre line through the blob's box.
      double first = 1e30, last = -1e30;
      for (int64_t a = std::max<int64_t>(lo, 0); a <= std::min<int64_t>(hi, along_extent(fabric, axis) - 1); ++a) {
        const double meander = axis == Axis::Warp ? fabric.warp_meander(a) : fabric.weft_meander(a);
        double across = threads.center(i) - meander;
        const double centre = axis == Axis::Warp ? blob.cx : blob.cy;
        if (threads.period > 0) across -= threads.period * std::round((across - centre) / threads.period);
        const double y = axis == Axis::Warp ? a + 0.5 : across, x = axis == Axis::Warp ? across : a + 0.5;
        if (blob.inside_by(y, x) > 0.0) {
          first = std::min(first, a + 0.5);
          last = std::max(last, a + 0.5);
        }
      }
      if (first > last) continue;
      ThreadEdit e;
      e.axis = axis;
      e.thread = i;
      e.from_px = first - spacing * draw_uniform(gen, 0.0, 0.6);
      e.to_px = last + spacing * draw_uniform(gen, 0.0, 0.6);
      e.radius_scale = 0.0;
      e.taper_px = spacing * draw_uniform(gen, 0.4, 1.2);
      edits.push_back(e);
    }
  }
  return with_thread_edits(fabric, surface, edits);
}

}  // namespace

const std::vector<DefectKind>& defect_kinds() {
  static const std::vector<DefectKind> kinds{DefectKind::ColorSpot, DefectKind::OilStain,   DefectKind::Knot,
                                             DefectKind::BrokenEnd, DefectKind::BrokenYarn, DefectKind::WhiteStripe,
                                             DefectKind::Hole,      DefectKind::Scratch};
  return kinds;
}

std::string defect_name(DefectKind kind) {
  switch (kind) {
    case DefectKind::ColorSpot: return "color_spot";
    case DefectKind::OilStain: return "oil_stain";
    case DefectKind::Knot: return "knot";
    case DefectKind::BrokenEnd: return "broken_end";
    case DefectKind::BrokenYarn: return "broken_yarn";
    case DefectKind::WhiteStripe: return "white_stripe";
    case DefectKind::Hole: return "hole";
    case DefectKind::Scratch: return "scratch";
  }
  return "unknown";
}

DefectKind defect_from_name(const std::string& name) {
  std::string known;
  for (DefectKind k : defect_kinds()) {
    if (defect_name(k) == name) return k;
    known += (known.empty() ? "" : ", ") + defect_name(k);
  }
  LOOM_CHECK(false, "fabric defect: unknown defect '", name, "' (known: ", known, ")");
  return DefectKind::ColorSpot;
}

Tensor draw_defect(DefectKind kind, const Fabric& fabric, const Tensor& surface, Generator& gen) {
  check_shape(surface, {3, fabric.height(), fabric.width()}, "draw_defect", "surface");
  switch (kind) {
    case DefectKind::ColorSpot: return color_spot(fabric, surface, gen);
    case DefectKind::OilStain: return oil_stain(fabric, surface, gen);
    case DefectKind::Knot: return knot(fabric, surface, gen);
    case DefectKind::BrokenEnd: return broken_thread(Axis::Warp, fabric, surface, gen);
    case DefectKind::BrokenYarn: return broken_thread(Axis::Weft, fabric, surface, gen);
    case DefectKind::WhiteStripe: return white_stripe(fabric, surface, gen);
    case DefectKind::Hole: return hole(fabric, surface, gen);
    case DefectKind::Scratch: return scratch(fabric, surface, gen);
  }
  LOOM_CHECK(false, "draw_defect: unknown defect kind ", static_cast<int>(kind));
  return {};
}

DefectSample render_defect(const Fabric& fabric, DefectKind kind, Generator& gen) {
  const Tensor plain = fabric.render_surface();
  for (int attempt = 0; attempt < 8; ++attempt) {
    const Tensor surface = draw_defect(kind, fabric, plain, gen);
    Tensor mask = changed_pixels(plain, surface);
    const uint8_t* m = mask.data<uint8_t>();
    if (std::any_of(m, m + mask.numel(), [](uint8_t v) { return v != 0; }))
      return {fabric.photograph(surface), std::move(mask)};
  }
  LOOM_CHECK(false, "render_defect: eight draws of ", defect_name(kind), " changed no pixel of a ", fabric.height(),
             "x", fabric.width(), " fabric");
  return {};
}

}  // namespace loom::data::fabric
