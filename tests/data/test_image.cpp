// test_image.cpp: image file IO (data/image.h). Round trips through PNG, colour
// conversion against the BT.601 formula, JPEG and BMP written by
// stb_image_write, hand-built PNGs (16-bit, palette, gray+alpha, 1-bit), and
// every refused input: each must throw a loom::Error naming the path.
#include <gtest/gtest.h>
#include <stb_image_write.h>

#include <cmath>
#include <filesystem>

#include "data/image.h"
#include "tests/data/image_test_util.h"
#include "tests/test_util.h"

namespace loom::data {
namespace {

using loom::testing::expect_error_containing;
using loom::testing::make_png;
using loom::testing::PngSpec;
using loom::testing::ScratchDir;
using loom::testing::write_bytes;

// A deterministic (C, H, W) uint8 pattern that uses the whole 0..255 range.
Tensor pattern_u8(int64_t c, int64_t h, int64_t w) {
  std::vector<uint8_t> v(static_cast<size_t>(c * h * w));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>((i * 37 + 11 + i / 7) % 256);
  return Tensor::from_vector(v, {c, h, w});
}

// (C, H, W) -> (H, W, C) bytes, the layout stb_image_write wants.
std::vector<uint8_t> interleave(const Tensor& chw) {
  const int64_t c = chw.size(0), h = chw.size(1), w = chw.size(2);
  const std::vector<double> v = chw.to_vector<double>();
  std::vector<uint8_t> out(v.size());
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < c; ++k) out[(y * w + x) * c + k] = static_cast<uint8_t>(v[(k * h + y) * w + x]);
  return out;
}

double luma601(double r, double g, double b) { return std::floor(0.299 * r + 0.587 * g + 0.114 * b + 0.5); }

// Expects load_image_u8(path) to throw naming the path and containing `needle`.
void expect_load_error(const std::string& path, const std::string& needle) {
  expect_error_containing([&] { load_image_u8(path); }, needle);
  expect_error_containing([&] { load_image(path); }, std::string("'") + path + "'");
}

TEST(ImageIO, PngRoundTripUint8IsBitExact) {
  ScratchDir dir;
  for (int64_t c : {1, 3, 4}) {
    const Tensor img = pattern_u8(c, 7, 9);
    const std::string path = dir.file(std::to_string(c) + "ch.png");
    save_png(path, img);
    const Tensor back = load_image_u8(path, ColorMode::Keep);
    EXPECT_EQ(back.dtype(), DType::UInt8);
    loom::testing::expect_bitwise_equal(back, img, "uint8 round trip");
    // Float load of the same file: exactly v / 255 in float32.
    const Tensor f = load_image(path, ColorMode::Keep);
    EXPECT_EQ(f.dtype(), DType::Float32);
    const std::vector<double> fv = f.to_vector<double>(), iv = img.to_vector<double>();
    for (size_t i = 0; i < fv.size(); ++i) ASSERT_EQ(fv[i], static_cast<double>(static_cast<float>(iv[i]) / 255.0f));
    const ImageInfo info = read_image_info(path);
    EXPECT_EQ(info.width, 9);
    EXPECT_EQ(info.height, 7);
    EXPECT_EQ(info.channels, c);
    EXPECT_EQ(info.bits_per_channel, 8);
  }
}

TEST(ImageIO, PngRoundTripFloatIsBitExact) {
  ScratchDir dir;
  const Tensor u = pattern_u8(3, 5, 6);
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor img = to_float01(u, dt);
    save_png(dir.file("f.png"), img);
    const Tensor back = load_image(dir.file("f.png"), ColorMode::RGB);
    loom::testing::expect_bitwise_equal(back, to_float01(u), "float round trip");
  }
}

TEST(ImageIO, ToUint8RoundsAndClamps) {
  const Tensor x = Tensor::from_vector<float>(
      {-0.3f, 0.0f, 0.5f, 1.0f / 255 * 10.49f, 1.0f / 255 * 10.51f, 1.0f, 1.7f, std::nanf("")}, {8});
  const std::vector<double> got = to_uint8(x).to_vector<double>();
  const std::vector<double> want = {0, 0, 128, 10, 11, 255, 255, 0};  // floor(clamp(x) * 255 + 0.5), NaN -> 0
  EXPECT_EQ(got, want);
  const Tensor u = pattern_u8(1, 16, 16);
  loom::testing::expect_bitwise_equal(to_uint8(to_float01(u)), u, "to_uint8(to_float01(u))");
  loom::testing::expect_bitwise_equal(to_uint8(to_float01(u, DType::Float64)), u, "float64 round trip");
}

