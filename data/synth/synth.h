// synth.h: the common ground of loom's defect synthesis (data/synth/): the
// result every method returns, the pixel region type the methods draw into,
// the two ways a fill is composited onto an image, and the registry of methods
// by name that `loom synth` uses. (Scalar random draws come from
// data/random_draws.h.)
//
// Conventions shared by every method:
//   - images are float32 (C, H, W) in [0, 1] with C = 1 or 3; a method never
//     changes its input and returns a new image of the same shape;
//   - all randomness comes from the Generator passed in, so a method gives the
//     same bytes for the same generator state;
//   - the mask is (1, H, W) float32 holding 0 or 1. For a hard paste it is
//     exactly the set of pixels where some channel changed. For a soft blend
//     (opacity below 1, fades, Poisson) it is the region the defect was drawn
//     into: a superset of the changed pixels. In both cases every pixel outside
//     the mask is bit-identical to the input.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace loom::data::synth {

struct SynthResult {
  Tensor image;  // (C, H, W) float32 in [0, 1]
  Tensor mask;   // (1, H, W) float32, 0 or 1
};

// A binary region on an H x W pixel grid, the working form of a mask.
struct Region {
  int64_t height = 0, width = 0;
  std::vector<uint8_t> inside;  // (H, W) row-major, 1 = in the region

  Region() = default;
  Region(int64_t h, int64_t w) : height(h), width(w), inside(static_cast<size_t>(h * w), 0) {}
  uint8_t& at(int64_t y, int64_t x) { return inside[static_cast<size_t>(y * width + x)]; }
  uint8_t at(int64_t y, int64_t x) const { return inside[static_cast<size_t>(y * width + x)]; }
  int64_t count() const;
  Tensor to_mask() const;  // (1, H, W) float32 0/1
};

// Checks that `image` is a (C, H, W) image with C in {1, 3} and both sides at
// least `min_side` pixels; returns it as a contiguous float32 CPU tensor.
// `method` names the caller in the error message.
Tensor checked_image(const Tensor& image, const char* method, int64_t min_side = 8);

// Brings a texture (C', H', W') to (C, H, W): gray <-> RGB by luma or
// replication, then a resize (area when shrinking, bilinear otherwise, see
// data/transforms.h). Returns contiguous float32.
Tensor match_texture(const Tensor& texture, int64_t channels, int64_t height, int64_t width);

// Hard paste: out = fill where the region is set, the image elsewhere.
// The mask is region AND (some channel changed), so it is exactly the changed set.
// image, fill: (C, H, W) contiguous float32.
SynthResult paste_hard(const Tensor& image, const Tensor& fill, const Region& region);

// Soft blend: out = (1 - alpha) image + alpha fill inside the region, the image
// (bit for bit) outside. alpha: (H, W) in [0, 1]. The mask is the region.
SynthResult blend_soft(const Tensor& image, const Tensor& fill, const std::vector<float>& alpha, const Region& region);

// ---- the registry ----------------------------------------------------------

// Gives an image (C, H, W) float32 in [0, 1] for an image of height x width
// (any size comes back; the methods resize it): an anomaly texture (DRAEM,
// Poisson) or a cut-paste source (Bezier). data/synth/sources.h makes them
// from a folder or the fabric generator.
using TextureSource = std::function<Tensor(int64_t height, int64_t width, Generator& gen)>;

// Where the methods draw foreign content from.
//   texture  the anomaly source of draem and poisson (required by them);
//   paste    the Bezier shapes' cut-paste fill, as DefectMaker cuts from other
//            images of the same data set; when empty, the image itself.
struct SynthSources {
  TextureSource texture;
  TextureSource paste;
};

using SynthMethod = std::function<SynthResult(const Tensor& image, Generator& gen)>;

struct SynthMethodInfo {
  std::string name;
  std::string summary;         // one line for --help
  bool needs_texture = false;  // draem, poisson: SynthSources::texture
  bool exact_mask = false;     // a hard paste: the mask is exactly the changed pixels
};

// Every registered method, in a fixed order: cutpaste, cutpaste-scar, draem,
// bezier-scar, bezier-clump, elastic, gradient, poisson.
const std::vector<SynthMethodInfo>& synth_methods();

// The method called `name`, bound to its sources. Throws naming the valid
// names when there is no such method, and when it needs a texture source and
// none is given. The returned function redraws (up to 10 times, continuing
// the same generator) when a draw changes no pixel, as on a flat image where
// a pasted patch equals what it covers, and then throws saying so.
SynthMethod make_synth_method(const std::string& name, const SynthSources& sources);

}  // namespace loom::data::synth
