// render.cpp: the woven-fabric renderer (render.h): thread layout, the
// per-pixel yarn geometry and shading, illumination and sensor noise.
#include "data/fabric/render.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>

#include "data/pixel_math.h"
#include "data/random_draws.h"
#include "tensor/error.h"

namespace loom::data::fabric {

namespace {

constexpr double kPi = std::numbers::pi;

double wrap_signed(double d, double period) { return period > 0 ? d - period * std::round(d / period) : d; }

int64_t wrap_index(int64_t i, int64_t n) {
  const int64_t r = i % n;
  return r < 0 ? r + n : r;
}

// Draws the threads of one axis across `extent` pixels. Tileable: a whole
// number of `unit` threads (weave repeat and colour stripes) spans the extent.
ThreadAxis make_axis(const YarnParams& yarn, double extent, int64_t unit, bool tileable, Generator& gen) {
  LOOM_CHECK(yarn.spacing_px >= 1.0, "fabric: thread spacing must be >= 1 px, got ", yarn.spacing_px);
  LOOM_CHECK(yarn.width > 0.0, "fabric: yarn width must be positive, got ", yarn.width);
  LOOM_CHECK(!yarn.colors.empty() && yarn.stripe >= 1, "fabric: a yarn needs at least one colour and stripe >= 1");
  ThreadAxis a;
  if (tileable) {
    const int64_t units = std::max<int64_t>(1, std::llround(extent / (yarn.spacing_px * unit)));
    a.count = units * unit;
    a.spacing = extent / static_cast<double>(a.count);
    a.period = extent;
    a.phase = draw_uniform(gen, 0.0, a.spacing);
  } else {
    // Two spare threads before the image and after it, so that meander and
    // offsets never uncover an edge.
    a.spacing = yarn.spacing_px;
    a.count = static_cast<int64_t>(std::ceil(extent / a.spacing)) + 4;
    a.phase = -2.0 * a.spacing - draw_uniform(gen, 0.0, a.spacing);
  }
  a.pattern_shift = draw_int(gen, 0, unit);
  const std::vector<double> offsets = draw_normals(gen, a.count, 0.0, yarn.tension_jitter * a.spacing);
  const std::vector<double> thickness = draw_normals(gen, a.count, 0.0, yarn.thickness_jitter);
  const std::vector<double> brightness = draw_normals(gen, a.count, 0.0, yarn.color_jitter);
  const int64_t n_colors = static_cast<int64_t>(yarn.colors.size());
  // Colour stripes start at a random thread (a whole colour repeat fits a
  // tileable image, so any start wraps).
  const int64_t color_shift = draw_int(gen, 0, yarn.stripe * n_colors);
  for (int64_t i = 0; i < a.count; ++i) {
    a.offset.push_back(std::clamp(offsets[i], -0.3 * a.spacing, 0.3 * a.spacing));
    a.radius.push_back(0.5 * yarn.width * a.spacing * (1.0 + std::clamp(thickness[i], -0.3, 0.3)));
    const Rgb base = yarn.colors[static_cast<size_t>(wrap_index((i + color_shift) / yarn.stripe, n_colors))];
    const float k = static_cast<float>(std::clamp(1.0 + brightness[i], 0.5, 1.5));
    a.color.push_back({base.r * k, base.g * k, base.b * k});
  }
  return a;
}

// The light direction and the half vector between it and the viewer (0, 0, 1).
struct Light {
  float lx, ly, lz, hx, hy, hz;
};

Light make_light() {
  const Vec3 l = light_direction();
  const double hx = l.x, hy = l.y, hz = l.z + 1.0;
  const double hn = std::sqrt(hx * hx + hy * hy + hz * hz);
  return {float(l.x), float(l.y), float(l.z), float(hx / hn), float(hy / hn), float(hz / hn)};
}

// A yarn as seen at one pixel.
struct YarnSample {
  float alpha = 0;  // coverage of the pixel
  float z = -1;     // centre-line height, -1 (under) .. +1 (over)
  Rgb color;        // shaded colour
};

// The edits of one render, indexed by thread.
struct EditIndex {
  std::vector<std::vector<const ThreadEdit*>> by_thread;
  explicit EditIndex(int64_t count) : by_thread(static_cast<size_t>(count)) {}
};

// Applies the edits of one thread at position `along` (see ThreadEdit): the
// radius scale is e.radius_scale inside the stretch and ramps linearly back to
// 1 over the taper length outside it; inside, the colour is mixed.
void apply_edits(const std::vector<const ThreadEdit*>& edits, double along, double* radius_scale, Rgb* color) {
  for (const ThreadEdit* e : edits) {
    const double outside = std::max(e->from_px - along, along - e->to_px);  // <= 0 inside the stretch
    if (outside <= 0.0) {
      *radius_scale *= e->radius_scale;
      const float m = static_cast<float>(e->color_mix);
      color->r += m * (e->color.r - color->r);
      color->g += m * (e->color.g - color->g);
      color->b += m * (e->color.b - color->b);
    } else if (outside < e->taper_px) {
      *radius_scale *= e->radius_scale + (1.0 - e->radius_scale) * outside / e->taper_px;
    }
  }
}

}  // namespace

Vec3 light_direction() {
  const double x = -0.35, y = -0.45, z = 0.82;
  const double n = std::sqrt(x * x + y * y + z * z);
  return {x / n, y / n, z / n};
}

int64_t ThreadAxis::nearest(double u, double* signed_distance) const {
  const int64_t k = static_cast<int64_t>(std::floor((u - phase) / spacing - 0.5));
  int64_t best = -1;
  double best_d = 0;
  for (int64_t cand = k - 1; cand <= k + 2; ++cand) {
    int64_t i = cand;
    if (period > 0)
      i = wrap_index(cand, count);
    else if (i < 0 || i >= count)
      continue;
    const double d = wrap_signed(u - center(i), period);
    if (best < 0 || std::abs(d) < std::abs(best_d)) {
      best = i;
      best_d = d;
    }
  }
  *signed_distance = best_d;
  return best;
}

int64_t ThreadAxis::next(int64_t i) const {
  if (period > 0) return wrap_index(i + 1, count);
  return i + 1 < count ? i + 1 : -1;
}

Fabric::Fabric(const FabricParams& params, int64_t height, int64_t width, Generator& gen)
    : params_(params), height_(height), width_(width) {
  LOOM_CHECK(height >= 1 && width >= 1, "Fabric: image size must be positive, got ", height, "x", width);
  const Weave& weave = params.weave;
  LOOM_CHECK(weave.rows >= 1 && weave.cols >= 1 && weave.warp_up.size() == static_cast<size_t>(weave.rows * weave.cols),
             "Fabric: weave '", weave.name, "' has an inconsistent interlacing matrix");
  const bool tile = params.tileable;
  const int64_t warp_unit = std::lcm(weave.cols, params.warp.stripe * static_cast<int64_t>(params.warp.colors.size()));
  const int64_t weft_unit = std::lcm(weave.rows, params.weft.stripe * static_cast<int64_t>(params.weft.colors.size()));
  warp_ = make_axis(params.warp, static_cast<double>(width), warp_unit, tile, gen);
  weft_ = make_axis(params.weft, static_cast<double>(height), weft_unit, tile, gen);

  // Slow meander: the warp shifts sideways as a function of y, the weft of x.
  const PeriodicNoise warp_wander(1, lattice_cells(height, params.meander_length_px), gen);
  const PeriodicNoise weft_wander(1, lattice_cells(width, params.meander_length_px), gen);
  const double warp_cell = double(height) / warp_wander.cols(), weft_cell = double(width) / weft_wander.cols();
  for (int64_t y = 0; y < height; ++y)
    warp_meander_.push_back(params.meander_px * (2.0 * warp_wander.at(y / warp_cell) - 1.0));
  for (int64_t x = 0; x < width; ++x)
    weft_meander_.push_back(params.meander_px * (2.0 * weft_wander.at(x / weft_cell) - 1.0));

  warp_slub_ = PeriodicNoise(warp_.count, lattice_cells(height, params.warp.slub_length_px), gen);
  weft_slub_ = PeriodicNoise(weft_.count, lattice_cells(width, params.weft.slub_length_px), gen);
  // Fibre noise: long along the yarn, about a pixel across it.
  warp_fibres_ = PeriodicNoise(lattice_cells(height, params.fibre_length_px), lattice_cells(width, 1.3), gen);
  weft_fibres_ = PeriodicNoise(lattice_cells(height, 1.3), lattice_cells(width, params.fibre_length_px), gen);
  gap_fuzz_ = PeriodicNoise(lattice_cells(height, 2.0), lattice_cells(width, 2.0), gen);

  // Illumination: a tilted plane with a vignette, or for tileable fabrics a
  // cosine with one period across the image in each direction.
  const double angle = draw_uniform(gen, 0.0, 2.0 * kPi);
  const double phase_x = draw_uniform(gen, 0.0, 2.0 * kPi), phase_y = draw_uniform(gen, 0.0, 2.0 * kPi);
  const double vignette = draw_uniform(gen, 0.0, 0.5) * params.illumination;
  const double gx = std::cos(angle) * params.illumination, gy = std::sin(angle) * params.illumination;
  illumination_.resize(static_cast<size_t>(height * width));
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < width; ++x) {
      const double px = (x + 0.5) / width, py = (y + 0.5) / height;  // in (0, 1)
      double gain;
      if (tile) {
        gain = 1.0 + gx * std::cos(2.0 * kPi * px + phase_x) + gy * std::cos(2.0 * kPi * py + phase_y);
      } else {
        const double cx = 2.0 * px - 1.0, cy = 2.0 * py - 1.0;
        gain = 1.0 + gx * cx + gy * cy - vignette * 0.5 * (cx * cx + cy * cy);
      }
      illumination_[static_cast<size_t>(y * width + x)] = static_cast<float>(gain);
    }
  sensor_noise_ = normal({3, height, width}, 0.0, params.sensor_noise, gen);
}

