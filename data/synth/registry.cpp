// registry.cpp: the defect methods by name (synth.h), each bound to its
// texture source and wrapped so that a draw that changes nothing is redrawn.
#include <algorithm>
#include <sstream>

#include "data/synth/bezier.h"
#include "data/synth/cutpaste.h"
#include "data/synth/draem.h"
#include "data/synth/elastic.h"
#include "data/synth/gradient.h"
#include "data/synth/poisson.h"
#include "data/synth/synth.h"
#include "tensor/error.h"

namespace loom::data::synth {
namespace {

constexpr int kMaxDraws = 10;

// True when some value of `after` differs from `before`.
bool any_change(const Tensor& before, const Tensor& after) {
  const float* a = before.data<float>();
  const float* b = after.data<float>();
  for (int64_t k = 0; k < before.numel(); ++k)
    if (a[k] != b[k]) return true;
  return false;
}

std::string method_names() {
  std::ostringstream s;
  for (const SynthMethodInfo& m : synth_methods()) s << (s.tellp() > 0 ? ", " : "") << m.name;
  return s.str();
}

// The unwrapped method `name` (known to exist).
SynthMethod bind_method(const std::string& name, const SynthSources& sources) {
  const TextureSource texture = sources.texture, paste = sources.paste;
  auto texture_for = [texture](const Tensor& image, Generator& gen) {
    return texture(image.size(1), image.size(2), gen);
  };
  auto bezier = [paste](BezierShape shape) {
    return [=](const Tensor& image, Generator& gen) {
      return bezier_defect(image, paste ? paste(image.size(1), image.size(2), gen) : Tensor(), shape, gen);
    };
  };
  if (name == "cutpaste") return [](const Tensor& image, Generator& gen) { return cutpaste(image, gen); };
  if (name == "cutpaste-scar") return [](const Tensor& image, Generator& gen) { return cutpaste_scar(image, gen); };
  if (name == "draem")
    return [=](const Tensor& image, Generator& gen) { return draem(image, texture_for(image, gen), gen); };
  if (name == "bezier-scar") return bezier(BezierShape::Scar);
  if (name == "bezier-clump") return bezier(BezierShape::Clump);
  if (name == "elastic") return [](const Tensor& image, Generator& gen) { return elastic_distortion(image, gen); };
  if (name == "gradient") return [](const Tensor& image, Generator& gen) { return gradient_stain(image, gen); };
  return [=](const Tensor& image, Generator& gen) { return poisson_synth(image, texture_for(image, gen), gen); };
}

}  // namespace

const std::vector<SynthMethodInfo>& synth_methods() {
  static const std::vector<SynthMethodInfo> methods = {
      // name, summary, needs_texture, exact_mask
      {"cutpaste", "CutPaste: a colour-jittered rectangle (2-15% of the area) moved elsewhere", false, true},
      {"cutpaste-scar", "CutPaste-Scar: a thin jittered patch (2-16 x 10-25 px) turned up to 45 degrees", false, true},
      {"draem", "DRAEM: a texture blended through a thresholded Perlin-noise mask", true, false},
      {"bezier-scar", "DefectMaker Bezier-scar: a curved stroke, noise or cut-paste fill, pasted or fused", false,
       false},
      {"bezier-clump", "DefectMaker Bezier-clump: eroded, split blob, noise or cut-paste fill", false, false},
      {"elastic", "local weave distortion: the image elastically warped inside a bent ellipse", false, true},
      {"gradient", "a gray stain that fades into the background (linear or radial opacity)", false, false},
      {"poisson", "a foreign texture blended seamlessly (Poisson equation) into a blob", true, false},
  };
  return methods;
}

SynthMethod make_synth_method(const std::string& name, const SynthSources& sources) {
  const auto& methods = synth_methods();
  const auto info =
      std::find_if(methods.begin(), methods.end(), [&](const SynthMethodInfo& m) { return m.name == name; });
  LOOM_CHECK(info != methods.end(), "synth: unknown method '", name, "'; the methods are ", method_names());
  LOOM_CHECK(!info->needs_texture || sources.texture, "synth: method '", name,
             "' needs a texture source (an anomaly-source folder or the procedural fabric)");
  const SynthMethod method = bind_method(name, sources);
  return [method, name](const Tensor& image, Generator& gen) {
    const Tensor checked = checked_image(image, name.c_str());
    for (int draw = 0; draw < kMaxDraws; ++draw) {
      SynthResult result = method(checked, gen);
      if (any_change(checked, result.image)) return result;
    }
    LOOM_CHECK(false, "synth ", name, ": ", kMaxDraws, " draws in a row changed no pixel of the ",
               shape_str(checked.shape()), " image; is it a single flat colour?");
    return SynthResult{};
  };
}

}  // namespace loom::data::synth
