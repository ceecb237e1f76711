// image_check.cpp: structural checks of PNG, JPEG and BMP bytes (see
// image_check.h).
#include "data/image_check.h"

#include <array>
#include <cstring>

#include "tensor/error.h"

namespace loom::data {

namespace {

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
uint32_t read_le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
uint16_t read_le16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }

// The byte-wise CRC table: entry n is the CRC of the single byte n.
std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}

bool bit_depth_allowed(int color_type, int depth) {
  switch (color_type) {
    case 0: return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;  // gray
    case 3: return depth == 1 || depth == 2 || depth == 4 || depth == 8;                 // palette
    case 2:                                                                              // RGB
    case 4:                                                                              // gray + alpha
    case 6: return depth == 8 || depth == 16;                                            // RGBA
    default: return false;
  }
}

std::vector<PngChunk> check_png(const std::vector<uint8_t>& b, const std::string& where) {
  const size_t n = b.size();
  std::vector<PngChunk> chunks;
  bool seen_ihdr = false, seen_plte = false, seen_idat = false;
  int color_type = -1;
  size_t pos = 8;  // after the signature
  while (true) {
    LOOM_CHECK(pos < n, where, "truncated PNG: the file ends at byte ", n, " before the IEND chunk");
    LOOM_CHECK(pos + 8 <= n, where, "truncated PNG: the file ends at byte ", n, " inside a chunk header");
    const uint32_t length = read_be32(&b[pos]);
    const std::string type(reinterpret_cast<const char*>(&b[pos + 4]), 4);
    LOOM_CHECK(length <= 0x7fffffffu, where, "corrupt PNG: chunk '", type, "' at byte ", pos, " has an invalid length ",
               length);
    LOOM_CHECK(pos + 12 + length <= n, where, "truncated PNG: chunk '", type, "' at byte ", pos, " needs ", 12 + length,
               " bytes but only ", n - pos, " remain in the file");
    const uint8_t* data = &b[pos + 8];
    const uint32_t stored_crc = read_be32(data + length);
    const uint32_t actual_crc = crc32(&b[pos + 4], 4 + length);
    LOOM_CHECK(stored_crc == actual_crc, where, "corrupt PNG: CRC mismatch in chunk '", type, "' at byte ", pos);
    chunks.push_back({type, pos + 8, length});

    if (!seen_ihdr) {
      LOOM_CHECK(type == "IHDR" && length == 13, where, "corrupt PNG: the first chunk is '", type,
                 "', expected a 13-byte IHDR");
      seen_ihdr = true;
      const uint32_t width = read_be32(data), height = read_be32(data + 4);
      const int depth = data[8];
      color_type = data[9];
      LOOM_CHECK(width > 0 && height > 0, where, "zero-size image: the PNG header says ", width, "x", height,
                 " pixels");
      LOOM_CHECK(color_type <= 6 && bit_depth_allowed(color_type, depth), where, "unsupported PNG: colour type ",
                 color_type, " with bit depth ", depth,
                 " is not a valid PNG combination and cannot be converted (allowed: gray 1/2/4/8/16, "
                 "palette 1/2/4/8, RGB, gray+alpha and RGBA 8/16)");
      LOOM_CHECK(data[12] <= 1, where, "unsupported PNG: unknown interlace method ", int(data[12]));
      static const int64_t channels_of_type[7] = {1, 0, 3, 4, 2, 0, 4};  // palette: RGBA at most
      check_decoded_size(width, height, channels_of_type[color_type], depth == 16 ? 2 : 1, where);
    } else if (type == "PLTE") {
      seen_plte = true;
      LOOM_CHECK(length > 0 && length % 3 == 0 && length <= 768, where, "corrupt PNG: PLTE chunk of ", length,
                 " bytes (must be 3 to 768, a multiple of 3)");
    } else if (type == "IDAT") {
      LOOM_CHECK(color_type != 3 || seen_plte, where,
                 "palette PNG without a PLTE chunk before its image data: the palette indices cannot be "
                 "converted to colours");
      seen_idat = true;
    } else if (type == "IEND") {
      break;
    }
    pos += 12 + length;
  }
  LOOM_CHECK(seen_idat, where, "corrupt PNG: no image data (IDAT chunk)");
  return chunks;
}

std::string hex_byte(uint8_t v) {
  static const char digits[] = "0123456789ABCDEF";
  return {digits[v >> 4], digits[v & 15]};
}

// A DHT segment's payload: tables of (class/id, 16 code counts, the symbols).
// More than 256 symbols in one table overflows stb_image 2.27's fixed arrays.
void check_dht(const uint8_t* p, size_t size, size_t at, const std::string& where) {
  while (size > 0) {
    LOOM_CHECK(size >= 17, where, "corrupt JPEG: Huffman table (DHT) at byte ", at, " is cut short");
    LOOM_CHECK((p[0] >> 4) <= 1 && (p[0] & 15) <= 3, where, "corrupt JPEG: Huffman table (DHT) at byte ", at,
               " has an invalid class/id byte 0x", hex_byte(p[0]));
    size_t symbols = 0;
    for (int i = 1; i <= 16; ++i) symbols += p[i];
    LOOM_CHECK(symbols <= 256, where, "corrupt JPEG: Huffman table (DHT) at byte ", at, " declares ", symbols,
               " codes, at most 256 are possible");
    LOOM_CHECK(17 + symbols <= size, where, "corrupt JPEG: Huffman table (DHT) at byte ", at,
               " is longer than its segment");
    p += 17 + symbols;
    size -= 17 + symbols;
  }
}