int64_t Fabric::thread_at(Axis axis, double x, double y) const {
  const int64_t xi = std::clamp<int64_t>(static_cast<int64_t>(x), 0, width_ - 1);
  const int64_t yi = std::clamp<int64_t>(static_cast<int64_t>(y), 0, height_ - 1);
  double d;
  if (axis == Axis::Warp) return warp_.nearest(x + warp_meander_[static_cast<size_t>(yi)], &d);
  return weft_.nearest(y + weft_meander_[static_cast<size_t>(xi)], &d);
}

// The per-pixel model of render.h for one render_surface call: the fabric,
// its edits indexed by thread, and the lighting constants.
class SurfaceRenderer {
 public:
  SurfaceRenderer(const Fabric& fabric, const std::vector<ThreadEdit>& edits)
      : f_(fabric),
        p_(fabric.params_),
        warp_edits_(fabric.warp_.count),
        weft_edits_(fabric.weft_.count),
        light_(make_light()) {
    for (const ThreadEdit& e : edits) {
      const ThreadAxis& axis = fabric.threads(e.axis);
      LOOM_CHECK(e.thread >= 0 && e.thread < axis.count, "Fabric::render_surface: edit names ",
                 e.axis == Axis::Warp ? "warp" : "weft", " thread ", e.thread, ", the fabric has ", axis.count);
      (e.axis == Axis::Warp ? warp_edits_ : weft_edits_).by_thread[static_cast<size_t>(e.thread)].push_back(&e);
    }
    // Stray fibres over the gaps take the mean yarn colour.
    for (const ThreadAxis* axis : {&f_.warp_, &f_.weft_})
      for (const Rgb& c : axis->color) {
        const float n = static_cast<float>(axis->color.size() * 2);
        fuzz_.r += c.r / n;
        fuzz_.g += c.g / n;
        fuzz_.b += c.b / n;
      }
  }

