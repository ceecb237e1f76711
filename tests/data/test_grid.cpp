// test_grid.cpp: make_grid layout (positions and padding checked pixel by pixel
// against the layout formula), borders, captions in the 5x7 font (checked
// against glyphs written out by hand here), dtypes and argument errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data/font5x7.h"
#include "data/grid.h"
#include "data/image.h"
#include "tests/data/image_test_util.h"
#include "tests/test_util.h"

namespace loom::data {
namespace {

using loom::testing::expect_bitwise_equal;
using loom::testing::expect_error_containing;

// (N, C, H, W) float32 with distinct values in (0, 1): v = (index + 1) / (numel + 1).
Tensor distinct01(int64_t n, int64_t c, int64_t h, int64_t w) {
  const int64_t total = n * c * h * w;
  std::vector<float> v(static_cast<size_t>(total));
  for (int64_t i = 0; i < total; ++i) v[i] = static_cast<float>(i + 1) / static_cast<float>(total + 1);
  return Tensor::from_vector(v, {n, c, h, w});
}

// Which image covers sheet pixel (y, x), or -1, for the captionless layout.
struct Layout {
  int64_t h, w, pad, ncol, band = 0;
  int64_t image_at(int64_t y, int64_t x, int64_t n, int64_t& iy, int64_t& ix) const {
    const int64_t cell_h = h + band + pad, cell_w = w + pad;
    if (y < pad || x < pad) return -1;
    const int64_t r = (y - pad) / cell_h, c = (x - pad) / cell_w;
    iy = (y - pad) % cell_h, ix = (x - pad) % cell_w;
    const int64_t k = r * ncol + c;
    if (iy >= h || ix >= w || c >= ncol || k >= n) return -1;
    return k;
  }
};

TEST(Grid, LayoutAndPaddingByIndex) {
  const Tensor x = distinct01(5, 3, 4, 3);
  GridOptions opt;
  opt.nrow = 3;
  opt.padding = 2;
  opt.pad_value = 0.25;
  const Tensor g = make_grid(x, opt);
  ASSERT_EQ(g.shape(), (Shape{3, 2 * (4 + 2) + 2, 3 * (3 + 2) + 2}));
  EXPECT_EQ(g.dtype(), DType::Float32);
  const Layout layout{4, 3, 2, 3};
  int64_t image_pixels = 0;
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < g.size(1); ++y)
      for (int64_t xx = 0; xx < g.size(2); ++xx) {
        int64_t iy = 0, ix = 0;
        const int64_t k = layout.image_at(y, xx, 5, iy, ix);
        const double want = k < 0 ? 0.25 : x.at({k, c, iy, ix});
        image_pixels += k >= 0;
        ASSERT_EQ(g.at({c, y, xx}), want) << "c " << c << " y " << y << " x " << xx;
      }
  EXPECT_EQ(image_pixels, 5 * 3 * 4 * 3);  // every image pixel placed exactly once

  // nrow larger than N: a single row of N cells.
  opt.nrow = 8;
  EXPECT_EQ(make_grid(x, opt).shape(), (Shape{3, 4 + 4, 5 * 5 + 2}));
  // No padding: images abut.
  opt.padding = 0;
  opt.nrow = 5;
  const Tensor tight = make_grid(x, opt);
  EXPECT_EQ(tight.shape(), (Shape{3, 4, 15}));
  EXPECT_EQ(tight.at({1, 2, 3 * 4 + 1}), x.at({4, 1, 2, 1}));
}

TEST(Grid, Uint8InUint8OutAndVectorInput) {
  const Tensor u = to_uint8(distinct01(3, 1, 2, 2));
  GridOptions opt;
  opt.pad_value = 0.5;
  opt.padding = 1;
  const Tensor g = make_grid(u, opt);
  EXPECT_EQ(g.dtype(), DType::UInt8);
  ASSERT_EQ(g.shape(), (Shape{1, 4, 10}));
  EXPECT_EQ(g.at({0, 0, 0}), 128);  // round(0.5 * 255)
  for (int64_t k = 0; k < 3; ++k)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 2; ++j) EXPECT_EQ(g.at({0, 1 + i, 1 + 3 * k + j}), u.at({k, 0, i, j}));
  expect_bitwise_equal(make_grid(std::vector<Tensor>{u.select(0, 0), u.select(0, 1), u.select(0, 2)}, opt), g,
                       "vector input");
  const std::vector<Tensor> mismatched = {u.select(0, 0), Tensor::zeros({1, 3, 2}, DType::UInt8)};
  expect_error_containing([&] { make_grid(mismatched); }, "image 1 is [1, 3, 2] uint8, image 0 is [1, 2, 2] uint8");
}