// Walks the marker segments from SOI to EOI: every segment must fit in the
// file, entropy-coded data after each SOS is skipped (FF 00 is a stuffed byte,
// FF D0..D7 a restart marker), and the file must reach EOI (FF D9). Stray bytes
// between segments are skipped, as libjpeg does.
void check_jpeg(const std::vector<uint8_t>& b, const std::string& where) {
  const size_t n = b.size();
  size_t pos = 2;  // after SOI
  bool in_scan = false;
  auto is_marker_at = [&](size_t i) {
    return b[i] == 0xFF && b[i + 1] != 0x00 && b[i + 1] != 0xFF && !(b[i + 1] >= 0xD0 && b[i + 1] <= 0xD7);
  };
  while (true) {
    if (in_scan) {
      while (pos + 1 < n && !is_marker_at(pos)) ++pos;
      in_scan = false;
    }
    while (pos < n && b[pos] != 0xFF) ++pos;          // stray bytes
    while (pos + 1 < n && b[pos + 1] == 0xFF) ++pos;  // fill bytes: the marker follows the last FF
    LOOM_CHECK(pos + 1 < n, where, "truncated JPEG: the file ends at byte ", n,
               " before the end-of-image marker (FF D9)");
    const uint8_t marker = b[pos + 1];
    if (marker == 0xD9) return;                                                    // EOI
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8) || marker == 0x00) {  // no length field
      pos += 2;
      continue;
    }
    LOOM_CHECK(pos + 3 < n, where, "truncated JPEG: the file ends inside the FF", hex_byte(marker), " segment at byte ",
               pos);
    const size_t length = (size_t(b[pos + 2]) << 8) | b[pos + 3];  // includes the two length bytes
    LOOM_CHECK(length >= 2, where, "corrupt JPEG: segment FF", hex_byte(marker), " at byte ", pos, " has length ",
               length);
    LOOM_CHECK(pos + 2 + length <= n, where, "truncated JPEG: segment FF", hex_byte(marker), " at byte ", pos,
               " needs ", length + 2, " bytes but only ", n - pos, " remain in the file");
    if (marker == 0xC4) check_dht(&b[pos + 4], length - 2, pos, where);
    in_scan = marker == 0xDA;  // SOS: its header, then entropy-coded data
    pos += 2 + length;
  }
}

void check_bmp(const std::vector<uint8_t>& b, const std::string& where) {
  const size_t n = b.size();
  LOOM_CHECK(n >= 26, where, "truncated BMP: ", n, " bytes, shorter than the headers");
  const uint64_t pixel_offset = read_le32(&b[10]);
  const uint32_t header_size = read_le32(&b[14]);
  int64_t width = 0, height = 0;
  uint32_t bits = 0, compression = 0;
  if (header_size == 12) {  // BITMAPCOREHEADER
    width = read_le16(&b[18]);
    height = static_cast<int16_t>(read_le16(&b[20]));
    bits = read_le16(&b[24]);
  } else if (header_size >= 40) {  // BITMAPINFOHEADER and its extensions
    LOOM_CHECK(n >= 34, where, "truncated BMP: ", n, " bytes, shorter than the headers");
    width = static_cast<int32_t>(read_le32(&b[18]));
    height = static_cast<int32_t>(read_le32(&b[22]));  // negative: rows stored top-down
    bits = read_le16(&b[28]);
    compression = read_le32(&b[30]);
  } else {
    return;  // an unknown header: stb reports it
  }
  const int64_t rows = height < 0 ? -height : height;
  LOOM_CHECK(width != 0 && rows != 0, where, "zero-size image: the BMP header says ", width, "x", rows, " pixels");
  LOOM_CHECK(width > 0, where, "corrupt BMP: negative width ", width);
  check_decoded_size(width, rows, 4, 1, where);
  // Uncompressed layouts (BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS): rows padded to 4 bytes.
  const bool uncompressed = compression == 0 || compression == 3 || compression == 6;
  if (!uncompressed || bits == 0 || bits > 32) return;
  const uint64_t row_bytes = (static_cast<uint64_t>(width) * bits + 31) / 32 * 4;
  const bool fits = pixel_offset <= n && static_cast<uint64_t>(rows) <= (n - pixel_offset) / row_bytes;
  LOOM_CHECK(fits, where, "truncated BMP: ", width, "x", rows, " pixels at ", bits, " bits need ", pixel_offset, " + ",
             rows, " * ", row_bytes, " bytes, the file has ", n);
}

}  // namespace

void check_decoded_size(int64_t width, int64_t height, int64_t channels, int64_t bytes_per_sample,
                        const std::string& where) {
  const double bytes = double(width) * double(height) * double(channels) * double(bytes_per_sample);
  LOOM_CHECK(bytes <= kMaxDecodedBytes, where, "a ", width, "x", height, " image with ", channels, " channels of ",
             8 * bytes_per_sample, " bits would decode to ", bytes / (1 << 20), " MiB, more than the ",
             kMaxDecodedBytes / (1 << 20), " MiB limit (a corrupt header or a decompression bomb?)");
}

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc) {
  static const std::array<uint32_t, 256> table = make_crc_table();
  uint32_t c = crc ^ 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

bool is_png(const std::vector<uint8_t>& b) {
  static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  return b.size() >= 8 && std::memcmp(b.data(), png_signature, 8) == 0;
}

std::vector<PngChunk> png_chunks(const std::vector<uint8_t>& b, const std::string& where) {
  LOOM_CHECK(is_png(b), where, "not a PNG file (no PNG signature)");
  return check_png(b, where);
}

void check_image_bytes(const std::vector<uint8_t>& b, const std::string& where) {
  if (is_png(b)) {
    check_png(b, where);
  } else if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) {
    check_jpeg(b, where);
  } else if (b.size() >= 2 && b[0] == 'B' && b[1] == 'M') {
    check_bmp(b, where);
  }
}

}  // namespace loom::data
