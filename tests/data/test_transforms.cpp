// test_transforms.cpp: data/transforms.h against index formulas and hand
// computations: flips and rotations, area and bilinear resizing, crops (and one
// geometric transform shared by an image and its mask), colour jitter, and the
// [-1, 1] range maps. Random transforms are checked for determinism per seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <utility>

#include "autograd/functions.h"
#include "data/image.h"
#include "data/transforms.h"
#include "tests/test_util.h"

namespace loom::data {
namespace {

using loom::testing::expect_bitwise_equal;
using loom::testing::expect_close;
using loom::testing::expect_error_containing;

// (N, C, H, W) float64 with distinct values: v = 1000 n + 100 c + 10 h + w (for H, W < 10).
Tensor indexed(int64_t n, int64_t c, int64_t h, int64_t w) {
  std::vector<double> v;
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < c; ++b)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) v.push_back(1000.0 * a + 100.0 * b + 10.0 * y + x);
  return Tensor::from_vector(v, {n, c, h, w});
}

// Pseudo-random values in [0, 1) from a fixed integer hash (not from the code under test).
Tensor hashed01(const Shape& shape, uint32_t salt) {
  std::vector<double> v(static_cast<size_t>(numel_of(shape)));
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t x = static_cast<uint32_t>(i) * 2654435761u + salt * 40503u;
    x ^= x >> 13;
    x *= 0x5bd1e995u;
    x ^= x >> 15;
    v[i] = (x % 10007) / 10007.0;
  }
  return Tensor::from_vector(v, shape);
}

// out (H', W') plane check: out[.., i, j] == in[.., src(i, j)].
template <class Src>
void expect_remap(const Tensor& in, const Tensor& out, int64_t oh, int64_t ow, Src src, const char* what) {
  ASSERT_EQ(out.size(-2), oh) << what;
  ASSERT_EQ(out.size(-1), ow) << what;
  for (int64_t n = 0; n < in.size(0); ++n)
    for (int64_t c = 0; c < in.size(1); ++c)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          const auto [si, sj] = src(i, j);
          ASSERT_EQ(out.at({n, c, i, j}), in.at({n, c, si, sj})) << what << " at " << i << "," << j;
        }
}

TEST(Transforms, FlipsFollowTheIndexFormulas) {
  const Tensor x = indexed(2, 3, 4, 5);
  const int64_t h = 4, w = 5;
  expect_remap(
      x, hflip(x), h, w,
      [&](int64_t i, int64_t j) {
        return std::pair{i, w - 1 - j};
      },
      "hflip");
  expect_remap(
      x, vflip(x), h, w,
      [&](int64_t i, int64_t j) {
        return std::pair{h - 1 - i, j};
      },
      "vflip");
  // (C, H, W) and uint8 give the same.
  const Tensor u = x.select(0, 1).to(DType::UInt8);
  expect_bitwise_equal(hflip(u), hflip(x).select(0, 1).to(DType::UInt8), "hflip uint8 (C, H, W)");
  expect_bitwise_equal(hflip(hflip(x)), x, "hflip twice");
  expect_bitwise_equal(vflip(vflip(x)), x, "vflip twice");
}

TEST(Transforms, Rot90FollowsTorchRot90) {
  const Tensor x = indexed(2, 2, 3, 5);
  const int64_t h = 3, w = 5;
  // torch.rot90(x, k, dims=(-2, -1)) index formulas (checked against PyTorch 1.13 by hand).
  expect_remap(
      x, rot90(x, 1), w, h,
      [&](int64_t i, int64_t j) {
        return std::pair{j, w - 1 - i};
      },
      "k=1");
  expect_remap(
      x, rot90(x, 2), h, w,
      [&](int64_t i, int64_t j) {
        return std::pair{h - 1 - i, w - 1 - j};
      },
      "k=2");
  expect_remap(
      x, rot90(x, 3), w, h,
      [&](int64_t i, int64_t j) {
        return std::pair{h - 1 - j, i};
      },
      "k=3");
  expect_bitwise_equal(rot90(x, -1), rot90(x, 3), "k=-1 is k=3");
  expect_bitwise_equal(rot90(x, 6), rot90(x, 2), "k=6 is k=2");
  expect_bitwise_equal(rot90(rot90(rot90(rot90(x, 1), 1), 1), 1), x, "four quarter turns");
  expect_bitwise_equal(rot90(x, 0), x, "k=0");
  // The small case printed by torch.rot90(torch.arange(6).reshape(2, 3), 1).
  const Tensor small = Tensor::arange(6, DType::Int64).reshape({1, 2, 3});
  EXPECT_EQ(rot90(small, 1).to_vector<int64_t>(), (std::vector<int64_t>{2, 5, 1, 4, 0, 3}));
}

