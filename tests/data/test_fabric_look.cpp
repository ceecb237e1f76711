// test_fabric_look.cpp: the knobs of the procedural fabric (data/fabric/render.h)
// do what their parameters say, measured against formulas written here: the
// per-thread thickness, tension (sideways offset) and colour jitter, colour
// stripes, the illumination gradient (a tilted plane with a vignette, or a
// whole-period cosine when tileable) and the Gaussian sensor noise; and each
// defect class changes the look in its documented direction (an oil stain
// darkens, a white stripe lightens, a hole shows the dark backing).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <vector>

#include "data/fabric/defects.h"
#include "data/fabric/presets.h"
#include "data/fabric/render.h"
#include "tests/test_util.h"

namespace fab = loom::data::fabric;
using loom::Generator;
using loom::Tensor;

namespace {

struct Stats {
  double mean = 0, std = 0;
};
Stats stats_of(const std::vector<double>& v) {
  Stats s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.std += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(s.std / static_cast<double>(v.size()));
  return s;
}

// Least squares: the coefficients c minimising sum_k (sum_j c_j basis[k][j] - y_k)^2,
// by the normal equations and Gaussian elimination with partial pivoting.
std::vector<double> least_squares(const std::vector<std::vector<double>>& basis, const std::vector<double>& y) {
  const size_t n = basis[0].size();
  std::vector<std::vector<double>> a(n, std::vector<double>(n + 1, 0.0));  // [A^T A | A^T y]
  for (size_t k = 0; k < y.size(); ++k)
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) a[i][j] += basis[k][i] * basis[k][j];
      a[i][n] += basis[k][i] * y[k];
    }
  for (size_t col = 0; col < n; ++col) {
    size_t pivot = col;
    for (size_t r = col + 1; r < n; ++r)
      if (std::abs(a[r][col]) > std::abs(a[pivot][col])) pivot = r;
    std::swap(a[col], a[pivot]);
    for (size_t r = 0; r < n; ++r) {
      if (r == col) continue;
      const double f = a[r][col] / a[col][col];
      for (size_t j = col; j <= n; ++j) a[r][j] -= f * a[col][j];
    }
  }
  std::vector<double> c(n);
  for (size_t i = 0; i < n; ++i) c[i] = a[i][n] / a[i][i];
  return c;
}

// A plain gray fabric with every irregularity off except those a test turns on.
fab::FabricParams quiet_params() {
  fab::FabricParams p;
  for (fab::YarnParams* y : {&p.warp, &p.weft}) {
    y->thickness_jitter = y->tension_jitter = y->color_jitter = y->slub = 0.0;
    y->colors = {{0.6f, 0.5f, 0.4f}};
  }
  p.hairiness = p.meander_px = p.illumination = p.sensor_noise = 0.0;
  return p;
}

}  // namespace

// Thread i has radius 0.5 width spacing (1 + t_i), offset o_i spacing and
// colour base k_i, with t_i, o_i, k_i - 1 normal with the jitter parameters as
// standard deviations (clamped to +-0.3 spacing, +-0.3 and [0.5, 1.5]); off,
// every thread is the same.
TEST(FabricLook, ThreadJitterFollowsItsParameters) {
  for (bool on : {false, true}) {
    fab::FabricParams p = quiet_params();
    for (fab::YarnParams* y : {&p.warp, &p.weft}) {
      y->thickness_jitter = on ? 0.08 : 0.0;
      y->tension_jitter = on ? 0.05 : 0.0;
      y->color_jitter = on ? 0.04 : 0.0;
    }
    Generator gen(11);
    const fab::Fabric fabric(p, 600, 600, gen);  // about 100 threads per axis
    for (fab::Axis axis : {fab::Axis::Warp, fab::Axis::Weft}) {
      const fab::ThreadAxis& t = fabric.threads(axis);
      const double nominal = 0.5 * p.warp.width * t.spacing;
      std::vector<double> thickness, offset, brightness;
      for (int64_t i = 0; i < t.count; ++i) {
        thickness.push_back(t.radius[static_cast<size_t>(i)] / nominal - 1.0);
        offset.push_back(t.offset[static_cast<size_t>(i)] / t.spacing);
        const fab::Rgb c = t.color[static_cast<size_t>(i)];
        brightness.push_back(c.r / 0.6f - 1.0);
        // One brightness factor for all three channels: the yarn's hue is kept.
        EXPECT_NEAR(c.g / 0.5f, c.r / 0.6f, 1e-5);
        EXPECT_NEAR(c.b / 0.4f, c.r / 0.6f, 1e-5);
      }
      const Stats th = stats_of(thickness), of = stats_of(offset), br = stats_of(brightness);
      if (!on) {
        EXPECT_EQ(th.std, 0.0);
        EXPECT_EQ(of.std, 0.0);
        EXPECT_EQ(br.std, 0.0);
        EXPECT_EQ(th.mean, 0.0);
        continue;
      }
      // About 100 draws each: the sample std is within about 15% of the parameter.
      EXPECT_NEAR(th.std, 0.08, 0.025);
      EXPECT_NEAR(of.std, 0.05, 0.015);
      EXPECT_NEAR(br.std, 0.04, 0.012);
      EXPECT_NEAR(th.mean, 0.0, 0.03);
      EXPECT_NEAR(of.mean, 0.0, 0.02);
    }
  }
}

