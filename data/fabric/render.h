// render.h: the procedural woven-fabric renderer.
//
// The model. Warp threads run vertically (one per column band), weft threads
// horizontally. At every crossing the weave matrix (weave.h) says which thread
// is on top. Each thread is a cylinder of radius r (with per-thread thickness
// jitter and slubs along its length) whose centre line rises to height +1 where
// it passes over a crossing and sinks to -1 where it passes under, with a
// smoothstep between neighbouring crossings; a float (several crossings over in
// a row, as in twill and satin) stays up. A pixel shows, from the bottom up: the
// gap colour, then the lower yarn, then the upper yarn, each with a one-pixel
// anti-aliased edge. A yarn pixel is shaded with
//   colour * (ambient + diffuse n.L) * depth * twist * fibres + gloss (n.H)^k
// where n is the yarn surface normal (across the thread: the circular cross
// section; along it: the slope of the rising and sinking centre line), depth
// darkens a thread where it dives under, twist draws the slanted fibre stripes
// of a spun yarn, and fibres is hairiness noise stretched along the thread.
// A photograph of the surface adds an illumination gradient and Gaussian sensor
// noise.
//
// Every random choice (thread offsets, widths, colours, noise fields, the
// sensor noise) is drawn once when a Fabric is constructed; rendering is then a
// pure function. So a surface rendered with thread edits (a missing or
// recoloured stretch of thread, see ThreadEdit) differs from the plain one only
// where the edit shows, which is how the thread defects get exact masks.
//
// Tileable fabrics: the thread counts are rounded to whole weave repeats across
// the image, every noise field has a lattice that spans the image exactly, and
// the illumination varies as a cosine with a whole period across the image, so
// the image continues seamlessly across its left/right and top/bottom edges.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "data/fabric/noise.h"
#include "data/fabric/weave.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace loom::data::fabric {

struct Rgb {
  float r = 0, g = 0, b = 0;
};

// One thread system: the warp (vertical threads) or the weft (horizontal ones).
struct YarnParams {
  double spacing_px = 6.0;         // centre-to-centre distance of neighbouring threads
  double width = 0.85;             // yarn diameter as a fraction of the spacing
  double thickness_jitter = 0.06;  // std of a thread's relative diameter change
  double tension_jitter = 0.05;    // std of a thread's sideways offset, fraction of the spacing
  double slub = 0.10;              // relative diameter change along a thread
  double slub_length_px = 24.0;    // length of those changes
  std::vector<Rgb> colors = std::vector<Rgb>(1, Rgb{0.6f, 0.6f, 0.6f});  // cycled, `stripe` threads per colour
  int64_t stripe = 1;
  double color_jitter = 0.03;    // std of a thread's relative brightness
  double twist = 0.12;           // contrast of the slanted fibre stripes
  double twist_period_px = 3.0;  // distance along the yarn between stripes
};

struct FabricParams {
  Weave weave = plain_weave();
  YarnParams warp, weft;
  Rgb gap_color{0.08f, 0.08f, 0.08f};  // what shows through between threads
  double hairiness = 0.2;              // contrast of fibre noise, and fuzz over the gaps
  double fibre_length_px = 4.0;        // length of fibre-noise features along a yarn
  double meander_px = 0.6;             // amplitude of the slow sideways wander of threads
  double meander_length_px = 64.0;
  double relief = 1.0;         // darkening of threads where they dive under (0..1)
  double gloss = 0.05;         // specular highlight strength
  double shininess = 12.0;     // specular exponent
  double illumination = 0.10;  // relative amplitude of the brightness gradient
  double sensor_noise = 0.01;  // std of the additive Gaussian noise
  bool tileable = false;
};

enum class Axis { Warp, Weft };

class SurfaceRenderer;

// The unit vector towards the light the renderer (and the raised defects)
// shade with: from the upper left and above (x right, y down, z to the viewer).
struct Vec3 {
  double x = 0, y = 0, z = 0;
};
Vec3 light_direction();

