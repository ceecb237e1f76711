// image_check.h: structural checks of image file bytes before stb_image
// decodes them, so that damage stb would pass over silently or report vaguely
// gets a precise message:
//   PNG   signature; every chunk complete (else "truncated") with a matching
//         CRC-32 (else "corrupt"); IHDR first, with a non-zero size and a bit
//         depth / colour type pair the PNG specification allows; a PLTE chunk
//         for palette images; at least one IDAT; an IEND chunk; a decoded
//         size within kMaxDecodedBytes. (The zlib Adler-32 inside IDAT is not
//         checked, by stb or here: the chunk CRCs already cover damage on disk.)
//   JPEG  marker segments that fit in the file up to an end-of-image marker
//         (FF D9); Huffman tables of at most 256 codes (stb_image 2.27 writes
//         past its arrays on larger ones).
//   BMP   a non-zero size within kMaxDecodedBytes, and pixel data that fits
//         in the file for the uncompressed layouts.
// Other formats stb reads (TGA, GIF, PSD, PNM, ...) pass unchecked.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace loom::data {

// The most bytes an image may decode to: a header claiming more is more
// likely corrupt or malicious (a decompression bomb) than a dataset image.
inline constexpr double kMaxDecodedBytes = double(1u << 30);
// Throws (starting with `where`) when width x height x channels samples of
// bytes_per_sample exceed kMaxDecodedBytes.
void check_decoded_size(int64_t width, int64_t height, int64_t channels, int64_t bytes_per_sample,
                        const std::string& where);

// Throws loom::Error starting with `where` (e.g. "load_image: 'a.png': ").
void check_image_bytes(const std::vector<uint8_t>& bytes, const std::string& where);

// One chunk of a PNG file: its type and where its data lies in the file.
struct PngChunk {
  std::string type;  // "IHDR", "PLTE", "IDAT", ...
  size_t data = 0;   // offset of the first data byte
  uint32_t length = 0;
};
bool is_png(const std::vector<uint8_t>& bytes);  // the 8-byte signature
// The chunks up to and including IEND, after every PNG check above (throws
// like check_image_bytes).
std::vector<PngChunk> png_chunks(const std::vector<uint8_t>& bytes, const std::string& where);

// CRC-32 (ISO-HDLC, the PNG and zlib polynomial 0xEDB88320, reflected).
uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0);

}  // namespace loom::data