TEST(ImageIO, SavesTwoDimensionalAsGrayAndCreatesParents) {
  ScratchDir dir;
  const Tensor img = pattern_u8(1, 4, 5);
  const std::string path = dir.file("a/b/c/gray.png");
  save_png(path, img.squeeze(0));
  loom::testing::expect_bitwise_equal(load_image_u8(path, ColorMode::Keep), img, "(H, W) saved as gray");
  // No temporary files left beside the result.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("a/b/c"))) entries += e.is_regular_file();
  EXPECT_EQ(entries, 1);
}

TEST(ImageIO, SavesNonContiguousViews) {
  ScratchDir dir;
  const Tensor img = pattern_u8(3, 6, 8);
  const Tensor flipped_view = img.permute({0, 2, 1});  // (3, 8, 6) strided
  save_png(dir.file("t.png"), flipped_view);
  loom::testing::expect_bitwise_equal(load_image_u8(dir.file("t.png")), flipped_view.contiguous(), "strided save");
}

TEST(ImageIO, GrayAndRgbConversionsFollowTheFormula) {
  ScratchDir dir;
  const Tensor rgba = pattern_u8(4, 6, 7);
  save_png(dir.file("rgba.png"), rgba);
  const std::vector<double> v = rgba.to_vector<double>();
  const int64_t hw = 42;

  const std::vector<double> gray = load_image_u8(dir.file("rgba.png"), ColorMode::Gray).to_vector<double>();
  ASSERT_EQ(gray.size(), static_cast<size_t>(hw));
  for (int64_t i = 0; i < hw; ++i) EXPECT_EQ(gray[i], luma601(v[i], v[hw + i], v[2 * hw + i])) << i;

  // RGB drops alpha; Keep keeps it.
  const Tensor rgb = load_image_u8(dir.file("rgba.png"), ColorMode::RGB);
  loom::testing::expect_bitwise_equal(rgb, rgba.narrow(0, 0, 3).contiguous(), "RGB from RGBA");
  EXPECT_EQ(load_image_u8(dir.file("rgba.png"), ColorMode::Keep).size(0), 4);

  // Gray file read as RGB: replicated.
  const Tensor g = pattern_u8(1, 6, 7);
  save_png(dir.file("g.png"), g);
  const Tensor g3 = load_image_u8(dir.file("g.png"), ColorMode::RGB);
  for (int64_t c = 0; c < 3; ++c) loom::testing::expect_bitwise_equal(g3.select(0, c), g.select(0, 0), "replicated");

  // Float gray: the rounded 8-bit luma divided by 255.
  const std::vector<double> fg = load_image(dir.file("rgba.png"), ColorMode::Gray).to_vector<double>();
  for (int64_t i = 0; i < hw; ++i) EXPECT_EQ(fg[i], static_cast<double>(static_cast<float>(gray[i]) / 255.0f));
}

TEST(ImageIO, ReadsBmpExactly) {
  ScratchDir dir;
  for (int c : {1, 3, 4}) {
    const Tensor img = pattern_u8(c, 5, 7);
    const std::vector<uint8_t> hwc = interleave(img);
    const std::string path = dir.file(std::to_string(c) + "ch.bmp");
    ASSERT_TRUE(stbi_write_bmp(path.c_str(), 7, 5, c, hwc.data()));
    const Tensor back = load_image_u8(path, c == 1 ? ColorMode::Gray : ColorMode::RGB);
    // stb writes gray BMPs as 24-bit; alpha is dropped by ColorMode::RGB.
    const Tensor want = c == 1 ? img : img.narrow(0, 0, 3).contiguous();
    loom::testing::expect_bitwise_equal(back, want, "BMP");
  }
}

