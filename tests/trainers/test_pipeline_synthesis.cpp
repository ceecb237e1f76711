// test_pipeline_synthesis.cpp: stage 3's mask rule (trainers/pipeline_synthesis.h)
// on hand-made images: a blob pasted into a texture is found (and nothing
// outside its window), the same texture pasted misaligned is not a defect,
// specks are dropped, --mask box is the enclosing rectangle, an unchanged
// image gives an empty mask; the quantile against numpy's definition worked by hand.
#include <gtest/gtest.h>

#include <algorithm>

#include "tensor/random.h"
#include "trainers/pipeline_synthesis.h"

using namespace loom;
using namespace loom::eval;

namespace {

constexpr int64_t S = 32;

// A vertical stripe texture (period 4, values 0.3 / 0.5 in every channel) with
// a little seeded noise: (3, S, S).
std::vector<float> texture(uint64_t seed) {
  Generator gen(seed);
  const std::vector<float> noise = rand({3, S, S}, gen).to_vector<float>();
  std::vector<float> v(static_cast<size_t>(3 * S * S));
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < S; ++i)
      for (int64_t j = 0; j < S; ++j) {
        const size_t k = static_cast<size_t>((c * S + i) * S + j);
        v[k] = ((j / 2) % 2 ? 0.5f : 0.3f) + 0.02f * noise[k];
      }
  return v;
}

Tensor image(const std::vector<float>& v) { return Tensor::from_vector(v, {3, S, S}); }

// Sets the square [top, top + side) x [left, left + side) to `value` in every channel.
void paint(std::vector<float>& v, int64_t top, int64_t left, int64_t side, float value) {
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = top; i < top + side; ++i)
      for (int64_t j = left; j < left + side; ++j) v[static_cast<size_t>((c * S + i) * S + j)] = value;
}

bool on(const FusedRegion& r, int64_t i, int64_t j) {
  return r.mask.to_vector<float>()[static_cast<size_t>(i * S + j)] > 0.5f;
}

}  // namespace

TEST(PipelineSynthesis, QuantileIsNumpysLinearInterpolation) {
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2}, 0.5), 2.5);  // position 1.5 between 2 and 3
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2}, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2}, 1.0), 4.0);
  std::vector<float> hundred;
  for (int k = 0; k <= 100; ++k) hundred.push_back(static_cast<float>(100 - k));
  EXPECT_NEAR(quantile(hundred, 0.95), 95.0, 1e-4);
  EXPECT_NEAR(quantile({0, 10}, 0.25), 2.5, 1e-6);
  EXPECT_THROW(quantile({}, 0.5), Error);
}

// A bright 6 x 6 blob in a 12 x 12 window: every blob pixel is in the mask,
// nothing outside the window is, and nothing farther than the blur radius (1)
// from the blob is.
TEST(PipelineSynthesis, FindsAPastedBlobInsideItsWindow) {
  const std::vector<float> b = texture(1);
  std::vector<float> y = b;
  paint(y, 12, 14, 6, 0.95f);
  const models::PasteWindow window{.top = 9, .left = 11, .height = 12, .width = 12};
  const FusedRegion r = fused_region_mask(image(b), image(y), window);
  EXPECT_GT(r.threshold, 0);
  EXPECT_LT(r.threshold, 0.45);  // the blob differs by 0.45 or more from either stripe
  int64_t pixels = 0;
  for (int64_t i = 0; i < S; ++i)
    for (int64_t j = 0; j < S; ++j) {
      const bool in_blob = i >= 12 && i < 18 && j >= 14 && j < 20;
      const bool near_blob = i >= 11 && i < 19 && j >= 13 && j < 21;
      const bool in_window = i >= 9 && i < 21 && j >= 11 && j < 23;
      if (in_blob) {
        EXPECT_TRUE(on(r, i, j)) << i << "," << j;
      }
      if (on(r, i, j)) {
        EXPECT_TRUE(near_blob && in_window) << i << "," << j;
      }
      pixels += on(r, i, j);
    }
  EXPECT_EQ(pixels, r.pixels);
}

