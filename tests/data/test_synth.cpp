// test_synth.cpp: defect synthesis (data/synth). For every method: the mask
// against the pixels that actually changed (exact for hard pastes, a superset
// for soft blends with the outside bit-identical), non-empty masks, the same
// bytes for the same seed and different bytes for different seeds; then the
// parameter ranges of each method, Perlin noise properties, Poisson blending
// against the discrete Poisson equation, the elastic and warp identities, the
// shape rasterisers, the colour operations and the folder texture source.
// Expected values come from the definitions (hand formulas, a float64 Perlin
// written here from the formula), never from the code under test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <vector>

#include "data/image.h"
#include "data/synth/bezier.h"
#include "data/synth/color.h"
#include "data/synth/cutpaste.h"
#include "data/synth/draem.h"
#include "data/synth/elastic.h"
#include "data/synth/gradient.h"
#include "data/synth/perlin.h"
#include "data/synth/poisson.h"
#include "data/synth/shapes.h"
#include "data/synth/sources.h"
#include "data/synth/synth.h"
#include "data/synth/warp.h"
#include "tensor/random.h"
#include "tests/data/synth_test_util.h"
#include "tests/test_util.h"

namespace loom::data::synth {
namespace {

namespace fs = std::filesystem;

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

TEST(Perlin, RotationTurnsTheField) {
  // 1 x 16 cells: fine along x, coarse along y. A quarter turn swaps them.
  double plain_y = 0, plain_x = 0, turned_y = 0, turned_x = 0;
  for (uint64_t seed = 0; seed < 6; ++seed) {
    Generator g1(seed), g2(seed);
    const auto [py, px] = mean_steps(perlin_noise(96, 96, 1, 16, g1));
    const auto [ty, tx] = mean_steps(perlin_noise(96, 96, 1, 16, g2, std::numbers::pi / 2));
    plain_y += py, plain_x += px, turned_y += ty, turned_x += tx;
  }
  EXPECT_GT(plain_x, 4 * plain_y);
  EXPECT_GT(turned_y, 4 * turned_x);
}

// ---- shapes ----------------------------------------------------------------------

TEST(Shapes, PolygonEllipseAndStrokeCoverTheRightPixels) {
  // A square with corners (2.5, 3.5) and (9.5, 10.5) holds pixel centres 3..9 x 4..10.
  const Region square = fill_polygon(16, 16, {{2.5, 3.5}, {2.5, 10.5}, {9.5, 10.5}, {9.5, 3.5}});
  for (int64_t i = 0; i < 16; ++i)
    for (int64_t j = 0; j < 16; ++j) EXPECT_EQ(square.at(i, j), i >= 3 && i <= 9 && j >= 4 && j <= 10) << i << "," << j;
  // An ellipse holds about pi a b pixels.
  const Region ellipse = fill_ellipse(64, 64, {32, 30, 20, 9, 0.6});
  EXPECT_NEAR(static_cast<double>(ellipse.count()), std::numbers::pi * 20 * 9, 0.03 * std::numbers::pi * 20 * 9);
  // A horizontal stroke of thickness 3 from x = 2 to 12 on row 5: rows 4..6, round caps 1.5 px.
  const Region stroke = stroke_polyline(12, 16, {{5, 2}, {5, 12}}, 3.0);
  for (int64_t i = 0; i < 12; ++i)
    for (int64_t j = 0; j < 16; ++j) {
      const double dx = j < 2 ? 2.0 - j : (j > 12 ? j - 12.0 : 0.0), dy = i - 5.0;
      EXPECT_EQ(stroke.at(i, j), dx * dx + dy * dy <= 2.25) << i << "," << j;
    }
}

// ---- texture sources ----------------------------------------------------------------

TEST(Sources, FolderSourcePicksItsImagesAndNamesBadFolders) {
  const fs::path dir = fs::temp_directory_path() / ("loom_test_synth_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "empty");
  loom::testing::expect_error_containing([&] { folder_texture_source((dir / "missing").string()); }, "does not exist");
  loom::testing::expect_error_containing([&] { folder_texture_source((dir / "empty").string()); }, "holds no images");
  const Tensor a = noise_image(3, 8, 8, 1, 0, 1), b = noise_image(1, 10, 6, 2, 0, 1);
  save_png((dir / "a.png").string(), a);
  save_png((dir / "deeper" / "b.png").string(), b);  // found at any depth, gray read as RGB
  const TextureSource source = folder_texture_source(dir.string());
  int seen_a = 0, seen_b = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Generator g1(seed), g2(seed);
    const Tensor t = source(32, 32, g1);
    EXPECT_TRUE(same_bytes(t, source(32, 32, g2)));
    ASSERT_EQ(t.size(0), 3);
    seen_a += t.size(1) == 8, seen_b += t.size(1) == 10;
  }
  EXPECT_GT(seen_a, 0);
  EXPECT_GT(seen_b, 0);
  fs::remove_all(dir);
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
  expect_seed_determinism(
      image, [](const Tensor& im, Generator& g) { return cutpaste(im, g); }, "cutpaste");
  expect_seed_determinism(
      image, [](const Tensor& im, Generator& g) { return cutpaste_scar(im, g); }, "scar");
}

TEST(CutPaste, PatchAreaAndAspectStayInRange) {
  const int64_t h = 64, w = 64;
  const Tensor image = noise_image(3, h, w, 2);
  double smallest = 1, largest = 0, narrowest = 10, widest = 0;
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
    narrowest = std::min(narrowest, aspect), widest = std::max(widest, aspect);
  }
  EXPECT_LT(smallest, 0.03);  // the whole range is used
  EXPECT_GT(largest, 0.13);
  // log-uniform in [0.3, 3.3]: P(aspect < 0.4) = ln(4/3) / ln 11 = 12% and
  // P(aspect > 2.5) = ln(3.3/2.5) / ln 11 = 12% per draw, so 300 draws reach both.
  EXPECT_LT(narrowest, 0.4);
  EXPECT_GT(widest, 2.5);
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

// ---- every method through the registry --------------------------------------

// A random texture of another size than the image, drawn from the generator.
SynthSources test_sources() {
  auto texture = [](int64_t h, int64_t w, Generator& gen) { return uniform({3, h / 2 + 3, w / 2 + 5}, 0.0, 1.0, gen); };
  return {texture, texture};
}

bool is_hard_paste(const std::string& name) {
  for (const SynthMethodInfo& m : synth_methods())
    if (m.name == name) return m.exact_mask;
  return false;
}

class EveryMethod : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryMethod, MaskCoversExactlyOrAtLeastTheChangedPixels) {
  const std::string name = GetParam();
  const SynthMethod method = make_synth_method(name, test_sources());
  for (int64_t c : {1, 3})
    for (uint64_t seed = 0; seed < 6; ++seed) {
      const Tensor image = noise_image(c, 40, 56, 200 + seed);
      const std::vector<float> before = image.to_vector<float>();
      Generator gen(seed);
      const SynthResult r = method(image, gen);
      EXPECT_EQ(image.to_vector<float>(), before) << name << ": the input was modified";
      if (is_hard_paste(name))
        expect_exact_mask(image, r, name.c_str());
      else
        expect_superset_mask(image, r, name.c_str());
    }
}

TEST_P(EveryMethod, SameSeedSameBytesDifferentSeedsDiffer) {
  const std::string name = GetParam();
  const SynthMethod method = make_synth_method(name, test_sources());
  expect_seed_determinism(noise_image(3, 48, 48, 9), method, name.c_str());
}

std::vector<std::string> method_names() {
  std::vector<std::string> names;
  for (const SynthMethodInfo& m : synth_methods()) names.push_back(m.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Synth, EveryMethod, ::testing::ValuesIn(method_names()), [](const auto& info) {
  std::string n = info.param;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
});

TEST(Registry, NamesTheMethodsAndItsErrors) {
  EXPECT_EQ(method_names(), (std::vector<std::string>{"cutpaste", "cutpaste-scar", "draem", "bezier-scar",
                                                      "bezier-clump", "elastic", "gradient", "poisson"}));
  for (const SynthMethodInfo& m : synth_methods())  // the hard pastes
    EXPECT_EQ(m.exact_mask, m.name == "cutpaste" || m.name == "cutpaste-scar" || m.name == "elastic") << m.name;
  loom::testing::expect_error_containing([] { make_synth_method("cut-paste", {}); }, "unknown method 'cut-paste'");
  loom::testing::expect_error_containing([] { make_synth_method("draem", {}); }, "needs a texture source");
  const SynthMethod cp = make_synth_method("cutpaste", {});
  Generator gen(0);
  loom::testing::expect_error_containing([&] { cp(Tensor::zeros({4, 32, 32}), gen); }, "1 (gray) or 3 (RGB)");
  loom::testing::expect_error_containing([&] { cp(Tensor::zeros({3, 32}), gen); }, "(C, H, W)");
  // A flat image: a jittered copy of itself may still differ (contrast keeps
  // the mean), but a black one cannot change under brightness/contrast/saturation.
  loom::testing::expect_error_containing([&] { cp(Tensor::zeros({1, 32, 32}), gen); }, "changed no pixel");
}

// ---- DRAEM --------------------------------------------------------------------

TEST(Draem, BlendIsBetaImagePlusOneMinusBetaTexture) {
  // Without augmentations, a texture of the image's size is used as it is, so
  // inside the mask out = beta I + (1 - beta) A with one beta in [0, 0.8).
  DraemParams params;
  params.augmentations = 0;
  double beta_lo = 1, beta_hi = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const Tensor image = noise_image(3, 32, 32, 300 + seed), texture = noise_image(3, 32, 32, 400 + seed, 0, 1);
    Generator gen(seed);
    const SynthResult r = draem(image, texture, gen, params);
    const std::vector<uint8_t> mask = mask_bits(r, image);
    ASSERT_GT(count(mask), 0);
    const std::vector<float> i0 = image.to_vector<float>(), a = texture.to_vector<float>(),
                             out = r.image.to_vector<float>();
    // Least squares for beta over the masked values: out - A = beta (I - A).
    double num = 0, den = 0;
    for (size_t k = 0; k < out.size(); ++k)
      if (mask[k % mask.size()]) num += (out[k] - a[k]) * (i0[k] - a[k]), den += (i0[k] - a[k]) * (i0[k] - a[k]);
    const double beta = num / den;
    EXPECT_GE(beta, -1e-6);
    EXPECT_LT(beta, 0.8 + 1e-6);
    beta_lo = std::min(beta_lo, beta), beta_hi = std::max(beta_hi, beta);
    for (size_t k = 0; k < out.size(); ++k) {
      const double expected = mask[k % mask.size()] ? beta * i0[k] + (1 - beta) * a[k] : i0[k];
      ASSERT_NEAR(out[k], expected, 2e-6) << "seed " << seed << " element " << k;
    }
  }
  EXPECT_LT(beta_lo, 0.1);
  EXPECT_GT(beta_hi, 0.7);
}

TEST(Draem, MaskIsThresholdedNoiseOfVaryingScale) {
  // Coarse scales (1 cell) give few large blobs, fine ones many small: the
  // boundary length per masked pixel grows with the scale.
  auto boundary_ratio = [](const Region& m) {
    double inside = 0, boundary = 0;
    for (int64_t i = 0; i + 1 < m.height; ++i)
      for (int64_t j = 0; j + 1 < m.width; ++j) {
        inside += m.at(i, j);
        boundary += (m.at(i, j) != m.at(i + 1, j)) + (m.at(i, j) != m.at(i, j + 1));
      }
    return boundary / std::max(inside, 1.0);
  };
  DraemParams coarse, fine;
  coarse.min_scale_log2 = 0, coarse.max_scale_log2 = 1;
  fine.min_scale_log2 = 5, fine.max_scale_log2 = 6;
  double r_coarse = 0, r_fine = 0;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    Generator g1(seed), g2(seed);
    const Region a = draem_mask(128, 128, g1, coarse), b = draem_mask(128, 128, g2, fine);
    EXPECT_GT(a.count(), 0);
    EXPECT_GT(b.count(), 0);
    r_coarse += boundary_ratio(a), r_fine += boundary_ratio(b);
  }
  EXPECT_GT(r_fine, 4 * r_coarse);
}