  // Pixel (y, x): the gap, then the lower yarn, then the upper one, each
  // blended by its coverage.
  Rgb pixel(int64_t y, int64_t x) const {
    const double u = x + 0.5 + f_.warp_meander_[static_cast<size_t>(y)];  // across the warp
    const double v = y + 0.5 + f_.weft_meander_[static_cast<size_t>(x)];  // across the weft
    const YarnSample warp = yarn(true, u, v, y + 0.5, x + 0.5);
    const YarnSample weft = yarn(false, v, u, x + 0.5, y + 0.5);
    Rgb c = gap(y, x);
    const YarnSample& lower = warp.z <= weft.z ? warp : weft;
    const YarnSample& upper = warp.z <= weft.z ? weft : warp;
    for (const YarnSample* s : {&lower, &upper}) {
      if (s->alpha <= 0.0f) continue;
      c.r += s->alpha * (s->color.r - c.r);
      c.g += s->alpha * (s->color.g - c.g);
      c.b += s->alpha * (s->color.b - c.b);
    }
    return c;
  }

 private:
  // Height z and slope dz/d(along) of a thread's centre line at one point.
  struct CentreLine {
    double z = -1, dz = 0;
  };

  const ThreadAxis& axis_of(bool is_warp) const { return is_warp ? f_.warp_ : f_.weft_; }
  const EditIndex& edits_of(bool is_warp) const { return is_warp ? warp_edits_ : weft_edits_; }