// A change to one stretch of one thread, from `from_px` to `to_px` along it
// (image y for a warp thread, image x for a weft thread): its radius is scaled
// by `radius_scale` (0 = the yarn is missing, as where a thread broke) and its
// colour mixed towards `color` by `color_mix` in [0, 1]. Over `taper_px`
// before each end the radius scale ramps linearly back to 1 (torn fibres
// thinning out, or a thick place swelling); the colour change has hard ends.
// Where a thread is thinned or missing, the threads crossing it sag into the
// gap (their height at that crossing drops towards -1.4, below an ordinary
// under-crossing), so a broken pick shows as a dark line even in a warp-faced
// weave whose weft is barely visible.
struct ThreadEdit {
  Axis axis = Axis::Warp;
  int64_t thread = 0;  // index in Fabric::threads(axis)
  double from_px = 0, to_px = 0;
  double radius_scale = 0;
  double taper_px = 0;
  Rgb color{};
  double color_mix = 0;
};

// The threads of one axis: thread i has its centre at
//   phase + (i + 0.5) spacing + offset[i]
// across the image (x for warp, y for weft), before the meander.
struct ThreadAxis {
  int64_t count = 0;
  double spacing = 0, phase = 0;
  double period = 0;           // image extent when tileable (coordinates wrap), else 0
  int64_t pattern_shift = 0;   // thread i uses weave column/row i + pattern_shift
  std::vector<double> offset;  // sideways offset of each thread, px
  std::vector<double> radius;  // half diameter of each thread, px
  std::vector<Rgb> color;      // each thread's colour

  double center(int64_t i) const { return phase + (static_cast<double>(i) + 0.5) * spacing + offset[i]; }
  // The thread whose centre is nearest to u and the signed distance u - centre
  // (wrapped into a half period when tileable). Returns -1 if none is near.
  int64_t nearest(double u, double* signed_distance) const;
  // The thread after i (i + 1, wrapped when tileable; -1 past the last).
  int64_t next(int64_t i) const;
};

class Fabric {
 public:
  // Draws every random choice for a (height, width) fabric from gen.
  Fabric(const FabricParams& params, int64_t height, int64_t width, Generator& gen);

  const FabricParams& params() const { return params_; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  const ThreadAxis& threads(Axis axis) const { return axis == Axis::Warp ? warp_ : weft_; }

  // Sideways meander of the warp at image row y, of the weft at column x (px).
  double warp_meander(int64_t y) const { return warp_meander_[static_cast<size_t>(y)]; }
  double weft_meander(int64_t x) const { return weft_meander_[static_cast<size_t>(x)]; }
  // The thread of `axis` nearest to pixel (x, y), or -1.
  int64_t thread_at(Axis axis, double x, double y) const;

  // The woven surface before lighting and noise: float32 (3, H, W), in [0, 1]
  // up to the specular highlights (photograph() clamps). The surface without
  // edits is rendered once per fabric (and its copies) and then copied out.
  Tensor render_surface(const std::vector<ThreadEdit>& edits = {}) const;
  // The surface under the illumination gradient plus sensor noise, clamped to
  // [0, 1]: float32 (3, H, W).
  Tensor photograph(const Tensor& surface) const;
  // photograph(render_surface()).
  Tensor render() const;

 private:
  friend class SurfaceRenderer;  // render.cpp: the per-pixel model

  FabricParams params_;
  int64_t height_, width_;
  ThreadAxis warp_, weft_;
  std::vector<double> warp_meander_;         // (H,)
  std::vector<double> weft_meander_;         // (W,)
  PeriodicNoise warp_slub_, weft_slub_;      // (threads, cells along)
  PeriodicNoise warp_fibres_, weft_fibres_;  // (cells along, cells across) over the image
  PeriodicNoise gap_fuzz_;
  std::vector<float> illumination_;  // (H, W) gain
  Tensor sensor_noise_;              // (3, H, W)
  // The surface without edits, rendered on first use (thread-safe).
  struct PlainSurface {
    std::once_flag rendered;
    Tensor surface;  // (3, H, W)
  };
  std::shared_ptr<PlainSurface> plain_ = std::make_shared<PlainSurface>();
  Tensor render_edited(const std::vector<ThreadEdit>& edits) const;
};

}  // namespace loom::data::fabric
