// test_pool_resample.cpp: max/avg pooling, adaptive average pooling, nearest
// and bilinear upsampling: forward against naive double loops written here
// (PyTorch's index rules restated independently), backward as the adjoint
// (<F x, g> = <x, F^T g>) or a naive scatter, a few values PyTorch prints,
// thread-count independence and bad input.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "kernels/ops.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace loom;
using loom::testing::expect_bitwise_equal;
using loom::testing::expect_close;
using loom::testing::expect_error_containing;

namespace {

double dot(const Tensor& a, const Tensor& b) {
  const std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  double s = 0;
  for (size_t i = 0; i < va.size(); ++i) s += va[i] * vb[i];
  return s;
}

Pool2dOptions pool_opt(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, bool include = true) {
  Pool2dOptions o;
  o.kernel = {kh, kw};
  o.stride = {sh, sw};
  o.padding = {ph, pw};
  o.count_include_pad = include;
  return o;
}

// Naive max pool of x (P planes of H x W): values and flat indices.
void ref_max_pool(const std::vector<double>& x, int64_t P, int64_t H, int64_t W, const Pool2dOptions& o,
                  std::vector<double>& out, std::vector<int64_t>& idx, int64_t& OH, int64_t& OW) {
  OH = (H + 2 * o.padding[0] - o.kernel[0]) / o.stride[0] + 1;
  OW = (W + 2 * o.padding[1] - o.kernel[1]) / o.stride[1] + 1;
  out.assign(P * OH * OW, 0);
  idx.assign(P * OH * OW, 0);
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        bool found = false;
        double best = 0;
        int64_t best_i = -1;
        for (int64_t i = 0; i < o.kernel[0]; ++i)
          for (int64_t j = 0; j < o.kernel[1]; ++j) {
            const int64_t h = oh * o.stride[0] - o.padding[0] + i, w = ow * o.stride[1] - o.padding[1] + j;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;  // padding never wins
            const double v = x[(p * H + h) * W + w];
            if (!found || v > best) {
              found = true;
              best = v;
              best_i = h * W + w;
            }
          }
        out[(p * OH + oh) * OW + ow] = best;
        idx[(p * OH + oh) * OW + ow] = best_i;
      }
}

// Naive average pool; the divisor counts window positions inside [-p, H + p)
// when include_pad, else inside [0, H).
std::vector<double> ref_avg_pool(const std::vector<double>& x, int64_t P, int64_t H, int64_t W,
                                 const Pool2dOptions& o) {
  const int64_t OH = (H + 2 * o.padding[0] - o.kernel[0]) / o.stride[0] + 1;
  const int64_t OW = (W + 2 * o.padding[1] - o.kernel[1]) / o.stride[1] + 1;
  std::vector<double> out(P * OH * OW);
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double s = 0;
        int64_t padded = 0, inside = 0;
        for (int64_t i = 0; i < o.kernel[0]; ++i)
          for (int64_t j = 0; j < o.kernel[1]; ++j) {
            const int64_t h = oh * o.stride[0] - o.padding[0] + i, w = ow * o.stride[1] - o.padding[1] + j;
            if (h < H + o.padding[0] && w < W + o.padding[1]) ++padded;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            ++inside;
            s += x[(p * H + h) * W + w];
          }
        out[(p * OH + oh) * OW + ow] = s / static_cast<double>(o.count_include_pad ? padded : inside);
      }
  return out;
}

// PyTorch bilinear, restated: value at output d along one axis is
// (1 - l) v[i0] + l v[i1].
void ref_linear_axis(int64_t in, int64_t out, bool ac, int64_t d, int64_t& i0, int64_t& i1, double& l) {
  if (in == out) {
    i0 = i1 = d;
    l = 0;
    return;
  }
  double src;
  if (ac) {
    src = out > 1 ? d * static_cast<double>(in - 1) / (out - 1) : 0.0;
  } else {
    src = (d + 0.5) * static_cast<double>(in) / out - 0.5;
    if (src < 0) src = 0;
  }
  i0 = static_cast<int64_t>(std::floor(src));
  i1 = std::min(i0 + 1, in - 1);
  l = src - i0;
}

