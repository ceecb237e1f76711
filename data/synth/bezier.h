// bezier.h: DefectMaker's Bezier defect shapes (Yang et al., "DefectMaker:
// generating realistic defects for anomaly detection", the REB data
// augmentation), in loom's reading of the method:
//
//   Bezier-scar   a cubic Bezier curve stroked with thickness t, kept inside a
//                 "rectangle scar": a band of length L and width B at a random
//                 angle. The end points sit on the band's ends, the inner
//                 control points at 1/3 and 2/3 of its length; all four are
//                 displaced across the band by at most (B - t) / 2, so the
//                 curve (inside the control points' convex hull) and its
//                 stroke stay inside the band.
//   Bezier-clump  a closed curve of n in [4, 8] cubic Bezier segments through
//                 points at sorted random angles and radii U[0.4, 1] R around a
//                 centre (Catmull-Rom tangents: control points
//                 P_i + (P_{i+1} - P_{i-1}) / 6 and P_{i+1} - (P_{i+2} - P_i) / 6),
//                 filled, then eroded and split: pixels where a Perlin field
//                 (about 3 to 6 cells across the clump) falls below U[-0.5, 0)
//                 are removed, leaving ragged spots; if that removes every
//                 pixel the unsplit shape is kept.
//   fill          noise: per-channel level m_c = m + U[-0.1, 0.1), m ~ U[0, 1),
//                 plus a * U[-1, 1] per pixel (shared by the channels), a ~ U[0.02, 0.25);
//                 cut-paste: the source (another image, or the image itself)
//                 shifted cyclically by a random offset.
//   blend         paste: the fill replaces the pixels (a hard paste: the mask
//                 is exactly the changed pixels); fuse: opacity U[0.5, 1) times
//                 the shape blurred by sigma U[1, 3) px, kept inside the shape,
//                 so the fill fades in from the outline (a soft blend: the
//                 mask is the shape, a superset of the changed pixels).
//
// Sizes are fractions of the shorter image side s: L ~ U[0.15, 0.5) s,
// B ~ U[0.03, 0.12) s, t ~ U[0.01, 0.03) s (at least 1.5 px, at most B);
// R ~ U[0.06, 0.2) s.
#pragma once
#include <cstdint>

#include "data/synth/synth.h"

namespace loom::data::synth {

enum class BezierShape { Scar, Clump };
enum class BezierFill { Random, Noise, CutPaste };  // Random: either, with probability 1/2
enum class BezierBlend { Random, Paste, Fuse };

struct BezierParams {
  double length_min = 0.15, length_max = 0.5;  // scar band length L
  double band_min = 0.03, band_max = 0.12;     // scar band width B
  double thickness_min = 0.01, thickness_max = 0.03;
  double radius_min = 0.06, radius_max = 0.2;  // clump radius R
  BezierFill fill = BezierFill::Random;
  BezierBlend blend = BezierBlend::Random;
};

Region bezier_scar_region(int64_t height, int64_t width, Generator& gen, const BezierParams& params = {});
Region bezier_clump_region(int64_t height, int64_t width, Generator& gen, const BezierParams& params = {});

// A Bezier defect on `image`. `source` is the cut-paste fill's source (any
// size and channel count); undefined means the image itself.
SynthResult bezier_defect(const Tensor& image, const Tensor& source, BezierShape shape, Generator& gen,
                          const BezierParams& params = {});

}  // namespace loom::data::synth