TEST(Draem, AugmentationIsDeterministicAndZeroCountIsIdentity) {
  const Tensor texture = noise_image(3, 24, 24, 5, 0, 1);
  Generator g0(1);
  EXPECT_TRUE(same_bytes(draem_augment(texture, 0, g0), texture));
  Generator a(2), b(2);
  EXPECT_TRUE(same_bytes(draem_augment(texture, 3, a), draem_augment(texture, 3, b)));
  loom::testing::expect_error_containing([&] { draem_augment(texture, 11, a); }, "count 11");
}

// ---- colour ---------------------------------------------------------------------

TEST(Color, OperationsFollowTheirFormulas) {
  const Tensor image = noise_image(3, 6, 7, 8);
  const std::vector<float> v = image.to_vector<float>();
  const int64_t plane = 42;
  std::vector<double> shifted, inverted, gamma, solarized;
  for (float x : v) {
    shifted.push_back(std::clamp(1.2 * x + 0.05, 0.0, 1.0));
    inverted.push_back(1.0 - x);
    gamma.push_back(std::pow(x, 1.7));
    solarized.push_back(x >= 0.5 ? 1.0 - x : x);
  }
  using loom::testing::expect_close;
  expect_close(scale_and_shift(image, 1.2, 0.05), shifted, 1e-6, 0, "scale_and_shift");
  expect_close(invert(image), inverted, 1e-6, 0, "invert");
  expect_close(adjust_gamma(image, 1.7), gamma, 1e-6, 0, "gamma");
  expect_close(solarize(image, 0.5), solarized, 1e-6, 0, "solarize");
  // One bit keeps only the top bit of the 8-bit value: 0 or 128/255.
  for (float x : posterize(image, 1).to_vector<float>()) EXPECT_TRUE(x == 0.0f || x == 128.0f / 255.0f) << x;
  // Autocontrast stretches each channel to span [0, 1].
  const std::vector<float> ac = autocontrast(image).to_vector<float>();
  for (int64_t c = 0; c < 3; ++c) {
    EXPECT_EQ(*std::min_element(ac.begin() + c * plane, ac.begin() + (c + 1) * plane), 0.0f);
    EXPECT_NEAR(*std::max_element(ac.begin() + c * plane, ac.begin() + (c + 1) * plane), 1.0f, 1e-6);
  }
  // Sharpness: factor 1 is the identity; factor 0 is the 3x3 smoothing inside, the border as it was.
  EXPECT_TRUE(same_bytes(adjust_sharpness(image, 1.0), image));
  const std::vector<float> smooth = adjust_sharpness(image, 0.0).to_vector<float>();
  const int64_t w = 7;
  for (int64_t i = 1; i < 5; ++i)
    for (int64_t j = 1; j < 6; ++j) {
      double s = 4 * v[i * w + j];
      for (int64_t di = -1; di <= 1; ++di)
        for (int64_t dj = -1; dj <= 1; ++dj) s += v[(i + di) * w + j + dj];
      EXPECT_NEAR(smooth[i * w + j], s / 13, 1e-6);
    }
  EXPECT_EQ(smooth[0], v[0]);
}

