// image_test_util.h: helpers shared by the data/ image tests: a scratch
// directory removed at the end of each test, writing raw bytes, and a tiny
// hand-written PNG encoder (stored deflate blocks, CRC-32 and Adler-32
// computed bit by bit here, independently of loom's own CRC table) for
// building PNGs that stb_image_write cannot produce: 16-bit, palette,
// gray+alpha, 1-bit, zero-size and deliberately broken files.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace loom::testing {

// A fresh directory under the system temp dir, removed with its contents.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "loom_test_";
    name.append(info ? info->name() : "x").append("_").append(std::to_string(::getpid()));
    name.append("_").append(std::to_string(counter++));
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// CRC-32 bit by bit (reflected polynomial 0xEDB88320), as in the PNG spec's annex.
inline uint32_t crc32_bitwise(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

// Adler-32 (zlib): a = 1 + sum of bytes, b = sum of the a's, both mod 65521.
inline uint32_t adler32(const std::vector<uint8_t>& data) {
  uint32_t a = 1, b = 0;
  for (uint8_t byte : data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

inline void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

inline void put_chunk(std::vector<uint8_t>& png, const char* type, const std::vector<uint8_t>& data) {
  put_be32(png, static_cast<uint32_t>(data.size()));
  const size_t start = png.size();
  png.insert(png.end(), type, type + 4);
  png.insert(png.end(), data.begin(), data.end());
  put_be32(png, crc32_bitwise(png.data() + start, png.size() - start));
}

// zlib stream of `raw` with stored (uncompressed) deflate blocks.
inline std::vector<uint8_t> zlib_stored(const std::vector<uint8_t>& raw) {
  std::vector<uint8_t> z = {0x78, 0x01};  // CM 8, window 32K; (0x78 * 256 + 0x01) % 31 == 0
  size_t pos = 0;
  do {
    const size_t len = std::min<size_t>(raw.size() - pos, 65535);
    const bool last = pos + len == raw.size();
    z.push_back(last ? 1 : 0);  // BFINAL, BTYPE 00 (stored)
    z.push_back(static_cast<uint8_t>(len));
    z.push_back(static_cast<uint8_t>(len >> 8));
    z.push_back(static_cast<uint8_t>(~len));
    z.push_back(static_cast<uint8_t>(~len >> 8));
    z.insert(z.end(), raw.begin() + static_cast<std::ptrdiff_t>(pos),
             raw.begin() + static_cast<std::ptrdiff_t>(pos + len));
    pos += len;
  } while (pos < raw.size());
  put_be32(z, adler32(raw));
  return z;
}

struct PngSpec {
  uint32_t width = 0, height = 0;
  uint8_t bit_depth = 8, color_type = 0;  // 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA
  std::vector<uint8_t> scanlines;         // rows already packed, without filter bytes
  std::vector<uint8_t> palette;           // PLTE contents (RGB triples); empty: no PLTE chunk
  std::vector<uint8_t> trns;              // tRNS contents; empty: no tRNS chunk
  bool with_iend = true;
};

// A complete PNG: signature, IHDR, PLTE and tRNS (if any), one IDAT, IEND. Each row gets
// filter type 0 (none).
inline std::vector<uint8_t> make_png(const PngSpec& s) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<uint8_t> ihdr;
  put_be32(ihdr, s.width);
  put_be32(ihdr, s.height);
  ihdr.insert(ihdr.end(), {s.bit_depth, s.color_type, 0, 0, 0});
  put_chunk(png, "IHDR", ihdr);
  if (!s.palette.empty()) put_chunk(png, "PLTE", s.palette);
  if (!s.trns.empty()) put_chunk(png, "tRNS", s.trns);
  std::vector<uint8_t> raw;
  const size_t row_bytes = s.height ? s.scanlines.size() / s.height : 0;
  for (uint32_t y = 0; y < s.height; ++y) {
    raw.push_back(0);
    raw.insert(raw.end(), s.scanlines.begin() + static_cast<std::ptrdiff_t>(y * row_bytes),
               s.scanlines.begin() + static_cast<std::ptrdiff_t>((y + 1) * row_bytes));
  }
  put_chunk(png, "IDAT", zlib_stored(raw));
  if (s.with_iend) put_chunk(png, "IEND", {});
  return png;
}

}  // namespace loom::testing
