// defects.h: the defect classes of the fabric-inspection papers, drawn onto a
// procedural fabric with an exact pixel mask.
//
//   color_spot    a dye spot: an irregular blob, hard edged, the fabric tinted
//                 (multiplied by a dye colour) so its texture shows through
//   oil_stain     a soft-edged, darker, yellowish translucent blob
//   knot          a small thick lump on one thread, shaded as a raised
//                 ellipsoid with a shadow
//   broken_end    a warp thread missing over a stretch, its ends tapering
//   broken_yarn   the same along a weft thread
//   white_stripe  two to four neighbouring threads replaced by a thicker white
//                 yarn over a long stretch (weft threads, or warp threads in a
//                 warp-faced weave, where the weft barely shows)
//   hole          every thread through an irregular blob broken, the ragged
//                 ends leaving the backing visible
//   scratch       a thin curved abrasion (a quadratic Bezier), lighter on dark
//                 fabric and darker on light fabric
//
// Defects are drawn on the fabric's surface (Fabric::render_surface), before
// the illumination and sensor noise, so a defective image and the same fabric
// photographed without it differ only where the surface changed. The mask is
// exactly that set: the pixels where some channel of the surface changed
// (changed_pixels, data/pixel_math.h).
// For the hard-edged defects this is the defect's footprint. For the oil stain
// it includes the faint outer rim where the darkening fades to zero (the stain
// has a compact support), i.e. a superset of the pixels that visibly change
// after 8-bit quantisation. The thread defects (broken_end, broken_yarn,
// white_stripe, hole) re-render the fabric with ThreadEdits, so a missing
// thread uncovers exactly the yarns and gaps that lay beneath it.
#pragma once
#include <string>
#include <vector>

#include "data/fabric/render.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace loom::data::fabric {

enum class DefectKind { ColorSpot, OilStain, Knot, BrokenEnd, BrokenYarn, WhiteStripe, Hole, Scratch };

// All kinds, in the order above.
const std::vector<DefectKind>& defect_kinds();
// "color_spot", "oil_stain", "knot", "broken_end", "broken_yarn", "white_stripe", "hole", "scratch".
std::string defect_name(DefectKind kind);
// The kind with that name; throws listing the known names otherwise.
DefectKind defect_from_name(const std::string& name);

// `surface` (3, H, W) float32, a surface of `fabric` (its render_surface(),
// possibly with other defects already on it), with one defect of `kind` drawn
// on it; position, size and look are drawn from gen. Pixels the defect does not
// touch are returned bit-identical.
Tensor draw_defect(DefectKind kind, const Fabric& fabric, const Tensor& surface, Generator& gen);

struct DefectSample {
  Tensor image;  // (3, H, W) float32 in [0, 1]: the photographed fabric with the defect
  Tensor mask;   // (1, H, W) uint8: 255 on the defect, 0 elsewhere
};

// The fabric photographed with one defect of `kind`. Redraws (up to 8 times)
// when a draw changes no pixel, then throws.
DefectSample render_defect(const Fabric& fabric, DefectKind kind, Generator& gen);

}  // namespace loom::data::fabric