  // The gap colour with fuzz from stray fibres.
  Rgb gap(int64_t y, int64_t x) const {
    const double cell_y = double(f_.height_) / f_.gap_fuzz_.rows(), cell_x = double(f_.width_) / f_.gap_fuzz_.cols();
    const float fz = static_cast<float>(p_.hairiness) * f_.gap_fuzz_.at(y / cell_y, x / cell_x);
    const Rgb g = p_.gap_color;
    return {g.r + fz * (0.6f * fuzz_.r - g.r), g.g + fz * (0.6f * fuzz_.g - g.g), g.b + fz * (0.6f * fuzz_.b - g.b)};
  }

  // Height of `thread` where it crosses thread `crossing` of the other axis:
  // +1 over, -1 under. Where the crossing thread is missing or thinned (radius
  // scale s < 1 at that point) the yarn sags into the gap: z = -1.4 + s (z + 1.4).
  double crossing_height(bool is_warp, int64_t thread, int64_t crossing, double across) const {
    const int64_t warp_i = is_warp ? thread : crossing, weft_j = is_warp ? crossing : thread;
    const bool warp_on_top = p_.weave.warp_over(weft_j + f_.weft_.pattern_shift, warp_i + f_.warp_.pattern_shift);
    const double z = (warp_on_top == is_warp) ? 1.0 : -1.0;
    const auto& crossing_edits = edits_of(!is_warp).by_thread[static_cast<size_t>(crossing)];
    if (crossing_edits.empty()) return z;
    double scale = 1.0;
    Rgb unused;
    apply_edits(crossing_edits, across, &scale, &unused);
    return scale < 1.0 ? -1.4 + scale * (z + 1.4) : z;
  }

  // The centre line of `thread` at position v across the other axis, between
  // the crossings lo <= v < hi: z = z_lo + (z_hi - z_lo) S(f), S(f) = f^2 (3 - 2f).
  // False where no crossing thread is near (outside a non-tileable layout).
  bool centre_line(bool is_warp, int64_t thread, double v, double across, CentreLine* out) const {
    const ThreadAxis& other = axis_of(!is_warp);
    double from_j;
    const int64_t j = other.nearest(v, &from_j);
    if (j < 0) return false;
    int64_t lo = j, hi = other.next(j);
    double from_lo = from_j;
    if (from_j < 0) {
      lo = other.period > 0 ? wrap_index(j - 1, other.count) : j - 1;
      hi = j;
      if (lo < 0) return false;
      from_lo = from_j + other.spacing + other.offset[j] - other.offset[lo];
    }
    if (hi < 0) return false;
    const double span = other.spacing + other.offset[hi] - other.offset[lo];
    const double f = std::clamp(from_lo / span, 0.0, 1.0);
    const double z_lo = crossing_height(is_warp, thread, lo, across),
                 z_hi = crossing_height(is_warp, thread, hi, across);
    out->z = z_lo + (z_hi - z_lo) * static_cast<float>(smoothstep01(f));
    out->dz = (z_hi - z_lo) * 6.0 * f * (1.0 - f) / span;
    return true;
  }

  // One yarn at one pixel: u is the pixel's position across the threads of
  // this axis, v across the other axis (both after meander); along/across are
  // the image coordinates along and across this axis's threads.
  YarnSample yarn(bool is_warp, double u, double v, double along, double across) const {
    const ThreadAxis& axis = axis_of(is_warp);
    YarnSample s;
    double d;
    const int64_t i = axis.nearest(u, &d);
    CentreLine line;
    if (i < 0 || !centre_line(is_warp, i, v, across, &line)) return s;
    Rgb base = axis.color[static_cast<size_t>(i)];
    double radius_scale = 1.0;
    const auto& thread_edits = edits_of(is_warp).by_thread[static_cast<size_t>(i)];
    if (!thread_edits.empty()) apply_edits(thread_edits, along, &radius_scale, &base);
    const YarnParams& yarn = is_warp ? p_.warp : p_.weft;
    const PeriodicNoise& slub = is_warp ? f_.warp_slub_ : f_.weft_slub_;
    const double slub_cell = (is_warp ? double(f_.height_) : double(f_.width_)) / slub.cols();
    const double radius = axis.radius[static_cast<size_t>(i)] *
                          (1.0 + yarn.slub * (2.0 * slub.at(double(i), along / slub_cell) - 1.0)) * radius_scale;
    // One-pixel anti-aliased edge; a yarn thinner than half a pixel fades out.
    s.alpha = static_cast<float>(std::clamp(radius + 0.5 - std::abs(d), 0.0, 1.0) * std::clamp(2.0 * radius, 0.0, 1.0));
    s.z = static_cast<float>(line.z);
    if (s.alpha > 0.0f) s.color = shade(is_warp, base, d, radius, line, along, across);
    return s;
  }