TEST(ImageIO, ReadsJpegApproximately) {
  ScratchDir dir;
  // A smooth image: JPEG at quality 95 stays within a few levels of it.
  const int64_t h = 32, w = 40;
  std::vector<uint8_t> v(3 * h * w);
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) v[(c * h + y) * w + x] = static_cast<uint8_t>(40 + 3 * x + 2 * y + 20 * c);
  const Tensor img = Tensor::from_vector(v, {3, h, w});
  const std::vector<uint8_t> hwc = interleave(img);
  const std::string path = dir.file("smooth.jpg");
  ASSERT_TRUE(stbi_write_jpg(path.c_str(), w, h, 3, hwc.data(), 95));
  const ImageInfo info = read_image_info(path);
  EXPECT_EQ(info.width, w);
  EXPECT_EQ(info.height, h);
  EXPECT_EQ(info.channels, 3);
  const std::vector<double> back = load_image_u8(path).to_vector<double>();
  ASSERT_EQ(back.size(), v.size());
  double max_err = 0, sum_err = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    max_err = std::max(max_err, std::abs(back[i] - v[i]));
    sum_err += std::abs(back[i] - v[i]);
  }
  EXPECT_LE(max_err, 12.0);
  EXPECT_LE(sum_err / v.size(), 2.0);
  // Gray JPEG read as gray, compared with the luma of the source.
  const Tensor gray = load_image_u8(path, ColorMode::Gray);
  EXPECT_EQ(gray.shape(), (Shape{1, h, w}));
  const std::vector<double> gv = gray.to_vector<double>();
  for (int64_t i = 0; i < h * w; ++i) EXPECT_NEAR(gv[i], luma601(v[i], v[h * w + i], v[2 * h * w + i]), 12.0) << i;
}

TEST(ImageIO, SixteenBitPngKeepsFullPrecision) {
  ScratchDir dir;
  // 16-bit gray, 2x3, big-endian samples.
  const std::vector<uint32_t> samples = {0, 1, 128, 129, 1000, 65535};
  PngSpec s;
  s.width = 3;
  s.height = 2;
  s.bit_depth = 16;
  s.color_type = 0;
  for (uint32_t v : samples) s.scanlines.insert(s.scanlines.end(), {uint8_t(v >> 8), uint8_t(v & 0xFF)});
  write_bytes(dir.file("g16.png"), make_png(s));
  EXPECT_EQ(read_image_info(dir.file("g16.png")).bits_per_channel, 16);
  const std::vector<double> u8 = load_image_u8(dir.file("g16.png"), ColorMode::Keep).to_vector<double>();
  const std::vector<double> f = load_image(dir.file("g16.png"), ColorMode::Keep).to_vector<double>();
  for (size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(u8[i], std::round(samples[i] * 255.0 / 65535.0)) << i;
    EXPECT_FLOAT_EQ(f[i], samples[i] / 65535.0) << i;
  }

  // 16-bit RGB, one pixel per sample triple; gray at 16 bits, then scaled.
  PngSpec rgb;
  rgb.width = 2;
  rgb.height = 1;
  rgb.bit_depth = 16;
  rgb.color_type = 2;
  const std::vector<uint32_t> px = {65535, 0, 30000, 1234, 40000, 65000};
  for (uint32_t v : px) rgb.scanlines.insert(rgb.scanlines.end(), {uint8_t(v >> 8), uint8_t(v & 0xFF)});
  write_bytes(dir.file("rgb16.png"), make_png(rgb));
  const std::vector<double> g = load_image(dir.file("rgb16.png"), ColorMode::Gray).to_vector<double>();
  for (int i = 0; i < 2; ++i) EXPECT_FLOAT_EQ(g[i], luma601(px[3 * i], px[3 * i + 1], px[3 * i + 2]) / 65535.0) << i;
  const std::vector<double> c = load_image(dir.file("rgb16.png"), ColorMode::RGB).to_vector<double>();
  EXPECT_FLOAT_EQ(c[0], 1.0);                  // R of pixel 0
  EXPECT_FLOAT_EQ(c[2 + 1], 40000 / 65535.0);  // G of pixel 1
}

