// sources.h: the texture sources (synth.h, TextureSource) that `loom synth`
// offers the methods that need foreign content (DRAEM, Poisson, the Bezier
// shapes' cut-paste fill): the images of a folder, as DRAEM draws from the
// Describable Textures Dataset, or loom's procedural fabric when no folder is given.
#pragma once
#include <string>

#include "data/synth/synth.h"

namespace loom::data::synth {

// A uniformly chosen image (.png .jpg .jpeg .bmp) from `dir` or below it,
// loaded as RGB. The folder is listed once, here; throws when it is missing,
// not a folder, or holds no images.
TextureSource folder_texture_source(const std::string& dir);

// data::fabric::random_fabric at the larger side of the image (RGB).
TextureSource fabric_texture_source();

}  // namespace loom::data::synth
