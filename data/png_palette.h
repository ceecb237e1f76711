// png_palette.h: decoding palette (colour type 3) PNGs with the palette
// applied here rather than by stb_image, so that a pixel whose index lies
// outside the PLTE chunk is refused (stb would read an uninitialised palette
// entry). stb only inflates and unpacks the indices: the file is rewritten
// with a 256-entry identity palette (entry i = (i, i, i)) and without tRNS, so
// the decoded gray value of each pixel is its index.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace loom::data {

struct PalettePixels {
  int width = 0, height = 0;
  int channels = 3;             // 3 (RGB), or 4 (RGBA) when the file has a tRNS chunk
  std::vector<uint8_t> pixels;  // (H, W, channels) interleaved
};

// True for a PNG whose IHDR says colour type 3.
bool is_palette_png(const std::vector<uint8_t>& bytes);
// The expanded pixels. Throws loom::Error starting with `where` on any PNG
// problem (see image_check.h) and on an index outside the palette.
PalettePixels decode_palette_png(const std::vector<uint8_t>& bytes, const std::string& where);

}  // namespace loom::data