TEST(Transforms, ResizeAreaIsTheBlockMeanForIntegerFactors) {
  const Tensor x = hashed01({2, 3, 8, 6}, 1);
  const Tensor y = resize_area(x, 4, 2);  // factors 2 (rows) and 3 (columns)
  ASSERT_EQ(y.shape(), (Shape{2, 3, 4, 2}));
  std::vector<double> want;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t j = 0; j < 2; ++j) {
          double s = 0;
          for (int64_t a = 0; a < 2; ++a)
            for (int64_t b = 0; b < 3; ++b) s += x.at({n, c, 2 * i + a, 3 * j + b});
          want.push_back(s / 6);
        }
  expect_close(y, want, 1e-15, 0, "area 2x3 blocks");

  // Factor 2 in float32: 0.5-weights are exact, so the result is the block mean rounded once.
  const Tensor xf = x.to(DType::Float32);
  const std::vector<double> yf = resize_area(xf, 4, 3).to_vector<double>();
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      const double s = xf.at({0, 0, 2 * i, 2 * j}) + xf.at({0, 0, 2 * i, 2 * j + 1}) + xf.at({0, 0, 2 * i + 1, 2 * j}) +
                       xf.at({0, 0, 2 * i + 1, 2 * j + 1});
      EXPECT_EQ(yf[i * 3 + j], static_cast<double>(static_cast<float>(s / 4))) << i << "," << j;
    }

  // uint8: block mean rounded half up.
  const Tensor u = Tensor::from_vector<uint8_t>({1, 2, 0, 0, 1, 2, 255, 254, 10, 11, 7, 7, 13, 14, 7, 8}, {1, 4, 4});
  EXPECT_EQ(resize_area(u, 2, 2).to_vector<double>(),
            (std::vector<double>{2, 127, 12, 7}));  // 6/4=1.5->2, 509/4=127.25, 48/4=12, 29/4=7.25
}

TEST(Transforms, ResizeAreaFractionalCoverage) {
  // 3 -> 2 along W: out0 = (in0 + in1 / 2) / 1.5, out1 = (in1 / 2 + in2) / 1.5.
  const Tensor x = Tensor::from_vector<double>({3, 6, 9, 1, 2, 4}, {1, 2, 3});
  expect_close(resize_area(x, 2, 2), {(3 + 3.0) / 1.5, (3 + 9.0) / 1.5, (1 + 1.0) / 1.5, (1 + 4.0) / 1.5}, 1e-14, 0,
               "3 -> 2");
  // Enlarging 2 -> 3: out1 straddles both inputs equally.
  expect_close(resize_area(Tensor::from_vector<double>({2, 8}, {1, 1, 2}), 1, 3), {2, 5, 8}, 1e-14, 0, "2 -> 3");
  // Mass is preserved for any sizes: mean(out) == mean(in).
  const Tensor big = hashed01({1, 1, 13, 11}, 7);
  const Tensor small = resize_area(big, 5, 7);
  const std::vector<double> bv = big.to_vector<double>(), sv = small.to_vector<double>();
  double bm = 0, sm = 0;
  for (double v : bv) bm += v / bv.size();
  for (double v : sv) sm += v / sv.size();
  EXPECT_NEAR(sm, bm, 1e-12);
}

// PyTorch's bilinear rule (align_corners=False), written out independently.
double bilinear_ref(const Tensor& plane, int64_t oh, int64_t ow, int64_t i, int64_t j) {
  const int64_t h = plane.size(0), w = plane.size(1);
  auto src = [](int64_t d, int64_t in, int64_t out) { return std::max((d + 0.5) * in / out - 0.5, 0.0); };
  const double sy = src(i, h, oh), sx = src(j, w, ow);
  const int64_t y0 = static_cast<int64_t>(sy), x0 = static_cast<int64_t>(sx);
  const int64_t y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
  const double ly = sy - y0, lx = sx - x0;
  return (1 - ly) * ((1 - lx) * plane.at({y0, x0}) + lx * plane.at({y0, x1})) +
         ly * ((1 - lx) * plane.at({y1, x0}) + lx * plane.at({y1, x1}));
}