TEST(Color, EqualizeSpreadsFourEqualLevels) {
  // Four levels, 255 pixels each: PIL's step = (1020 - 255) / 255 = 3, and
  // level k maps to (255 k + 1) / 3 -> 0, 85, 170, 255.
  std::vector<float> v;
  for (int level = 0; level < 4; ++level)
    for (int k = 0; k < 255; ++k) v.push_back(static_cast<float>(10 + 20 * level) / 255.0f);
  const Tensor image = Tensor::from_vector(v, {1, 30, 34});
  const std::vector<float> out = equalize(image).to_vector<float>();
  for (int level = 0; level < 4; ++level)
    EXPECT_NEAR(out[static_cast<size_t>(level * 255)], 85.0f * level / 255.0f, 1e-6);
}

// ---- Poisson blending -------------------------------------------------------------

// A disc region, optionally touching the image border.
Region disc(int64_t h, int64_t w, double cy, double cx, double r) {
  Region region(h, w);
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j) region.at(i, j) = (i - cy) * (i - cy) + (j - cx) * (j - cx) <= r * r;
  return region;
}

// sum over the in-image 4-neighbours q of (x_p - x_q), in float64.
double discrete_laplacian(const std::vector<float>& x, int64_t h, int64_t w, int64_t plane_offset, int64_t i,
                          int64_t j) {
  double s = 0;
  for (auto [di, dj] : {std::pair{-1, 0}, std::pair{1, 0}, std::pair{0, -1}, std::pair{0, 1}}) {
    const int64_t ni = i + di, nj = j + dj;
    if (ni < 0 || nj < 0 || ni >= h || nj >= w) continue;
    s += static_cast<double>(x[plane_offset + i * w + j]) - x[plane_offset + ni * w + nj];
  }
  return s;
}