std::vector<double> ref_bilinear(const std::vector<double>& x, int64_t P, int64_t H, int64_t W, int64_t OH,
                                 int64_t OW, bool ac) {
  std::vector<double> out(P * OH * OW);
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t h0, h1, w0, w1;
        double lh, lw;
        ref_linear_axis(H, OH, ac, oh, h0, h1, lh);
        ref_linear_axis(W, OW, ac, ow, w0, w1, lw);
        auto at = [&](int64_t h, int64_t w) { return x[(p * H + h) * W + w]; };
        out[(p * OH + oh) * OW + ow] = (1 - lh) * ((1 - lw) * at(h0, w0) + lw * at(h0, w1)) +
                                       lh * ((1 - lw) * at(h1, w0) + lw * at(h1, w1));
      }
  return out;
}

}  // namespace

// ---- max pool ------------------------------------------------------------------

TEST(Pool, MaxPoolMatchesNaive) {
  Generator gen(1);
  const std::vector<Pool2dOptions> opts = {pool_opt(2, 2, 2, 2, 0, 0), pool_opt(3, 3, 2, 2, 1, 1),
                                           pool_opt(3, 2, 1, 2, 1, 0), pool_opt(4, 4, 3, 1, 2, 2)};
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Pool2dOptions& o : opts) {
      Tensor x = randn({2, 3, 7, 6}, gen, dt);
      MaxPoolResult r = ops::max_pool2d(x, o);
      std::vector<double> out;
      std::vector<int64_t> idx;
      int64_t OH, OW;
      ref_max_pool(x.to_vector<double>(), 6, 7, 6, o, out, idx, OH, OW);
      EXPECT_EQ(r.output.shape(), (Shape{2, 3, OH, OW}));
      expect_close(r.output, out, 0, 0, "max_pool2d output");
      EXPECT_EQ(r.indices.dtype(), DType::Int64);
      EXPECT_EQ(r.indices.to_vector<int64_t>(), idx);
      // backward: naive scatter of g to the chosen indices
      Tensor g = randn(r.output.shape(), gen, dt);
      const std::vector<double> gv = g.to_vector<double>();
      std::vector<double> gx(2 * 3 * 7 * 6, 0.0);
      for (size_t i = 0; i < gv.size(); ++i) gx[(i / (OH * OW)) * 42 + idx[i]] += gv[i];
      expect_close(ops::max_pool2d_backward(g, r.indices, x.shape()), gx, 1e-6, 1e-6, "max_pool2d_backward");
    }
}

TEST(Pool, MaxPoolTiesNaNAndNonContiguous) {
  // ties: the first maximum (in window order) wins
  Tensor x = Tensor::from_vector<double>({5, 5, 5, 5}, {1, 1, 2, 2});
  EXPECT_EQ(ops::max_pool2d(x, pool_opt(2, 2, 2, 2, 0, 0)).indices.to_vector<int64_t>(), (std::vector<int64_t>{0}));
  // NaN propagates
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor y = Tensor::from_vector<double>({1, nan, 3, 2}, {1, 1, 2, 2});
  MaxPoolResult r = ops::max_pool2d(y, pool_opt(2, 2, 2, 2, 0, 0));
  EXPECT_TRUE(std::isnan(r.output.item()));
  EXPECT_EQ(r.indices.to_vector<int64_t>(), (std::vector<int64_t>{1}));
  // all-negative values with padding: padding never wins
  Tensor neg = Tensor::full({1, 1, 2, 2}, -7.0, DType::Float64);
  expect_close(ops::max_pool2d(neg, pool_opt(2, 2, 1, 1, 1, 1)).output, std::vector<double>(9, -7.0), 0, 0,
               "padding as -inf");
  // a non-contiguous input reads through its strides
  Generator gen(2);
  Tensor base = randn({2, 5, 6, 3}, gen, DType::Float64);
  Tensor xt = base.permute({0, 3, 1, 2});  // (2, 3, 5, 6)
  expect_bitwise_equal(ops::max_pool2d(xt, pool_opt(3, 3, 2, 2, 1, 1)).output,
                       ops::max_pool2d(xt.contiguous(), pool_opt(3, 3, 2, 2, 1, 1)).output, "non-contiguous");
}

// ---- avg pool ------------------------------------------------------------------