TEST(Transforms, ResizeBilinearMatchesTheFormula) {
  const Tensor x = hashed01({3, 5, 7}, 3);
  for (auto [oh, ow] : {std::pair<int64_t, int64_t>{9, 4}, {5, 7}, {2, 13}}) {
    const Tensor y = resize_bilinear(x, oh, ow);
    ASSERT_EQ(y.shape(), (Shape{3, oh, ow}));
    std::vector<double> want;
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) want.push_back(bilinear_ref(x.select(0, c), oh, ow, i, j));
    expect_close(y, want, 1e-12, 0, "bilinear float64");
  }
  // uint8: the float result rounded to nearest.
  const Tensor u = to_uint8(x);
  const std::vector<double> got = resize_bilinear(u, 8, 3).to_vector<double>();
  const Tensor uf = u.to(DType::Float64);
  size_t k = 0;
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < 8; ++i)
      for (int64_t j = 0; j < 3; ++j) EXPECT_NEAR(got[k++], bilinear_ref(uf.select(0, c), 8, 3, i, j), 0.5 + 1e-4);
  // A batch resizes each image the same way.
  const Tensor batch = hashed01({2, 3, 5, 7}, 9);
  expect_bitwise_equal(resize_bilinear(batch, 6, 6).select(0, 1), resize_bilinear(batch.select(0, 1), 6, 6),
                       "batch vs single");
}

TEST(Transforms, RandomCropIsDeterministicAndInBounds) {
  const Tensor x = indexed(1, 2, 9, 8).select(0, 0);  // (2, 9, 8)
  std::set<int64_t> tops, lefts;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Generator g1(seed), g2(seed);
    const CropBox box = sample_crop_box(9, 8, 7, 5, g1);
    EXPECT_EQ(box, sample_crop_box(9, 8, 7, 5, g2)) << seed;
    EXPECT_EQ(g1.state(), g2.state());
    ASSERT_GE(box.top, 0);
    ASSERT_LE(box.top, 2);
    ASSERT_GE(box.left, 0);
    ASSERT_LE(box.left, 3);
    tops.insert(box.top);
    lefts.insert(box.left);
    if (seed < 10) {
      Generator g3(seed);
      const Tensor c = random_crop(x, 7, 5, g3);
      for (int64_t ch = 0; ch < 2; ++ch)
        for (int64_t i = 0; i < 7; ++i)
          for (int64_t j = 0; j < 5; ++j)
            ASSERT_EQ(c.at({ch, i, j}), 100.0 * ch + 10.0 * (box.top + i) + (box.left + j));
    }
  }
  EXPECT_EQ(tops.size(), 3u);  // every position reachable
  EXPECT_EQ(lefts.size(), 4u);
  const CropBox centre = center_crop_box(9, 8, 4, 4);
  EXPECT_EQ(centre, (CropBox{2, 2, 4, 4}));
  Generator g(0);
  expect_error_containing([&] { random_crop(x, 10, 5, g); }, "a 10x5 crop does not fit in a 9x8 image");
  expect_error_containing([&] { crop(x, CropBox{5, 0, 5, 2}); }, "is not inside the image");
}

TEST(Transforms, GeometricTransformKeepsImageAndMaskAligned) {
  const Tensor img = hashed01({3, 12, 10}, 11);
  // The mask is a function of the image, so after the same transform it must
  // still be that function of the transformed image.
  const Tensor mask = gt(img.select(0, 0).unsqueeze(0), Tensor::scalar(0.5, DType::Float64));  // uint8 (1, 12, 10)
  GeometricOptions opt;
  opt.crop_height = 8;
  opt.crop_width = 6;
  opt.hflip_probability = 0.5;
  opt.vflip_probability = 0.5;
  opt.random_rot90 = true;
  std::set<int64_t> ks;
  int hflips = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    Generator gen(seed);
    const GeometricTransform t = sample_geometric(12, 10, opt, gen);
    Generator again(seed);
    EXPECT_EQ(t, sample_geometric(12, 10, opt, again));
    ks.insert(t.rot90_k);
    hflips += t.hflip;
    const Tensor ti = apply_geometric(img, t), tm = apply_geometric(mask, t);
    EXPECT_EQ(tm.dtype(), DType::UInt8);
    expect_bitwise_equal(tm, gt(ti.select(0, 0).unsqueeze(0), Tensor::scalar(0.5, DType::Float64)), "mask aligned");
    // Undo by hand: rot90(-k), vflip, hflip, then compare with the crop.
    Tensor undo = rot90(ti, -t.rot90_k);
    if (t.vflip) undo = vflip(undo);
    if (t.hflip) undo = hflip(undo);
    expect_bitwise_equal(undo, crop(img, t.crop), "inverse");
  }
  EXPECT_EQ(ks.size(), 4u);
  EXPECT_GT(hflips, 5);
  EXPECT_LT(hflips, 35);
  // The number of draws does not depend on the options.
  Generator a(5), b(5);
  sample_geometric(12, 10, GeometricOptions{}, a);
  sample_geometric(12, 10, opt, b);
  EXPECT_EQ(a.state(), b.state());
}