// The window filled with the same texture shifted by 1 and 2 px (the stripes
// misaligned with the background's, as a plausible generated texture would
// be): no defect inside, though a per-pixel difference is large there. (The
// hard seam along the window's border is a visible change and may be marked:
// only pixels 2 px or more inside the border are checked.)
TEST(PipelineSynthesis, MisalignedTextureIsNotADefect) {
  const std::vector<float> b = texture(6), other = texture(7);
  std::vector<float> y = b;
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 8; i < 24; ++i)
      for (int64_t j = 8; j < 24; ++j)
        y[static_cast<size_t>((c * S + i) * S + j)] = other[static_cast<size_t>((c * S + i - 1) * S + j - 2)];
  double largest_difference = 0;
  for (size_t k = 0; k < y.size(); ++k)
    largest_difference = std::max<double>(largest_difference, std::abs(y[k] - b[k]));
  ASSERT_GT(largest_difference, 0.15);
  const models::PasteWindow window{.top = 8, .left = 8, .height = 16, .width = 16};
  const FusedRegion r = fused_region_mask(image(b), image(y), window);
  for (int64_t i = 10; i < 22; ++i)
    for (int64_t j = 10; j < 22; ++j) EXPECT_FALSE(on(r, i, j)) << i << "," << j;
}

// The same blob pasted across the window's border: the mask stops at the border.
TEST(PipelineSynthesis, NeverLeavesTheWindow) {
  const std::vector<float> b = texture(2);
  std::vector<float> y = b;
  paint(y, 4, 4, 12, 0.95f);
  const models::PasteWindow window{.top = 8, .left = 8, .height = 10, .width = 10};
  const FusedRegion r = fused_region_mask(image(b), image(y), window);
  EXPECT_GT(r.pixels, 0);
  for (int64_t i = 0; i < S; ++i)
    for (int64_t j = 0; j < S; ++j)
      if (on(r, i, j)) {
        EXPECT_TRUE(i >= 8 && i < 18 && j >= 8 && j < 18) << i << "," << j;
      }
  EXPECT_TRUE(on(r, 8, 8));
  EXPECT_TRUE(on(r, 15, 15));
}

// Unchanged: empty. A single changed pixel (a speck, under 4 px after the blur's
// spread and under 2% of the window): dropped, while a blob in the same window is kept.
TEST(PipelineSynthesis, DropsSpecksAndEmptyChanges) {
  const std::vector<float> b = texture(3);
  const models::PasteWindow window{.top = 2, .left = 2, .height = 28, .width = 28};
  EXPECT_EQ(fused_region_mask(image(b), image(b), window).pixels, 0);
  std::vector<float> y = b;
  paint(y, 5, 5, 1, 1.0f);    // a speck
  paint(y, 15, 15, 7, 1.0f);  // a blob
  const FusedRegion r = fused_region_mask(image(b), image(y), window);
  EXPECT_FALSE(on(r, 5, 5));
  EXPECT_TRUE(on(r, 18, 18));
}

// --mask box: the smallest rectangle holding the fused-region mask.
TEST(PipelineSynthesis, BoxIsTheEnclosingRectangleOfTheRegion) {
  const std::vector<float> b = texture(4);
  std::vector<float> y = b;
  paint(y, 10, 10, 4, 0.95f);
  paint(y, 13, 13, 4, 0.95f);  // an L-ish shape: its box is larger than the region
  const models::PasteWindow window{.top = 6, .left = 6, .height = 16, .width = 16};
  const FusedRegion region = fused_region_mask(image(b), image(y), window);
  FusedRegionOptions as_box;
  as_box.box = true;
  const FusedRegion box = fused_region_mask(image(b), image(y), window, as_box);
  int64_t top = S, left = S, bottom = -1, right = -1;
  for (int64_t i = 0; i < S; ++i)
    for (int64_t j = 0; j < S; ++j)
      if (on(region, i, j))
        top = std::min(top, i), left = std::min(left, j), bottom = std::max(bottom, i), right = std::max(right, j);
  ASSERT_GE(bottom, 0);
  for (int64_t i = 0; i < S; ++i)
    for (int64_t j = 0; j < S; ++j)
      EXPECT_EQ(on(box, i, j), i >= top && i <= bottom && j >= left && j <= right) << i << "," << j;
  EXPECT_GT(box.pixels, region.pixels);
}

TEST(PipelineSynthesis, RefusesAWindowOutsideTheImage) {
  const Tensor b = image(texture(5));
  EXPECT_THROW(fused_region_mask(b, b, {.top = 28, .left = 0, .height = 8, .width = 8}), Error);
}