TEST(Poisson, KeepsTheSourceLaplacianInsideAndTheBackgroundOutside) {
  const int64_t c = 3, h = 40, w = 44;
  const Tensor background = noise_image(c, h, w, 21), source = noise_image(c, h, w, 22, 0, 1);
  for (const Region& region : {disc(h, w, 20, 22, 11), disc(h, w, 3, 40, 9)}) {  // inner, touching two edges
    PoissonReport report;
    const Tensor out = poisson_blend(background, source, region, {}, &report);
    EXPECT_GT(report.iterations, 0);
    EXPECT_LE(report.relative_residual, 1e-7);
    const std::vector<float> f = out.to_vector<float>(), g = source.to_vector<float>(),
                             bg = background.to_vector<float>();
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < w; ++j) {
          const size_t k = static_cast<size_t>((ch * h + i) * w + j);
          if (!region.at(i, j)) {
            ASSERT_EQ(f[k], bg[k]) << "outside the region (boundary included) at " << i << "," << j;
            continue;
          }
          const double lf = discrete_laplacian(f, h, w, ch * h * w, i, j);
          const double lg = discrete_laplacian(g, h, w, ch * h * w, i, j);
          ASSERT_NEAR(lf, lg, 1e-4) << "channel " << ch << " at " << i << "," << j;
        }
  }
}