// The five uniform draws are used as documented: top, left, hflip, vflip,
// rotation, each decision from its own draw (so hflip and vflip are
// independent, not one coin shown twice).
TEST(Transforms, GeometricDecisionsUseTheirOwnDraws) {
  GeometricOptions opt;
  opt.crop_height = 5;
  opt.crop_width = 4;
  opt.hflip_probability = 0.3;
  opt.vflip_probability = 0.6;
  opt.random_rot90 = true;
  std::set<std::pair<bool, bool>> flip_pairs;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    Generator gen(seed), replay(seed);
    const GeometricTransform t = sample_geometric(12, 10, opt, gen);
    const std::vector<double> u = uniform({5}, 0.0, 1.0, replay, DType::Float64).to_vector<double>();
    EXPECT_EQ(t.crop.top, static_cast<int64_t>(std::floor(u[0] * 8)));   // 12 - 5 + 1 positions
    EXPECT_EQ(t.crop.left, static_cast<int64_t>(std::floor(u[1] * 7)));  // 10 - 4 + 1 positions
    EXPECT_EQ(t.hflip, u[2] < 0.3);
    EXPECT_EQ(t.vflip, u[3] < 0.6);
    EXPECT_EQ(t.rot90_k, static_cast<int64_t>(std::floor(u[4] * 4)));
    flip_pairs.insert({t.hflip, t.vflip});
  }
  EXPECT_EQ(flip_pairs.size(), 4u);  // all four (hflip, vflip) combinations occur
}

// HSV -> RGB by the alternative formula f(n) = V - V S max(0, min(k, 4 - k, 1)),
// k = (n + 6 H) mod 6, (R, G, B) = (f(5), f(3), f(1)): independent of the
// six-sector code under test.
std::array<double, 3> hsv_to_rgb(double h, double s, double v) {
  auto f = [&](double n) {
    const double k = std::fmod(n + 6 * h, 6.0);
    return v - v * s * std::max(0.0, std::min({k, 4 - k, 1.0}));
  };
  return {f(5), f(3), f(1)};
}

TEST(Transforms, JitterFormulas) {
  const Tensor x = hashed01({3, 4, 5}, 21);
  const int64_t hw = 20;
  const std::vector<double> v = x.to_vector<double>();
  auto gray = [&](const std::vector<double>& p, int64_t i) {
    return 0.299 * p[i] + 0.587 * p[hw + i] + 0.114 * p[2 * hw + i];
  };
  auto c01 = [](double a) { return std::min(1.0, std::max(0.0, a)); };

  expect_bitwise_equal(apply_jitter(x, JitterParams{}), x, "identity parameters");

  std::vector<double> want(v.size());
  for (size_t i = 0; i < v.size(); ++i) want[i] = c01(1.7 * v[i]);
  expect_close(apply_jitter(x, {1.7, 1, 1, 0}), want, 1e-15, 0, "brightness");

  double mean = 0;
  for (int64_t i = 0; i < hw; ++i) mean += gray(v, i) / hw;
  for (size_t i = 0; i < v.size(); ++i) want[i] = c01(0.6 * v[i] + 0.4 * mean);
  expect_close(apply_jitter(x, {1, 0.6, 1, 0}), want, 1e-15, 0, "contrast");

  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < hw; ++i) want[c * hw + i] = c01(1.8 * v[c * hw + i] - 0.8 * gray(v, i));
  expect_close(apply_jitter(x, {1, 1, 1.8, 0}), want, 1e-15, 0, "saturation");

  // Hue: a pixel of known (H, S, V) moves to (H + shift, S, V).
  const std::vector<std::array<double, 3>> hsv = {{0.0, 1.0, 1.0}, {0.1, 0.5, 0.8},  {0.45, 0.3, 0.6},
                                                  {0.7, 0.9, 0.4}, {0.95, 0.2, 1.0}, {0.3, 0.0, 0.5}};
  for (double shift : {0.25, -0.4, 1.0 / 3}) {
    std::vector<double> px(3 * hsv.size()), ref(3 * hsv.size());
    const int64_t n = static_cast<int64_t>(hsv.size());
    for (int64_t i = 0; i < n; ++i) {
      const auto rgb = hsv_to_rgb(hsv[i][0], hsv[i][1], hsv[i][2]);
      double hs = hsv[i][0] + shift;
      hs -= std::floor(hs);
      const auto moved = hsv_to_rgb(hs, hsv[i][1], hsv[i][2]);
      for (int64_t c = 0; c < 3; ++c) {
        px[c * n + i] = rgb[c];
        ref[c * n + i] = moved[c];
      }
    }
    const Tensor img = Tensor::from_vector(px, {3, 1, n});
    expect_close(apply_jitter(img, {1, 1, 1, shift}), ref, 1e-12, 0, "hue");
  }

  // Gray images: brightness and contrast only.
  const Tensor g = hashed01({1, 3, 3}, 4);
  expect_bitwise_equal(apply_jitter(g, {1, 1, 0.2, 0.3}), g, "gray: saturation and hue do nothing");
  expect_error_containing([&] { apply_jitter(hashed01({4, 2, 2}, 1), {}); }, "expected 1 (gray) or 3 (RGB)");
}