TEST(Pool, AvgPoolMatchesNaiveAndBackwardIsAdjoint) {
  Generator gen(3);
  const std::vector<Pool2dOptions> opts = {pool_opt(2, 2, 2, 2, 0, 0), pool_opt(3, 3, 2, 2, 1, 1, true),
                                           pool_opt(3, 3, 2, 2, 1, 1, false), pool_opt(3, 2, 1, 3, 1, 1, true),
                                           pool_opt(4, 3, 2, 1, 2, 1, false)};
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Pool2dOptions& o : opts) {
      Tensor x = randn({2, 2, 7, 8}, gen, dt);
      Tensor y = ops::avg_pool2d(x, o);
      const double tol = dt == DType::Float32 ? 1e-6 : 1e-13;
      expect_close(y, ref_avg_pool(x.to_vector<double>(), 4, 7, 8, o), tol, tol, "avg_pool2d");
      Tensor g = randn(y.shape(), gen, dt);
      Tensor gx = ops::avg_pool2d_backward(g, x.shape(), o);
      EXPECT_EQ(gx.shape(), x.shape());
      EXPECT_NEAR(dot(y, g), dot(x, gx), 1e-4 * (1 + std::abs(dot(y, g)))) << "<Ax, g> = <x, A^T g>";
    }
}

TEST(Pool, AdaptiveAvgPool) {
  Generator gen(4);
  Tensor x = randn({2, 3, 4, 6}, gen, DType::Float64);
  const std::vector<double> xv = x.to_vector<double>();
  std::vector<double> ref(6, 0.0);
  for (int64_t p = 0; p < 6; ++p) {
    for (int64_t i = 0; i < 24; ++i) ref[p] += xv[p * 24 + i];
    ref[p] /= 24;
  }
  Tensor y = adaptive_avg_pool2d(x, 1);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 1, 1}));
  expect_close(y, ref, 1e-14, 1e-13, "global average");
  // 2x2: blocks of 2 x 3
  Tensor y2 = adaptive_avg_pool2d(x, 2);
  EXPECT_EQ(y2.shape(), (Shape{2, 3, 2, 2}));
  expect_close(y2, ref_avg_pool(xv, 6, 4, 6, pool_opt(2, 3, 2, 3, 0, 0)), 1e-14, 1e-13, "adaptive 2x2");
  expect_error_containing([&] { adaptive_avg_pool2d(x, 3); }, "only 1");
}

// ---- upsampling ----------------------------------------------------------------

TEST(Resample, NearestMatchesNaive) {
  Generator gen(5);
  const std::vector<std::array<int64_t, 4>> sizes = {{4, 5, 8, 10}, {3, 3, 5, 7}, {5, 4, 3, 2}, {3, 3, 3, 3}, {2, 3, 1, 1}};
  for (DType dt : {DType::Float32, DType::Float64})
    for (const auto& s : sizes) {
      const int64_t H = s[0], W = s[1], OH = s[2], OW = s[3];
      Tensor x = randn({2, 2, H, W}, gen, dt);
      const std::vector<double> xv = x.to_vector<double>();
      std::vector<double> ref(4 * OH * OW);
      for (int64_t p = 0; p < 4; ++p)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            // floor(dst in / out), the product taken exactly before dividing
            const int64_t h = static_cast<int64_t>(std::floor(static_cast<double>(oh * H) / OH));
            const int64_t w = static_cast<int64_t>(std::floor(static_cast<double>(ow * W) / OW));
            ref[(p * OH + oh) * OW + ow] = xv[(p * H + h) * W + w];
          }
      Tensor y = ops::upsample_nearest2d(x, OH, OW);
      expect_close(y, ref, 0, 0, "upsample_nearest2d");
      Tensor g = randn(y.shape(), gen, dt);
      Tensor gx = ops::upsample_nearest2d_backward(g, x.shape());
      EXPECT_NEAR(dot(y, g), dot(x, gx), 1e-4 * (1 + std::abs(dot(y, g)))) << "adjoint";
    }
  // PyTorch: nearest 3 -> 5 reads 0, 0, 1, 1, 2
  Tensor r = ops::upsample_nearest2d(Tensor::from_vector<double>({10, 20, 30}, {1, 1, 1, 3}), 1, 5);
  EXPECT_EQ(r.to_vector<double>(), (std::vector<double>{10, 10, 20, 20, 30}));
}

