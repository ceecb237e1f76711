// presets.h: named fabric categories (each a FabricParams preset with a little
// random variation per image, like the images of one real fabric) and
// random_fabric(), the texture source for other code (for example DRAEM's
// anomaly textures in data/synth).
//
//   plain_gray     plain weave, gray cotton
//   twill_denim    3/1 twill, indigo warp over an ecru weft
//   twill_khaki    2/1 twill, khaki drill
//   satin_silk     5-end satin, glossy champagne silk
//   gingham_check  plain weave with red/white stripes in both directions
//   canvas_burlap  coarse plain weave, hairy jute with open gaps
//   basket_navy    2/2 basket weave, navy
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/fabric/render.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace loom::data::fabric {

// The category names above, in that order.
const std::vector<std::string>& fabric_categories();

// The parameters of one image of `category` (throws naming the known ones if
// unknown); colours and spacings vary slightly with gen.
FabricParams preset_params(const std::string& category, Generator& gen);

// A fabric image of a random category: float32 (3, size, size) in [0, 1].
Tensor random_fabric(int64_t size, Generator& gen);

}  // namespace loom::data::fabric
