// cutpaste.h: CutPaste and CutPaste-Scar (Li, Sohn, Yoon, Pfister, "CutPaste:
// Self-Supervised Learning for Anomaly Detection and Localization", CVPR 2021):
// a rectangle cut from the image, colour-jittered, and pasted back at another
// place, either large and box-shaped or thin and rotated like a scar.
//
// Both are hard pastes: the mask is exactly the set of pixels that changed.
#pragma once
#include <cstdint>

#include "data/synth/synth.h"
#include "data/transforms.h"

namespace loom::data::synth {

// CutPaste: patch area a ~ U[area_min, area_max) of H W, aspect ratio
// r = w / h log-uniform in [aspect_min, aspect_max]; w = round(sqrt(a H W r)),
// h = round(sqrt(a H W / r)), then h is nudged (by at most one pixel in
// practice) so that w h stays inside [area_min, area_max] of H W after the
// rounding. Source and destination corners are uniform over the positions
// where the patch fits.
struct CutPasteParams {
  double area_min = 0.02, area_max = 0.15;
  double aspect_min = 0.3, aspect_max = 3.3;
  ColorJitterOptions jitter{0.1, 0.1, 0.1, 0.1};  // data::color_jitter, as the paper
};
SynthResult cutpaste(const Tensor& image, Generator& gen, const CutPasteParams& params = {});

// CutPaste-Scar: a w x h patch, w uniform in [width_min, width_max] px,
// h in [height_min, height_max] px (integers, both ends included), rotated by
// an angle uniform in [-max_angle_deg, max_angle_deg] about its centre and
// pasted (nearest-neighbour, no interpolation) where its rotated bounding box
// fits the image. Sizes above the image's are cut to it.
struct CutPasteScarParams {
  int64_t width_min = 2, width_max = 16;
  int64_t height_min = 10, height_max = 25;
  double max_angle_deg = 45.0;
  ColorJitterOptions jitter{0.1, 0.1, 0.1, 0.1};  // data::color_jitter, as the paper
};
SynthResult cutpaste_scar(const Tensor& image, Generator& gen, const CutPasteScarParams& params = {});

// The step both share: pastes `patch` (C, h, w) onto `image` (C, H, W), turned
// by `angle` radians about the patch centre, the unrotated patch's top-left
// corner at (top, left) in pixel-edge coordinates. Destination pixel centre
// P = (i + 1/2, j + 1/2) takes patch pixel floor(R(-angle)(P - centre) + (h/2, w/2))
// when that lies inside the patch. With angle 0 and integer (top, left) that
// is a plain copy into rows top..top+h-1, columns left..left+w-1.
SynthResult paste_patch(const Tensor& image, const Tensor& patch, double top, double left, double angle);

}  // namespace loom::data::synth