// Colours cycle through the yarn's list, `stripe` neighbouring threads each.
TEST(FabricLook, ColourStripesCycleThroughTheList) {
  fab::FabricParams p = quiet_params();
  const std::array<fab::Rgb, 3> colors{{{0.9f, 0.1f, 0.1f}, {0.1f, 0.9f, 0.1f}, {0.1f, 0.1f, 0.9f}}};
  p.warp.colors = {colors[0], colors[1], colors[2]};
  p.warp.stripe = 4;
  Generator gen(12);
  const fab::Fabric fabric(p, 64, 200, gen);
  const fab::ThreadAxis& warp = fabric.threads(fab::Axis::Warp);
  auto index_of = [&](const fab::Rgb& c) {
    for (size_t k = 0; k < colors.size(); ++k)
      if (c.r == colors[k].r && c.g == colors[k].g && c.b == colors[k].b) return static_cast<int>(k);
    return -1;
  };
  std::vector<int> sequence;
  for (const fab::Rgb& c : warp.color) sequence.push_back(index_of(c));
  ASSERT_GT(sequence.size(), 30u);
  // Find where the first full stripe starts, then every 4 threads the next colour.
  size_t start = 1;
  while (sequence[start] == sequence[start - 1]) ++start;
  ASSERT_LE(start, 4u);
  for (size_t i = start; i < sequence.size(); ++i) {
    ASSERT_GE(sequence[i], 0) << "thread " << i << " has a colour outside the list";
    EXPECT_EQ(sequence[i], (sequence[start] + static_cast<int>((i - start) / 4)) % 3) << "thread " << i;
  }
  // The weft keeps its single colour.
  for (const fab::Rgb& c : fabric.threads(fab::Axis::Weft).color) EXPECT_EQ(c.r, 0.6f);
}

// photograph = clamp(surface * gain + noise): without noise, gain = photograph /
// surface must be 1 + gx cx + gy cy - v (cx^2 + cy^2) / 2 (cx, cy in (-1, 1)
// across the image) with |(gx, gy)| = illumination; tileable, it must be
// 1 + gx cos(2 pi px + phase_x) + gy cos(2 pi py + phase_y) (px, py in (0, 1)).
TEST(FabricLook, IlluminationIsAPlaneWithVignetteOrAWholeCosine) {
  for (bool tileable : {false, true}) {
    fab::FabricParams p = quiet_params();
    p.illumination = 0.12;
    p.tileable = tileable;
    Generator gen(tileable ? 14 : 13);
    const int64_t h = 64, w = 80;
    const fab::Fabric fabric(p, h, w, gen);
    const Tensor surface = fabric.render_surface();
    const std::vector<double> s = surface.to_vector<double>(), ph = fabric.photograph(surface).to_vector<double>();
    std::vector<std::vector<double>> basis;
    std::vector<double> gain;
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        const size_t k = static_cast<size_t>(y * w + x);  // channel 0
        if (s[k] < 0.05 || ph[k] >= 1.0) continue;        // no division by ~0, no clamped pixel
        gain.push_back(ph[k] / s[k]);
        const double px = (x + 0.5) / w, py = (y + 0.5) / h;
        if (tileable) {
          const double two_pi = 2.0 * std::numbers::pi;
          basis.push_back(
              {1.0, std::cos(two_pi * px), std::sin(two_pi * px), std::cos(two_pi * py), std::sin(two_pi * py)});
        } else {
          const double cx = 2 * px - 1, cy = 2 * py - 1;
          basis.push_back({1.0, cx, cy, cx * cx + cy * cy});
        }
      }
    ASSERT_GT(gain.size(), static_cast<size_t>(h * w / 2));
    const std::vector<double> c = least_squares(basis, gain);
    double worst = 0;
    for (size_t k = 0; k < gain.size(); ++k) {
      double fit = 0;
      for (size_t j = 0; j < c.size(); ++j) fit += c[j] * basis[k][j];
      worst = std::max(worst, std::abs(fit - gain[k]));
    }
    EXPECT_LT(worst, 1e-4) << (tileable ? "tileable" : "plane") << ": the gain is not of the documented form";
    EXPECT_NEAR(c[0], 1.0, 1e-4);
    const double gx = tileable ? std::hypot(c[1], c[2]) : c[1], gy = tileable ? std::hypot(c[3], c[4]) : c[2];
    EXPECT_NEAR(std::hypot(gx, gy), 0.12, 1e-4) << (tileable ? "tileable" : "plane");
    if (!tileable) {
      EXPECT_LE(c[3], 1e-6);  // the vignette darkens the corners: -v/2 with v in [0, 0.5) illumination
      EXPECT_GE(c[3], -0.25 * 0.12 - 1e-6);
    }
  }
}

