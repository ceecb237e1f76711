// perlin.h: 2-D Perlin gradient noise (Perlin, "Improving noise", SIGGRAPH
// 2002), the shape generator behind DRAEM's anomaly masks.
//
// On the integer lattice every point k gets a random unit gradient g_k (angle
// uniform in [0, 2 pi)). A point p in the cell with corner k0 and offset
// (u, v) = p - k0 in [0, 1]^2 gets
//   n(p) = lerp_v( lerp_u(d00, d01), lerp_u(d10, d11) ),  d_ab = g_{k0+(a,b)} . (p - k0 - (a,b))
// with the weights smoothed by the fade curve f(t) = 6t^5 - 15t^4 + 10t^3.
// Properties the tests rely on: n = 0 at every lattice point, |n| <= sqrt(2)/2,
// and n is C^2-smooth with features about one cell wide.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace loom::data::synth {

// Random gradients on the lattice points (y0 .. y0 + cells_y) x (x0 .. x0 + cells_x):
// the angles come from one draw U[0, 2 pi) of (cells_y + 1)(cells_x + 1)
// float64 values, row-major over the points; g = (sin, cos) as (y, x).
class PerlinLattice {
 public:
  PerlinLattice(int64_t y0, int64_t x0, int64_t cells_y, int64_t cells_x, Generator& gen);
  // The noise at lattice coordinates (y, x), inside the lattice's cells.
  double at(double y, double x) const;

 private:
  int64_t y0_, x0_, cells_y_, cells_x_;
  std::vector<double> gy_, gx_;  // (cells_y + 1, cells_x + 1) gradient components
};

// (H, W) float32 noise in [-1, 1]: sqrt(2) times a Perlin field with res_y x res_x
// cells across the image (pixel (i, j) sits at lattice point (i res_y / H,
// j res_x / W), as in DRAEM's rand_perlin_2d), the field rotated by `angle`
// radians about the image centre. Larger res means finer features. The
// lattice covers the bounding box of the rotated pixel coordinates, from
// (floor(min y), floor(min x)); without rotation that is res_y x res_x cells
// from (0, 0).
Tensor perlin_noise(int64_t height, int64_t width, int64_t res_y, int64_t res_x, Generator& gen, double angle = 0.0);

}  // namespace loom::data::synth