TEST(Poisson, ReproducesAConstantOffsetPatchShifted) {
  // Background = source + k on and around the border of the region: the
  // solution inside is source + k (up to the solver tolerance).
  const int64_t h = 36, w = 36;
  const Tensor source = noise_image(1, h, w, 31, 0, 1);
  const std::vector<float> g = source.to_vector<float>();
  std::vector<float> bg(g.size());
  for (size_t k = 0; k < g.size(); ++k) bg[k] = g[k] + 0.25f;
  const Region region = disc(h, w, 17, 18, 12);
  for (int64_t i = 0; i < h; ++i)  // junk inside the region must not matter
    for (int64_t j = 0; j < w; ++j)
      if (region.at(i, j)) bg[static_cast<size_t>(i * w + j)] = 0.5f;
  const std::vector<float> f = poisson_blend(Tensor::from_vector(bg, {1, h, w}), source, region).to_vector<float>();
  for (int64_t k = 0; k < h * w; ++k)
    if (region.inside[static_cast<size_t>(k)]) {
      ASSERT_NEAR(f[k], g[k] + 0.25, 1e-5) << "pixel " << k;
    }
}

TEST(Poisson, RejectsRegionsWithoutABoundaryAndReportsNonConvergence) {
  const Tensor a = noise_image(1, 16, 16, 1), b = noise_image(1, 16, 16, 2);
  Region all(16, 16);
  std::fill(all.inside.begin(), all.inside.end(), 1);
  loom::testing::expect_error_containing([&] { poisson_blend(a, b, all); }, "whole image");
  loom::testing::expect_error_containing([&] { poisson_blend(a, b, Region(16, 16)); }, "empty");
  PoissonOptions one_step;
  one_step.max_iterations = 1;
  loom::testing::expect_error_containing([&] { poisson_blend(a, b, disc(16, 16, 8, 8, 6), one_step); },
                                         "raise max_iterations");
}

