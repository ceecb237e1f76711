// gradient.h: a gray-level gradient fill, for defects that fade into the
// background (oil and water stains, dye streaks, soiled patches).
//
//   region  an ellipse (random_ellipse, semi-axes U[axis_min, axis_max) of the
//           shorter side) with its outline bent elastically (RMS bend_rms of
//           the minor semi-axis, as in elastic.h)
//   level   g = clamp(m +- delta, 0, 1): m the mean luma of the image inside
//           the region, delta ~ U[delta_min, delta_max), darker or lighter with
//           probability 1/2; the same gray in every channel
//   fade    opacity a(p) = peak * profile(p), peak ~ U[peak_min, peak_max),
//           one of two profiles with probability 1/2:
//             linear  1 - t, t in [0, 1] the position along a random direction
//                     across the region (1 at the edge the stain fades out at)
//             radial  (1 - r)^gamma, r the ellipse radius coordinate
//                     (0 at the centre, 1 on the unbent outline), gamma ~ U[0.5, 2)
//   result  out = (1 - a) I + a g inside the region.
//
// A soft blend: the mask is the region, a superset of the changed pixels
// (where the profile reaches 0 nothing changes); outside it nothing changes.
#pragma once

#include "data/synth/synth.h"

namespace loom::data::synth {

struct GradientParams {
  double axis_min = 0.06, axis_max = 0.25;
  double bend_rms = 0.15;
  double delta_min = 0.15, delta_max = 0.45;
  double peak_min = 0.6, peak_max = 1.0;
};
SynthResult gradient_stain(const Tensor& image, Generator& gen, const GradientParams& params = {});

}  // namespace loom::data::synth