  // colour * (ambient + diffuse n.L) * depth * twist * fibres + gloss (n.H)^k
  // at signed distance d from the centre of a yarn of this radius.
  Rgb shade(bool is_warp, Rgb base, double d, double radius, const CentreLine& line, double along,
            double across) const {
    const YarnParams& yarn = is_warp ? p_.warp : p_.weft;
    // Normal: across the yarn the circular section (t, sqrt(1 - t^2)); along
    // it the slope of the centre line, whose height is 0.6 r z.
    const double t = std::clamp(d / std::max(radius, 1e-6), -1.0, 1.0);
    const double up = std::sqrt(std::max(0.0, 1.0 - t * t));
    const double n_along = -0.6 * radius * line.dz * up;
    const double inv = 1.0 / std::sqrt(t * t + up * up + n_along * n_along);
    const double nx = (is_warp ? t : n_along) * inv, ny = (is_warp ? n_along : t) * inv, nz = up * inv;
    // n.L normalised by that of a flat surface (L.z), so flat yarn shades to 1.
    const double diffuse = std::max(0.0, nx * light_.lx + ny * light_.ly + nz * light_.lz) / light_.lz;
    const double ambient_diffuse = 0.4 + 0.6 * diffuse;
    const double depth = 1.0 - p_.relief * 0.45 * (1.0 - line.z) * 0.5;
    // Twist: fibre stripes slanted across the yarn (opposite slants for warp and weft).
    const double slant = is_warp ? 1.2 : -1.2;
    const double twist =
        1.0 + yarn.twist * up * std::sin(2.0 * kPi * (along + slant * radius * t) / yarn.twist_period_px);
    const PeriodicNoise& fibres = is_warp ? f_.warp_fibres_ : f_.weft_fibres_;
    const double cell_y = double(f_.height_) / fibres.rows(), cell_x = double(f_.width_) / fibres.cols();
    const double y = is_warp ? along : across, x = is_warp ? across : along;
    const double hair = 1.0 + p_.hairiness * (2.0 * fibres.at(y / cell_y, x / cell_x) - 1.0);
    const double nh = std::max(0.0, nx * light_.hx + ny * light_.hy + nz * light_.hz);
    const double spec = p_.gloss > 0 ? p_.gloss * std::pow(nh, p_.shininess) : 0.0;
    const double k = ambient_diffuse * depth * twist * hair;
    return {float(base.r * k + spec), float(base.g * k + spec), float(base.b * k + spec)};
  }

  const Fabric& f_;
  const FabricParams& p_;
  EditIndex warp_edits_, weft_edits_;
  Light light_;
  Rgb fuzz_;
};

Tensor Fabric::render_surface(const std::vector<ThreadEdit>& edits) const {
  if (!edits.empty()) return render_edited(edits);
  std::call_once(plain_->rendered, [&] { plain_->surface = render_edited({}); });
  return plain_->surface.clone();
}

Tensor Fabric::render_edited(const std::vector<ThreadEdit>& edits) const {
  const SurfaceRenderer renderer(*this, edits);
  Tensor out = Tensor::empty({3, height_, width_});  // (3, H, W)
  float* o = out.data<float>();
  const int64_t plane = height_ * width_;
#pragma omp parallel for schedule(static)
  for (int64_t y = 0; y < height_; ++y)
    for (int64_t x = 0; x < width_; ++x) {
      const Rgb c = renderer.pixel(y, x);
      const int64_t idx = y * width_ + x;
      o[idx] = c.r;
      o[plane + idx] = c.g;
      o[2 * plane + idx] = c.b;
    }
  return out;
}

Tensor Fabric::photograph(const Tensor& surface) const {
  check_shape(surface, {3, height_, width_}, "Fabric::photograph", "surface");
  const Tensor src = surface.to(DType::Float32).contiguous();
  Tensor out = Tensor::empty({3, height_, width_});  // (3, H, W)
  const float* s = src.data<float>();
  const float* n = sensor_noise_.data<float>();
  float* o = out.data<float>();
  const int64_t plane = height_ * width_;
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < plane; ++i)
      o[c * plane + i] =
          std::clamp(s[c * plane + i] * illumination_[static_cast<size_t>(i)] + n[c * plane + i], 0.0f, 1.0f);
  return out;
}

Tensor Fabric::render() const { return photograph(render_surface()); }

}  // namespace loom::data::fabric