TEST(Transforms, ColorJitterIsDeterministicPerSeed) {
  const Tensor batch = hashed01({3, 3, 6, 6}, 5).to(DType::Float32);
  const ColorJitterOptions opt{0.4, 0.4, 0.4, 0.1};
  Generator a(42), b(42), c(43);
  const Tensor ya = color_jitter(batch, opt, a), yb = color_jitter(batch, opt, b), yc = color_jitter(batch, opt, c);
  EXPECT_EQ(ya.dtype(), DType::Float32);
  expect_bitwise_equal(ya, yb, "same seed");
  EXPECT_NE(ya.to_vector<double>(), yc.to_vector<double>());
  // Per image: image i of the batch got the i-th draw.
  Generator d(42);
  for (int64_t i = 0; i < 3; ++i) {
    const JitterParams p = sample_jitter(opt, d);
    EXPECT_GE(p.brightness, 0.6);
    EXPECT_LE(p.brightness, 1.4);
    EXPECT_LE(std::abs(p.hue), 0.1);
    expect_bitwise_equal(ya.select(0, i), apply_jitter(batch.select(0, i), p), "per-image params");
  }
  EXPECT_EQ(a.state(), d.state());
  // uint8 in, uint8 out: the float result rounded.
  const Tensor u = to_uint8(batch.select(0, 0));
  Generator e(7), f(7);
  const Tensor yu = color_jitter(u, opt, e);
  EXPECT_EQ(yu.dtype(), DType::UInt8);
  expect_bitwise_equal(yu, to_uint8(color_jitter(to_float01(u, DType::Float64), opt, f)), "uint8 jitter");
  Generator z(0);
  expect_error_containing([&] { color_jitter(batch, ColorJitterOptions{0, 0, 0, 0.7}, z); }, "hue must be in [0, 0.5]");
}

TEST(Transforms, NormalizeRoundTrip) {
  const Tensor u = Tensor::from_vector<uint8_t>({0, 1, 127, 128, 254, 255}, {1, 2, 3});
  const Tensor pm1 = normalize_to_pm1(u);
  expect_close(pm1, {-1, 2.0 / 255 - 1, 254.0 / 255 - 1, 256.0 / 255 - 1, 508.0 / 255 - 1, 1}, 1e-7, 0, "u8 -> pm1");
  expect_bitwise_equal(to_uint8(denormalize_from_pm1(pm1)), u, "u8 round trip");
  const Tensor x = hashed01({2, 3, 4, 4}, 2).to(DType::Float32);
  expect_close(denormalize_from_pm1(normalize_to_pm1(x)), x.to_vector<double>(), 1e-7, 0, "float round trip");
  expect_close(denormalize_from_pm1(Tensor::from_vector<float>({-3, -1, 0, 1, 2}, {5})), {0, 0, 0.5, 1, 1}, 0, 0,
               "clamped");
  expect_error_containing([&] { denormalize_from_pm1(u); }, "expected a float image, got uint8");
}

TEST(Transforms, RefusesBadArguments) {
  const Tensor flat = Tensor::zeros({4, 4});
  expect_error_containing([&] { hflip(flat); }, "hflip: expected an image (C, H, W) or a batch (N, C, H, W)");
  expect_error_containing([&] { resize_area(Tensor::zeros({1, 4, 4}), 0, 2); }, "output size must be positive");
  expect_error_containing([&] { resize_bilinear(Tensor::zeros({1, 0, 4}), 2, 2); }, "has no pixels");
  expect_error_containing([&] { resize_bilinear(Tensor::zeros({1, 4, 4}, DType::Int64), 2, 2); }, "int64");
  GeometricOptions opt;
  opt.crop_height = 4;
  Generator g(0);
  expect_error_containing([&] { sample_geometric(8, 8, opt, g); }, "both 0 (no crop) or both positive");
}

}  // namespace
}  // namespace loom::data
