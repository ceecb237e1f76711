// poisson.h: Poisson (seamless) blending (Perez, Gangnet, Blake, "Poisson
// image editing", SIGGRAPH 2003, Eq. 7 with the guidance field v = grad g).
//
// Inside the region Omega the result f keeps the source g's Laplacian while it
// meets the background f* on the region's border. For every p in Omega, with
// N(p) its 4-neighbours inside the image:
//   sum_{q in N(p)} (f_p - f_q) = sum_{q in N(p)} (g_p - g_q),   f_q = f*_q for q outside Omega.
// So on the pixels next to Omega (the Dirichlet boundary) f = f*, and where a
// region touches the image edge the missing neighbours are left out (a
// zero-gradient, Neumann, edge). The unknowns are the pixels of Omega; the
// system is symmetric positive definite whenever Omega is not the whole image,
// and is solved per channel by conjugate gradients in float64, from f = f*,
// until ||b - A x||_2 <= tolerance ||b||_2 or max_iterations (CG needs about
// the region's diameter in pixels times a small factor; a 100 px wide region
// takes a few hundred iterations at the default 1e-7).
#pragma once
#include <cstdint>

#include "data/synth/synth.h"

namespace loom::data::synth {

struct PoissonOptions {
  int max_iterations = 5000;
  double tolerance = 1e-7;  // relative residual
};

struct PoissonReport {
  int iterations = 0;            // the most any channel needed
  double relative_residual = 0;  // the largest final ||b - A x|| / ||b||
};

// The blend of `source` into `background` over `region`; both (C, H, W)
// float32, the region H x W and not the whole image. The result is not clamped
// (a Poisson solution may leave [0, 1]); outside the region it is the
// background, bit for bit. Throws when CG does not reach the tolerance.
Tensor poisson_blend(const Tensor& background, const Tensor& source, const Region& region,
                     const PoissonOptions& options = {}, PoissonReport* report = nullptr);

// The "poisson" method: a foreign texture (brought to the image's size, its
// contrast about its mean scaled by U[contrast_min, contrast_max)) blended
// seamlessly into a bent ellipse (elastic.h: semi-axes U[axis_min, axis_max)
// of the shorter side), the result clamped to [0, 1]. A soft blend: the mask is
// the region, a superset of the changed pixels.
struct PoissonSynthParams {
  double axis_min = 0.08, axis_max = 0.25;
  double bend_rms = 0.15;
  double contrast_min = 1.0, contrast_max = 2.0;
  PoissonOptions solver;
};
SynthResult poisson_synth(const Tensor& image, const Tensor& texture, Generator& gen,
                          const PoissonSynthParams& params = {});

}  // namespace loom::data::synth