TEST(ImageIO, PalettePngIsExpanded) {
  ScratchDir dir;
  PngSpec s;
  s.width = 4;
  s.height = 2;
  s.color_type = 3;
  s.palette = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};  // 4 colours
  const std::vector<uint8_t> index = {0, 1, 2, 3, 3, 2, 1, 0};
  // 8-bit indices.
  s.bit_depth = 8;
  s.scanlines = index;
  write_bytes(dir.file("p8.png"), make_png(s));
  // 2-bit indices: four per byte, most significant first.
  s.bit_depth = 2;
  s.scanlines = {uint8_t(0 << 6 | 1 << 4 | 2 << 2 | 3), uint8_t(3 << 6 | 2 << 4 | 1 << 2 | 0)};
  write_bytes(dir.file("p2.png"), make_png(s));
  for (const char* name : {"p8.png", "p2.png"}) {
    const Tensor img = load_image_u8(dir.file(name), ColorMode::Keep);
    ASSERT_EQ(img.shape(), (Shape{3, 2, 4})) << name;
    for (int64_t i = 0; i < 8; ++i)
      for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(img.at({c, i / 4, i % 4}), s.palette[index[i] * 3 + c]) << name;
  }
  // tRNS gives the first entries an alpha (the rest are opaque): RGBA.
  s.trns = {0, 128};
  write_bytes(dir.file("pa.png"), make_png(s));
  EXPECT_EQ(read_image_info(dir.file("pa.png")).channels, 4);
  const Tensor rgba = load_image_u8(dir.file("pa.png"), ColorMode::Keep);
  ASSERT_EQ(rgba.shape(), (Shape{4, 2, 4}));
  const uint8_t alpha[4] = {0, 128, 255, 255};
  for (int64_t i = 0; i < 8; ++i) {
    for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(rgba.at({c, i / 4, i % 4}), s.palette[index[i] * 3 + c]);
    EXPECT_EQ(rgba.at({3, i / 4, i % 4}), alpha[index[i]]) << i;
  }
}

TEST(ImageIO, GrayAlphaAndOneBitPngs) {
  ScratchDir dir;
  PngSpec ga;
  ga.width = 2;
  ga.height = 1;
  ga.color_type = 4;
  ga.scanlines = {100, 7, 200, 255};  // (gray, alpha) pairs
  write_bytes(dir.file("ga.png"), make_png(ga));
  EXPECT_EQ(read_image_info(dir.file("ga.png")).channels, 2);
  const Tensor keep = load_image_u8(dir.file("ga.png"), ColorMode::Keep);  // alpha dropped
  EXPECT_EQ(keep.to_vector<double>(), (std::vector<double>{100, 200}));

  PngSpec bits;
  bits.width = 10;
  bits.height = 1;
  bits.bit_depth = 1;
  bits.scanlines = {0b10110000, 0b01000000};  // pixels 1 0 1 1 0 0 0 0 0 1
  write_bytes(dir.file("b.png"), make_png(bits));
  EXPECT_EQ(load_image_u8(dir.file("b.png"), ColorMode::Keep).to_vector<double>(),
            (std::vector<double>{255, 0, 255, 255, 0, 0, 0, 0, 0, 255}));
}

TEST(ImageIOErrors, MissingFileDirectoryAndEmptyFile) {
  ScratchDir dir;
  expect_load_error(dir.file("nope.png"), "no such file");
  expect_load_error(dir.path().string(), "is a directory");
  write_bytes(dir.file("empty.png"), {});
  expect_load_error(dir.file("empty.png"), "empty");
  expect_error_containing([&] { read_image_info(dir.file("nope.png")); }, "nope.png': no such file");
}

TEST(ImageIOErrors, GarbageBytes) {
  ScratchDir dir;
  std::vector<uint8_t> junk(200);
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<uint8_t>(i * 91 + 7);
  write_bytes(dir.file("junk.png"), junk);
  expect_load_error(dir.file("junk.png"), "not a readable image");
}

TEST(ImageIOErrors, CorruptAndTruncatedPng) {
  ScratchDir dir;
  save_png(dir.file("ok.png"), pattern_u8(3, 16, 16));
  const std::vector<uint8_t> good = loom::testing::read_bytes(dir.file("ok.png"));
  ASSERT_GT(good.size(), 100u);

  std::vector<uint8_t> flipped = good;
  flipped[good.size() - 30] ^= 0x55;  // inside the IDAT data
  write_bytes(dir.file("flipped.png"), flipped);
  expect_load_error(dir.file("flipped.png"), "CRC mismatch");

  for (size_t keep : {size_t(5), size_t(20), good.size() / 2, good.size() - 12, good.size() - 3}) {
    write_bytes(dir.file("cut.png"), std::vector<uint8_t>(good.begin(), good.begin() + static_cast<long>(keep)));
    if (keep < 8)  // not even a PNG signature
      expect_load_error(dir.file("cut.png"), "not a readable image");
    else
      expect_load_error(dir.file("cut.png"), "truncated PNG");
  }

  // A broken zlib stream with valid CRCs: stb's decoder refuses it.
  PngSpec s;
  s.width = 2;
  s.height = 2;
  s.scanlines = {1, 2, 3, 4};
  std::vector<uint8_t> png = make_png(s);
  const size_t idat = 8 + 25;  // signature + IHDR chunk (12 + 13)
  png[idat + 8] = 0x00;        // zlib CMF: compression method 0 is invalid
  // Recompute that chunk's CRC so only the zlib data is wrong.
  const uint32_t len = (png[idat] << 24) | (png[idat + 1] << 16) | (png[idat + 2] << 8) | png[idat + 3];
  const uint32_t crc = loom::testing::crc32_bitwise(&png[idat + 4], 4 + len);
  for (int k = 0; k < 4; ++k) png[idat + 8 + len + k] = static_cast<uint8_t>(crc >> (24 - 8 * k));
  write_bytes(dir.file("zlib.png"), png);
  expect_load_error(dir.file("zlib.png"), "corrupt or undecodable");
}

