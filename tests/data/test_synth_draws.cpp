// test_synth_draws.cpp: the defect-synthesis contracts that need the random
// draws themselves. The documented draw order of a method is replayed here on
// a second Generator with the same seed (through the plain draw functions of
// data/random_draws.h and the separately tested perlin_noise), and the result
// must follow the documented formula: DRAEM's mask is the Perlin field with
// 2^k cells per axis (k drawn per axis), turned by the drawn angle and
// thresholded at 0.5; a Bezier scar stays inside its drawn band. Also: the
// hard paste's mask leaves out region pixels the fill does not change, the
// fuse blend fades in from the outline, and DRAEM's augmentation changes the
// texture.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <set>
#include <vector>

#include "data/random_draws.h"
#include "data/synth/bezier.h"
#include "data/synth/draem.h"
#include "data/synth/perlin.h"
#include "data/synth/synth.h"
#include "tests/data/synth_test_util.h"

namespace loom::data::synth {
namespace {

// draem_mask's first draw: res_y = 2^k, res_x = 2^k' (k, k' uniform integers
// in [0, 6)), angle U[-90, 90) degrees, the rotated Perlin field > 0.5.
TEST(DraemDraws, MaskIsTheDrawnPerlinFieldAboveHalf) {
  const int64_t h = 40, w = 56;
  std::set<int64_t> res_y_seen, res_x_seen;
  int64_t anisotropic = 0, compared = 0;
  for (uint64_t seed = 0; seed < 60; ++seed) {
    Generator gen(seed), replay(seed);
    const Region mask = draem_mask(h, w, gen);
    const int64_t res_y = int64_t{1} << draw_int(replay, 0, 6), res_x = int64_t{1} << draw_int(replay, 0, 6);
    const double angle = draw_uniform(replay, -90.0, 90.0) * std::numbers::pi / 180.0;
    const std::vector<float> noise = perlin_noise(h, w, res_y, res_x, replay, angle).to_vector<float>();
    Region expected(h, w);
    for (size_t k = 0; k < noise.size(); ++k) expected.inside[k] = noise[k] > 0.5f;
    if (expected.count() == 0) continue;  // the method redraws: a later draw, not replayed here
    ++compared;
    EXPECT_EQ(mask.inside, expected.inside) << "seed " << seed;
    res_y_seen.insert(res_y), res_x_seen.insert(res_x);
    anisotropic += res_y != res_x;
  }
  EXPECT_GT(compared, 30);
  EXPECT_GT(anisotropic, compared / 2);                  // the two axes are drawn separately
  EXPECT_GE(res_y_seen.size() + res_x_seen.size(), 9u);  // most of the 6 scales on each axis
}

TEST(DraemDraws, AugmentationChangesTheTexture) {
  const Tensor texture = noise_image(3, 24, 24, 5, 0, 1);
  int changed = 0;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    Generator gen(seed);
    changed += !same_bytes(draem_augment(texture, 3, gen), texture);
  }
  EXPECT_GE(changed, 9);  // three operations of ten; only a rare combination can be the identity
}

// bezier_scar_region draws L, B, t, the angle, then the centre: every pixel
// of the stroke lies in the band of width B across the angle's direction.
TEST(BezierDraws, ScarStaysInsideItsDrawnBand) {
  const int64_t side = 96;
  const BezierParams p;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    Generator gen(seed), replay(seed);
    const Region scar = bezier_scar_region(side, side, gen, p);
    draw_uniform(replay, p.length_min, p.length_max);  // L
    const double band = std::max(1.5, draw_uniform(replay, p.band_min, p.band_max) * side);
    draw_uniform(replay, p.thickness_min, p.thickness_max);  // t
    const double angle = draw_uniform(replay, 0.0, std::numbers::pi);
    // Across the band: the unit vector (cos a, -sin a) in (y, x).
    double lo = 1e9, hi = -1e9;
    for (int64_t i = 0; i < side; ++i)
      for (int64_t j = 0; j < side; ++j)
        if (scar.at(i, j)) {
          const double across = i * std::cos(angle) - j * std::sin(angle);
          lo = std::min(lo, across), hi = std::max(hi, across);
        }
    ASSERT_LE(lo, hi) << "seed " << seed << ": empty scar";
    EXPECT_LE(hi - lo, band + 1e-9) << "seed " << seed << ": the stroke leaves its band of " << band << " px";
  }
}

// paste_hard: region pixels where the fill equals the image are not in the mask.
TEST(Composite, HardPasteMasksOnlyThePixelsThatChange) {
  const Tensor image = noise_image(3, 8, 8, 9);
  Tensor fill = image.clone();
  float* f = fill.data<float>();
  f[2 * 8 + 3] = 0.0f;           // pixel (2, 3), channel 0
  f[2 * 64 + 5 * 8 + 6] = 1.0f;  // pixel (5, 6), channel 2
  Region region(8, 8);
  for (int64_t i = 1; i < 7; ++i)
    for (int64_t j = 1; j < 7; ++j) region.at(i, j) = 1;
  const SynthResult r = paste_hard(image, fill, region);
  std::vector<float> expected(64, 0.0f);
  expected[2 * 8 + 3] = expected[5 * 8 + 6] = 1.0f;
  EXPECT_EQ(r.mask.to_vector<float>(), expected);
  EXPECT_TRUE(same_bytes(r.image, fill));
}

// Fuse: with the same seed a paste and a fuse draw the same shape and fill, so
// the fuse's opacity a = (fused - I) / (F - I) can be read off: it is the
// blurred shape times one opacity U[0.5, 1), so it fades towards the outline
// and, in a clump large enough, comes near that opacity inside.
TEST(BezierDraws, FuseFadesInFromTheOutline) {
  double highest = 0;
  for (uint64_t seed = 0; seed < 6; ++seed) {
    const Tensor image = noise_image(1, 64, 64, 40 + seed);
    BezierParams params;
    params.fill = BezierFill::Noise;
    params.blend = BezierBlend::Paste;
    Generator g1(seed), g2(seed);
    const SynthResult pasted = bezier_defect(image, Tensor(), BezierShape::Clump, g1, params);
    params.blend = BezierBlend::Fuse;
    const SynthResult fused = bezier_defect(image, Tensor(), BezierShape::Clump, g2, params);
    const std::vector<float> im = image.to_vector<float>(), fill = pasted.image.to_vector<float>(),
                             out = fused.image.to_vector<float>(), mask = fused.mask.to_vector<float>();
    double lo = 2, hi = -1;
    for (size_t k = 0; k < im.size(); ++k) {
      if (!mask[k] || std::abs(fill[k] - im[k]) < 0.1f) continue;
      const double a = (out[k] - im[k]) / (fill[k] - im[k]);
      lo = std::min(lo, a), hi = std::max(hi, a);
    }
    ASSERT_LE(lo, hi) << "seed " << seed;
    EXPECT_GE(lo, -1e-5) << "seed " << seed;
    EXPECT_LT(hi, 1.0 + 1e-5) << "seed " << seed;  // opacity below 1 times a blurred 0/1 shape
    EXPECT_LT(lo, 0.6 * hi) << "seed " << seed;    // at the outline: faded
    highest = std::max(highest, hi);
  }
  EXPECT_GT(highest, 0.5 * 0.8);  // inside some clump: most of an opacity of at least 0.5
}

}  // namespace
}  // namespace loom::data::synth
