// dataset_test_util.h: tiny image and mask files for the dataset reader and
// loader tests. Each image is one flat gray level (so a test can tell which
// file a sample came from); each mask marks one rectangle (so the test knows
// its pixel count by hand).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/image.h"

namespace loom::testing {

// A rectangle of pixels: rows y..y+h-1, columns x..x+w-1.
struct Rect {
  int64_t y = 0, x = 0, h = 0, w = 0;
  int64_t area() const { return h * w; }
};

// Writes a (channels, height, width) PNG whose every sample is `value` (0..255).
inline void write_flat_png(const std::filesystem::path& path, int64_t height, int64_t width, int value,
                           int64_t channels = 3) {
  data::save_png(path.string(), Tensor::full({channels, height, width}, value, DType::UInt8));
}

// Writes a (1, height, width) mask PNG: 255 inside `marked`, 0 elsewhere.
inline void write_mask_png(const std::filesystem::path& path, int64_t height, int64_t width, const Rect& marked) {
  std::vector<uint8_t> pixels(static_cast<size_t>(height * width), 0);
  for (int64_t y = marked.y; y < marked.y + marked.h; ++y)
    for (int64_t x = marked.x; x < marked.x + marked.w; ++x) pixels[static_cast<size_t>(y * width + x)] = 255;
  data::save_png(path.string(), Tensor::from_vector(pixels, {1, height, width}));
}

}  // namespace loom::testing