TEST(Resample, BilinearMatchesNaive) {
  Generator gen(6);
  const std::vector<std::array<int64_t, 4>> sizes = {{4, 5, 8, 10}, {3, 3, 5, 7}, {5, 4, 3, 2},
                                                     {3, 3, 3, 3}, {2, 3, 1, 1}, {1, 4, 3, 4}};
  for (bool ac : {false, true})
    for (DType dt : {DType::Float32, DType::Float64})
      for (const auto& s : sizes) {
        const int64_t H = s[0], W = s[1], OH = s[2], OW = s[3];
        Tensor x = randn({2, 2, H, W}, gen, dt);
        Tensor y = ops::upsample_bilinear2d(x, OH, OW, ac);
        const double tol = dt == DType::Float32 ? 1e-6 : 1e-13;
        expect_close(y, ref_bilinear(x.to_vector<double>(), 4, H, W, OH, OW, ac), tol, tol, "upsample_bilinear2d");
        Tensor g = randn(y.shape(), gen, dt);
        Tensor gx = ops::upsample_bilinear2d_backward(g, x.shape(), ac);
        EXPECT_NEAR(dot(y, g), dot(x, gx), 1e-4 * (1 + std::abs(dot(y, g)))) << "adjoint";
      }
}

TEST(Resample, BilinearKnownPyTorchValues) {
  Tensor x = Tensor::from_vector<double>({1, 2, 3, 4}, {1, 1, 2, 2});
  // F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)
  expect_close(ops::upsample_bilinear2d(x, 4, 4, false),
               {1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0}, 1e-15, 0,
               "align_corners=False");
  // align_corners=True: rows 1, 4/3, 5/3, 2 (+1 per step of 1/3 down)
  const double t = 1.0 / 3;
  expect_close(ops::upsample_bilinear2d(x, 4, 4, true),
               {1, 1 + t, 1 + 2 * t, 2, 1 + 2 * t, 1 + 3 * t, 1 + 4 * t, 2 + 2 * t, 1 + 4 * t, 1 + 5 * t, 1 + 6 * t,
                2 + 4 * t, 3, 3 + t, 3 + 2 * t, 4},
               1e-15, 1e-15, "align_corners=True");
}

TEST(Resample, ThreadCountIndependent) {
  Generator gen(7);
  Tensor x = randn({4, 8, 32, 32}, gen, DType::Float32);  // 32768 inputs, 131072 outputs
  Tensor g = randn({4, 8, 64, 64}, gen, DType::Float32);
  Tensor gp = randn({4, 8, 16, 16}, gen, DType::Float32);
  const int saved = omp_get_max_threads();
  std::vector<std::vector<Tensor>> runs;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    MaxPoolResult mp = ops::max_pool2d(x, pool_opt(3, 3, 2, 2, 1, 1));
    runs.push_back({ops::upsample_bilinear2d(x, 64, 64, false), ops::upsample_bilinear2d_backward(g, x.shape(), false),
                    ops::upsample_nearest2d_backward(g, x.shape()), mp.output,
                    ops::max_pool2d_backward(gp, mp.indices, x.shape()),
                    ops::avg_pool2d_backward(gp, x.shape(), pool_opt(3, 3, 2, 2, 1, 1))});
  }
  omp_set_num_threads(saved);
  for (size_t i = 0; i < runs[0].size(); ++i) expect_bitwise_equal(runs[0][i], runs[1][i], "1 vs 2 threads");
}

TEST(Pool, BadInputErrors) {
  Tensor x = Tensor::ones({1, 2, 4, 4});
  expect_error_containing([] { ops::max_pool2d(Tensor::ones({2, 4, 4}), Pool2dOptions{}); }, "(N, C, H, W)");
  expect_error_containing([&] { max_pool2d(x, 5); }, "smaller than the kernel");
  expect_error_containing([&] { max_pool2d(x, 2, 1, 2); }, "at most half");
  expect_error_containing([&] { avg_pool2d(x, 2, 0); }, "stride");
  expect_error_containing([&] { max_pool2d(x, 0); }, "kernel must be positive");
  expect_error_containing([&] { ops::avg_pool2d_backward(Tensor::ones({1, 2, 3, 3}), x.shape(), Pool2dOptions{}); },
                          "grad_out");
  expect_error_containing([&] { ops::max_pool2d_backward(Tensor::ones({1, 2, 2, 2}), Tensor::ones({1, 2, 2, 2}), x.shape()); },
                          "int64");
  expect_error_containing([&] { upsample_nearest(x, 0, 3); }, "positive");
  expect_error_containing([&] { upsample_bilinear(Tensor::ones({4, 4}), 8, 8); }, "(N, C, H, W)");
  expect_error_containing([&] { ops::upsample_bilinear2d_backward(Tensor::ones({1, 3, 8, 8}), x.shape(), false); },
                          "grad_out");
}