TEST(ImageIOErrors, ZeroSizeImages) {
  ScratchDir dir;
  PngSpec s;
  s.width = 0;
  s.height = 3;
  write_bytes(dir.file("zero.png"), make_png(s));
  expect_load_error(dir.file("zero.png"), "zero-size image");
  expect_error_containing([&] { read_image_info(dir.file("zero.png")); }, "zero-size image");

  // A BMP whose header says 0 x 4.
  const std::vector<uint8_t> hwc(3 * 4 * 4, 9);
  ASSERT_TRUE(stbi_write_bmp(dir.file("z.bmp").c_str(), 4, 4, 3, hwc.data()));
  std::vector<uint8_t> bmp = loom::testing::read_bytes(dir.file("z.bmp"));
  for (int k = 18; k < 22; ++k) bmp[k] = 0;  // biWidth
  write_bytes(dir.file("z.bmp"), bmp);
  expect_load_error(dir.file("z.bmp"), "zero-size image");

  ScratchDir out;
  expect_error_containing(
      [&] {
        save_png(out.file("e.png"), Tensor::zeros({3, 0, 4}, DType::UInt8));
      },
      "zero-size image");
}

TEST(ImageIOErrors, PngsThatCannotBeConverted) {
  ScratchDir dir;
  PngSpec s;
  s.width = 2;
  s.height = 1;
  s.color_type = 3;
  s.bit_depth = 16;  // palette images have at most 8-bit indices
  s.palette = {1, 2, 3, 4, 5, 6};
  s.scanlines = {0, 0, 0, 1};
  write_bytes(dir.file("p16.png"), make_png(s));
  expect_load_error(dir.file("p16.png"), "cannot be converted");

  s.bit_depth = 8;
  s.scanlines = {0, 1};
  s.palette.clear();  // palette image with no PLTE chunk
  write_bytes(dir.file("noplte.png"), make_png(s));
  expect_load_error(dir.file("noplte.png"), "without a PLTE chunk");

  s.palette = {1, 2, 3, 4, 5, 6};  // two entries, and a pixel using index 5
  s.scanlines = {1, 5};
  write_bytes(dir.file("outside.png"), make_png(s));
  expect_load_error(dir.file("outside.png"), "pixel 1,0 has colour index 5 but the palette (PLTE) has only 2 entries");

  PngSpec rgb4;  // RGB at 4 bits per sample is not a PNG combination
  rgb4.width = 2;
  rgb4.height = 1;
  rgb4.color_type = 2;
  rgb4.bit_depth = 4;
  rgb4.scanlines = {1, 2, 3};
  write_bytes(dir.file("rgb4.png"), make_png(rgb4));
  expect_load_error(dir.file("rgb4.png"), "colour type 2 with bit depth 4");
}

TEST(ImageIOErrors, HugeHeaderIsRefusedBeforeDecoding) {
  ScratchDir dir;
  PngSpec s;  // claims 60000 x 60000 RGBA (13 GiB decoded) with one tiny IDAT
  s.width = 60000;
  s.height = 60000;
  s.color_type = 6;
  s.scanlines = {};
  write_bytes(dir.file("bomb.png"), make_png(s));
  expect_load_error(dir.file("bomb.png"), "would decode to 13732.9 MiB, more than the 1024 MiB limit");
  expect_error_containing([&] { read_image_info(dir.file("bomb.png")); }, "MiB limit");
}