// photograph - surface is N(0, sensor_noise^2), independent of the surface;
// with sensor_noise = 0 the photograph is the surface.
TEST(FabricLook, SensorNoiseIsGaussianWithTheGivenStd) {
  for (double sigma : {0.0, 0.02}) {
    fab::FabricParams p = quiet_params();
    p.sensor_noise = sigma;
    Generator gen(15);
    const fab::Fabric fabric(p, 96, 96, gen);
    const Tensor surface = fabric.render_surface();
    const std::vector<double> s = surface.to_vector<double>(), ph = fabric.photograph(surface).to_vector<double>();
    std::vector<double> residual;
    for (size_t k = 0; k < s.size(); ++k)
      if (s[k] > 0.15 && s[k] < 0.85) residual.push_back(ph[k] - s[k]);  // far from the clamps
    ASSERT_GT(residual.size(), s.size() / 3);
    const Stats r = stats_of(residual);
    if (sigma == 0.0) {
      EXPECT_LT(std::max(std::abs(r.mean), r.std), 1e-7);
      continue;
    }
    // n > 9000 samples: the mean is within 4 standard errors, the std within 5%.
    EXPECT_NEAR(r.mean, 0.0, 4 * sigma / std::sqrt(static_cast<double>(residual.size())));
    EXPECT_NEAR(r.std, sigma, 0.05 * sigma);
    double kurtosis = 0;
    for (double v : residual) kurtosis += std::pow((v - r.mean) / r.std, 4);
    EXPECT_NEAR(kurtosis / static_cast<double>(residual.size()), 3.0, 0.3);  // Gaussian: 3
  }
}

// The defects change the look the way their names say, on every preset: mean
// BT.601 luma inside the mask, defect image vs the clean one.
TEST(FabricLook, DefectsDarkenOrLightenAsDocumented) {
  auto luma_inside = [](const Tensor& image, const Tensor& mask) {
    const std::vector<double> v = image.to_vector<double>(), m = mask.to_vector<double>();
    const size_t plane = m.size();
    double sum = 0;
    int64_t n = 0;
    for (size_t k = 0; k < plane; ++k)
      if (m[k] != 0) {
        sum += 0.299 * v[k] + 0.587 * v[plane + k] + 0.114 * v[2 * plane + k];
        ++n;
      }
    return sum / static_cast<double>(std::max<int64_t>(n, 1));
  };
  uint64_t seed = 500;
  for (const std::string& category : fab::fabric_categories())
    for (fab::DefectKind kind : {fab::DefectKind::OilStain, fab::DefectKind::WhiteStripe, fab::DefectKind::Hole}) {
      Generator gen(seed++);
      const fab::Fabric fabric(fab::preset_params(category, gen), 96, 96, gen);
      const fab::DefectSample d = fab::render_defect(fabric, kind, gen);
      const double before = luma_inside(fabric.render(), d.mask), after = luma_inside(d.image, d.mask);
      const std::string what = category + "/" + fab::defect_name(kind);
      if (kind == fab::DefectKind::WhiteStripe)
        EXPECT_GT(after, before + 0.03) << what << ": a white stripe lightens";
      else
        EXPECT_LT(after, before - 0.03) << what << ": darkens";
    }
}