// ---- elastic and warps ---------------------------------------------------------------

TEST(Elastic, ZeroDisplacementIsTheIdentity) {
  const Tensor image = noise_image(3, 20, 30, 41);
  Generator gen(0);
  const Tensor zero = elastic_displacement(20, 30, 0.0, 4.0, gen);
  for (float d : zero.to_vector<float>()) ASSERT_EQ(d, 0.0f);
  EXPECT_TRUE(same_bytes(warp_image(image, zero), image));
  const Region blob = disc(20, 30, 10, 12, 6);
  EXPECT_EQ(elastic_region(blob, zero).inside, blob.inside);
}

TEST(Elastic, ShiftAndRotationFieldsMoveTheImage) {
  const int64_t h = 21, w = 21;
  const Tensor image = noise_image(1, h, w, 42);
  const std::vector<float> v = image.to_vector<float>();
  // A constant field (dy, dx) = (1, 2): out(i, j) = image(i + 1, j + 2) away from the far edges.
  Tensor shift = Tensor::empty({2, h, w});
  shift.narrow(0, 0, 1).fill_(1.0);
  shift.narrow(0, 1, 1).fill_(2.0);
  const std::vector<float> shifted = warp_image(image, shift).to_vector<float>();
  for (int64_t i = 0; i + 1 < h; ++i)
    for (int64_t j = 0; j + 2 < w; ++j) ASSERT_EQ(shifted[i * w + j], v[(i + 1) * w + j + 2]);
  // A quarter turn about the centre (10, 10) samples image(10 + (j - 10), 10 - (i - 10)).
  const std::vector<float> turned =
      warp_image(image, rotation_displacement(h, w, std::numbers::pi / 2)).to_vector<float>();
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j) ASSERT_NEAR(turned[i * w + j], v[j * w + (20 - i)], 1e-5);
}

TEST(Elastic, FieldRmsFollowsAlphaAndSigma) {
  for (double sigma : {2.0, 4.0}) {
    Generator gen(3);
    const std::vector<float> d =
        elastic_displacement(128, 128, elastic_alpha_for_rms(2.0, sigma), sigma, gen).to_vector<float>();
    double ss = 0;
    for (float x : d) ss += static_cast<double>(x) * x;
    const double rms = std::sqrt(ss / static_cast<double>(d.size()));
    EXPECT_GT(rms, 2.0 * 0.7) << "sigma " << sigma;
    EXPECT_LT(rms, 2.0 * 1.3) << "sigma " << sigma;
  }
}

// ---- gradient stain -----------------------------------------------------------------------