TEST(ImageIO, JpegWithMarkersInsideAnAppSegmentAndTrailingBytes) {
  ScratchDir dir;
  const Tensor img = pattern_u8(3, 8, 8);
  const std::vector<uint8_t> hwc = interleave(img);
  ASSERT_TRUE(stbi_write_jpg(dir.file("a.jpg").c_str(), 8, 8, 3, hwc.data(), 90));
  const std::vector<uint8_t> good = loom::testing::read_bytes(dir.file("a.jpg"));
  // An APP1 segment (like an EXIF thumbnail) holding SOS and EOI byte pairs, after SOI.
  const std::vector<uint8_t> app1 = {0xFF, 0xE1, 0x00, 0x08, 0xFF, 0xDA, 0xFF, 0xD9, 0x00, 0x00};
  std::vector<uint8_t> edited(good.begin(), good.begin() + 2);
  edited.insert(edited.end(), app1.begin(), app1.end());
  edited.insert(edited.end(), good.begin() + 2, good.end());
  edited.insert(edited.end(), {0x00, 0x12, 0x34});  // trailing bytes after EOI
  write_bytes(dir.file("b.jpg"), edited);
  loom::testing::expect_bitwise_equal(load_image_u8(dir.file("b.jpg")), load_image_u8(dir.file("a.jpg")),
                                      "same pixels");
}

TEST(ImageIOErrors, JpegHuffmanTableWithTooManyCodes) {
  ScratchDir dir;
  const std::vector<uint8_t> hwc(3 * 8 * 8, 77);
  ASSERT_TRUE(stbi_write_jpg(dir.file("a.jpg").c_str(), 8, 8, 3, hwc.data(), 90));
  std::vector<uint8_t> b = loom::testing::read_bytes(dir.file("a.jpg"));
  size_t dht = 0;
  for (size_t i = 2; i + 1 < b.size() && dht == 0; ++i)
    if (b[i] == 0xFF && b[i + 1] == 0xC4) dht = i;
  ASSERT_GT(dht, 0u);
  for (size_t k = 0; k < 16; ++k) b[dht + 5 + k] = 0x20;  // 16 x 32 = 512 codes
  write_bytes(dir.file("dht.jpg"), b);
  expect_load_error(dir.file("dht.jpg"), "declares 512 codes, at most 256 are possible");
}

TEST(ImageIOErrors, TruncatedJpegAndBmp) {
  ScratchDir dir;
  const Tensor img = pattern_u8(3, 24, 24);
  const std::vector<uint8_t> hwc = interleave(img);
  ASSERT_TRUE(stbi_write_jpg(dir.file("a.jpg").c_str(), 24, 24, 3, hwc.data(), 90));
  ASSERT_TRUE(stbi_write_bmp(dir.file("a.bmp").c_str(), 24, 24, 3, hwc.data()));
  for (const char* name : {"a.jpg", "a.bmp"}) {
    const std::vector<uint8_t> good = loom::testing::read_bytes(dir.file(name));
    const std::string cut = dir.file(std::string("cut_") + name);
    write_bytes(cut, std::vector<uint8_t>(good.begin(), good.begin() + static_cast<long>(good.size() * 3 / 4)));
    expect_load_error(cut, std::string(name) == "a.jpg" ? "truncated JPEG" : "truncated BMP");
  }
}

TEST(ImageIOErrors, SaveRefusesBadImages) {
  ScratchDir dir;
  const std::string path = dir.file("bad.png");
  for (int64_t c : {2, 5})
    expect_error_containing(
        [&] {
          save_png(path, Tensor::zeros({c, 4, 4}, DType::UInt8));
        },
        std::string("'") + path + "': unsupported channel count " + std::to_string(c));
  expect_error_containing([&] { save_png(path, Tensor::zeros({1, 3, 4, 4})); }, "expected a (C, H, W)");
  expect_error_containing([&] { save_png(path, Tensor::zeros({3, 4, 4}, DType::Int64)); }, "int64");
  expect_error_containing([&] { save_png(dir.path().string(), Tensor::zeros({3, 4, 4})); }, "is a directory");
  // Parent path is a regular file: cannot create the directory.
  write_bytes(dir.file("plain"), {1, 2, 3});
  expect_error_containing(
      [&] {
        save_png(dir.file("plain/x.png"), Tensor::zeros({3, 4, 4}));
      },
      "cannot create the directory");
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(ImageIO, SaveReplacesAnExistingFile) {
  ScratchDir dir;
  const std::string path = dir.file("img.png");
  save_png(path, Tensor::zeros({1, 3, 3}, DType::UInt8));
  const Tensor second = pattern_u8(3, 3, 3);
  save_png(path, second);
  loom::testing::expect_bitwise_equal(load_image_u8(path), second, "overwritten");
  // Only the image itself: no temporary file left behind.
  const auto entries =
      std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator{});
  EXPECT_EQ(entries, 1);
}

}  // namespace
}  // namespace loom::data
