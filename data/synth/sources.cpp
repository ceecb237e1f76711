// sources.cpp: folder and procedural-fabric texture sources (see sources.h).
#include "data/synth/sources.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <vector>

#include "data/dataset_scan.h"
#include "data/fabric/presets.h"
#include "data/image.h"
#include "data/random_draws.h"
#include "tensor/error.h"

namespace loom::data::synth {

TextureSource folder_texture_source(const std::string& dir) {
  auto files = std::make_shared<const std::vector<std::filesystem::path>>(list_images_required(dir, "texture source"));
  return [files](int64_t, int64_t, Generator& gen) {
    const auto pick = static_cast<size_t>(draw_int(gen, 0, static_cast<int64_t>(files->size())));
    return load_image((*files)[pick].string(), ColorMode::RGB);
  };
}

TextureSource fabric_texture_source() {
  return
      [](int64_t height, int64_t width, Generator& gen) { return fabric::random_fabric(std::max(height, width), gen); };
}

}  // namespace loom::data::synth