TEST(Gradient, FlatImageFadesTowardsOneGrayLevel) {
  // On a flat image I = v, out = (1 - a) v + a g: every changed pixel moves the
  // same way, by at most |g - v| <= delta_max, and the opacity varies.
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const Tensor image = Tensor::full({3, 48, 48}, 0.5);
    Generator gen(seed);
    const SynthResult r = gradient_stain(image, gen);
    expect_superset_mask(image, r, "gradient");
    const std::vector<float> out = r.image.to_vector<float>();
    int up = 0, down = 0;
    double largest = 0;
    std::vector<float> levels;
    for (size_t k = 0; k < 48 * 48; ++k) {
      ASSERT_EQ(out[k], out[k + 48 * 48]);  // gray stays gray
      ASSERT_EQ(out[k], out[k + 2 * 48 * 48]);
      const double d = out[k] - 0.5;
      up += d > 0, down += d < 0;
      largest = std::max(largest, std::abs(d));
      if (d != 0) levels.push_back(out[k]);
    }
    EXPECT_TRUE(up == 0 || down == 0) << "seed " << seed;
    EXPECT_LE(largest, 0.45 + 1e-6);
    EXPECT_GE(largest, 0.6 * 0.15 * 0.5) << "seed " << seed;  // peak >= 0.6, delta >= 0.15, profile reaches >= 1/2
    std::sort(levels.begin(), levels.end());
    EXPECT_GT(std::unique(levels.begin(), levels.end()) - levels.begin(), 5) << "seed " << seed << ": no fade";
  }
}

// ---- Bezier shapes ---------------------------------------------------------------------------

TEST(Bezier, PasteIsExactFuseIsASuperset) {
  for (BezierShape shape : {BezierShape::Scar, BezierShape::Clump})
    for (BezierFill fill : {BezierFill::Noise, BezierFill::CutPaste})
      for (uint64_t seed = 0; seed < 5; ++seed) {
        const Tensor image = noise_image(3, 48, 48, 500 + seed);
        BezierParams params;
        params.fill = fill;
        params.blend = BezierBlend::Paste;
        Generator g1(seed), g2(seed);
        expect_exact_mask(image, bezier_defect(image, Tensor(), shape, g1, params), "bezier paste");
        params.blend = BezierBlend::Fuse;
        expect_superset_mask(image, bezier_defect(image, Tensor(), shape, g2, params), "bezier fuse");
      }
}

// The narrowest and widest extents of a region over directions 0..179 degrees.
std::pair<double, double> extents(const Region& r) {
  double narrowest = 1e9, widest = 0;
  for (int deg = 0; deg < 180; ++deg) {
    const double a = deg * std::numbers::pi / 180, cy = std::sin(a), cx = std::cos(a);
    double lo = 1e9, hi = -1e9;
    for (int64_t i = 0; i < r.height; ++i)
      for (int64_t j = 0; j < r.width; ++j)
        if (r.at(i, j)) lo = std::min(lo, cy * i + cx * j), hi = std::max(hi, cy * i + cx * j);
    narrowest = std::min(narrowest, hi - lo), widest = std::max(widest, hi - lo);
  }
  return {narrowest, widest};
}

TEST(Bezier, ShapesStayInsideTheirBands) {
  const int64_t side = 96;
  const BezierParams p;
  for (uint64_t seed = 0; seed < 25; ++seed) {
    Generator g1(seed), g2(seed);
    const Region scar = bezier_scar_region(side, side, g1, p), clump = bezier_clump_region(side, side, g2, p);
    ASSERT_GT(scar.count(), 0);
    ASSERT_GT(clump.count(), 0);
    const auto [scar_narrow, scar_wide] = extents(scar);
    EXPECT_LE(scar_narrow, p.band_max * side + 1.5) << "seed " << seed;  // pixel centres inside the band
    EXPECT_LE(scar_wide, (p.length_max + p.thickness_max) * side + 1.5) << "seed " << seed;
    EXPECT_LE(extents(clump).second, 2 * p.radius_max * side + 1.5) << "seed " << seed;
  }
}

}  // namespace
}  // namespace loom::data::synth