TEST(Grid, BordersAroundChosenImages) {
  const Tensor x = distinct01(3, 1, 3, 3);  // gray: the sheet becomes RGB
  GridOptions opt;
  opt.nrow = 3;
  opt.padding = 3;
  opt.pad_value = 0.0;
  opt.border_width = 1;
  opt.borders = {std::nullopt, kRed, Rgb{0, 0, 1}};
  const Tensor g = make_grid(x, opt);
  ASSERT_EQ(g.shape(), (Shape{3, 3 + 3 + 3, 3 * 6 + 3}));
  for (int64_t k = 0; k < 3; ++k) {
    const int64_t top = 3, left = 3 + 6 * k;
    // The image, its 1-pixel ring and one more pixel of padding all round.
    for (int64_t y = top - 2; y < top + 3 + 2; ++y)
      for (int64_t xx = left - 2; xx < left + 3 + 2; ++xx) {
        const bool inside = y >= top && y < top + 3 && xx >= left && xx < left + 3;
        const bool ring = !inside && y >= top - 1 && y < top + 4 && xx >= left - 1 && xx < left + 4;
        for (int64_t c = 0; c < 3; ++c) {
          double want = 0.0;
          if (inside)
            want = x.at({k, 0, y - top, xx - left});  // gray replicated
          else if (ring && k == 1)
            want = c == 0 ? 1.0 : 0.0;
          else if (ring && k == 2)
            want = c == 2 ? 1.0 : 0.0;
          ASSERT_EQ(g.at({c, y, xx}), want) << "image " << k << " c " << c << " y " << y << " x " << xx;
        }
      }
  }
  // With captions the ring encloses the caption strip too, which keeps the pad value.
  GridOptions cap = opt;
  cap.captions = {"", "", ""};
  const Tensor gc = make_grid(x, cap);
  const int64_t band = 9, left1 = 3 + 6;
  for (int64_t y = 3 + 3; y < 3 + 3 + band; ++y) {
    EXPECT_EQ(gc.at({0, y, left1 + 1}), 0.0) << y;  // inside the strip: padding
    EXPECT_EQ(gc.at({0, y, left1 - 1}), 1.0) << y;  // left edge of the red ring
    EXPECT_EQ(gc.at({0, y, left1 + 3}), 1.0) << y;  // right edge
  }
  for (int64_t xx = left1 - 1; xx <= left1 + 3; ++xx) EXPECT_EQ(gc.at({0, 3 + 3 + band, xx}), 1.0) << xx;  // below
  opt.border_width = 4;
  expect_error_containing([&] { make_grid(x, opt); }, "border_width 4 must be between 1 and the padding (3)");
  opt.borders = {kRed};
  expect_error_containing([&] { make_grid(x, opt); }, "1 borders for 3 images");
}

// Hand-drawn glyphs ('#' = ink), independent of the font table.
const std::vector<std::string> kOne = {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."};
const std::vector<std::string> kA = {".###.", "#...#", "#...#", "#...#", "#####", "#...#", "#...#"};
const std::vector<std::string> kColon = {".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."};

TEST(Grid, CaptionsInTheBitmapFont) {
  const Tensor x = distinct01(2, 3, 4, 14);
  GridOptions opt;
  opt.nrow = 2;
  opt.padding = 2;
  opt.pad_value = 0.0;
  opt.captions = {"a:1", ""};
  opt.caption_color = Rgb{1.0, 0.5, 0.25};
  const Tensor g = make_grid(x, opt);
  const int64_t band = 7 + 2;
  ASSERT_EQ(g.shape(), (Shape{3, 4 + band + 2 + 2, 2 * 16 + 2}));
  const std::vector<const std::vector<std::string>*> glyphs = {&kA, &kColon, &kOne};
  const double color[3] = {1.0, 0.5, 0.25};
  // Caption of image 0 at (top + H + 1, left) = (7, 2); 6-pixel advance; clipped at x < 2 + 14.
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 4 + 2; y < 4 + 2 + band; ++y)
      for (int64_t xx = 0; xx < g.size(2); ++xx) {
        bool ink = false;
        const int64_t r = y - 7, col = xx - 2;
        if (r >= 0 && r < 7 && col >= 0 && xx < 16) {
          const int64_t ch = col / 6, gx = col % 6;
          ink = ch < 3 && gx < 5 && (*glyphs[ch])[r][gx] == '#';
        }
        ASSERT_EQ(g.at({c, y, xx}), ink ? color[c] : 0.0) << "c " << c << " y " << y << " x " << xx;
      }
  // The images themselves are untouched by captions.
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 14; ++j) ASSERT_EQ(g.at({0, 2 + i, 2 + j}), x.at({0, 0, i, j}));
  EXPECT_EQ(text_width("a:1"), 17);
  EXPECT_EQ(text_width("a:1", 2), 34);
  EXPECT_EQ(glyph('~'), glyph('?'));
  EXPECT_EQ(glyph('q'), glyph('Q'));
}

TEST(Grid, SaveGridWritesTheSheet) {
  loom::testing::ScratchDir dir;
  const Tensor u = to_uint8(distinct01(4, 3, 5, 5));
  GridOptions opt;
  opt.nrow = 2;
  opt.captions = {"ok", "bad", "ok", "bad"};
  opt.borders = {std::nullopt, kRed, std::nullopt, kRed};
  save_grid(dir.file("sheet.png"), u, opt);
  expect_bitwise_equal(load_image_u8(dir.file("sheet.png")), make_grid(u, opt), "saved sheet");
  // The same images as a vector of (C, H, W) tensors give the same sheet.
  std::vector<Tensor> images;
  for (int64_t i = 0; i < 4; ++i) images.push_back(u.select(0, i));
  save_grid(dir.file("sheet_from_vector.png"), images, opt);
  expect_bitwise_equal(load_image_u8(dir.file("sheet_from_vector.png")), make_grid(u, opt), "saved vector sheet");
}

TEST(Grid, RefusesBadInput) {
  expect_error_containing([] { make_grid(Tensor::zeros({2, 2, 4, 4})); }, "expected 1 (gray) or 3 (RGB) channels");
  expect_error_containing([] { make_grid(Tensor::zeros({3, 4, 4})); }, "expected a batch (N, C, H, W)");
  expect_error_containing([] { make_grid(std::vector<Tensor>{}); }, "no images");
  GridOptions opt;
  opt.captions = {"x"};
  expect_error_containing([&] { make_grid(Tensor::zeros({2, 3, 4, 4}), opt); }, "1 captions for 2 images");
}

}  // namespace
}  // namespace loom::data
