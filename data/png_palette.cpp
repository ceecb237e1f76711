// png_palette.cpp: palette PNGs through an identity palette (see png_palette.h).
#include "data/png_palette.h"

#include <stb_image.h>

#include <array>
#include <memory>

#include "data/image_check.h"
#include "tensor/error.h"

namespace loom::data {

namespace {

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

// Appends a chunk (length, type, data, CRC over type and data).
void put_chunk(std::vector<uint8_t>& out, const std::string& type, const uint8_t* data, uint32_t length) {
  put_be32(out, length);
  const size_t start = out.size();
  out.insert(out.end(), type.begin(), type.end());
  out.insert(out.end(), data, data + length);
  put_be32(out, crc32(out.data() + start, out.size() - start));
}

}  // namespace

bool is_palette_png(const std::vector<uint8_t>& bytes) {
  // Signature (8), IHDR length and type (8), width, height, depth: colour type at 25.
  return is_png(bytes) && bytes.size() > 25 && bytes[25] == 3;
}

PalettePixels decode_palette_png(const std::vector<uint8_t>& bytes, const std::string& where) {
  const std::vector<PngChunk> chunks = png_chunks(bytes, where);
  std::vector<std::array<uint8_t, 4>> palette;  // RGBA per entry
  std::vector<uint8_t> alpha;                   // tRNS: alpha of the first entries
  std::array<uint8_t, 768> identity{};          // entry i = (i, i, i)
  for (int i = 0; i < 256; ++i) identity[3 * i] = identity[3 * i + 1] = identity[3 * i + 2] = static_cast<uint8_t>(i);

  std::vector<uint8_t> rewritten(bytes.begin(), bytes.begin() + 8);  // signature
  for (const PngChunk& c : chunks) {
    const uint8_t* data = bytes.data() + c.data;
    if (c.type == "PLTE") {
      for (uint32_t i = 0; i + 2 < c.length; i += 3) palette.push_back({data[i], data[i + 1], data[i + 2], 255});
      put_chunk(rewritten, "PLTE", identity.data(), 768);
    } else if (c.type == "tRNS") {
      alpha.assign(data, data + c.length);
    } else {
      put_chunk(rewritten, c.type, data, c.length);
    }
  }
  LOOM_CHECK(alpha.size() <= palette.size(), where, "corrupt PNG: tRNS has ", alpha.size(),
             " entries for a palette of ", palette.size());
  for (size_t i = 0; i < alpha.size(); ++i) palette[i][3] = alpha[i];

  int w = 0, h = 0, stored = 0;
  // One channel requested: stb's gray of (i, i, i) is (77 + 150 + 29) i >> 8 = i, the index.
  std::unique_ptr<uint8_t, void (*)(void*)> index(
      stbi_load_from_memory(rewritten.data(), static_cast<int>(rewritten.size()), &w, &h, &stored, 1), stbi_image_free);
  LOOM_CHECK(index != nullptr, where, "corrupt or undecodable image data (stb_image: ",
             stbi_failure_reason() ? stbi_failure_reason() : "unknown reason", ")");

  PalettePixels out;
  out.width = w;
  out.height = h;
  out.channels = alpha.empty() ? 3 : 4;
  const size_t count = static_cast<size_t>(w) * static_cast<size_t>(h);
  out.pixels.resize(count * static_cast<size_t>(out.channels));
  for (size_t i = 0; i < count; ++i) {
    const uint8_t k = index.get()[i];
    LOOM_CHECK(k < palette.size(), where, "palette PNG: pixel ", i % static_cast<size_t>(w), ",",
               i / static_cast<size_t>(w), " has colour index ", int(k), " but the palette (PLTE) has only ",
               palette.size(), " entries; the image cannot be converted");
    for (int c = 0; c < out.channels; ++c) out.pixels[i * out.channels + c] = palette[k][c];
  }
  return out;
}

}  // namespace loom::data
