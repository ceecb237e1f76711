// test_conv.cpp: the CPU convolution kernels (conv2d, conv2d_backward_input,
// conv2d_backward_weight, conv_transpose2d) against naive direct loops written
// here in double, over many option combinations and odd shapes, in float32 and
// float64; the adjoint identities that tie conv_transpose2d to conv2d; bitwise
// thread-count independence; and the error messages for bad arguments.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/ops.h"
#include "tensor/random.h"

using namespace loom;

namespace {

// ---- naive references (double, direct loops) ---------------------------------

struct Geom {
  int64_t N, C, H, W;  // conv input
  int64_t OC, KH, KW;  // weight (OC, C, KH, KW)
  Pair stride, padding, dilation;
  int64_t OH() const { return (H + 2 * padding[0] - dilation[0] * (KH - 1) - 1) / stride[0] + 1; }
  int64_t OW() const { return (W + 2 * padding[1] - dilation[1] * (KW - 1) - 1) / stride[1] + 1; }
  Conv2dOptions opt() const {
    Conv2dOptions o;
    o.stride = stride;
    o.padding = padding;
    o.dilation = dilation;
    return o;
  }
};

// Calls f(n, oc, c, oh, ow, kh, kw, ih, iw) for every (output, tap) pair whose
// input position (ih, iw) is inside the image: the 7 loops of a direct convolution.
template <class F>
void for_each_tap(const Geom& g, F f) {
  const int64_t OH = g.OH(), OW = g.OW();
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t oc = 0; oc < g.OC; ++oc)
      for (int64_t c = 0; c < g.C; ++c)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow)
            for (int64_t kh = 0; kh < g.KH; ++kh)
              for (int64_t kw = 0; kw < g.KW; ++kw) {
                const int64_t ih = oh * g.stride[0] - g.padding[0] + kh * g.dilation[0];
                const int64_t iw = ow * g.stride[1] - g.padding[1] + kw * g.dilation[1];
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                f(n, oc, c, oh, ow, kh, kw, ih, iw);
              }
}

// y[n,oc,oh,ow] = b[oc] + sum_{c,kh,kw} w[oc,c,kh,kw] x[n,c,ih,iw]
std::vector<double> naive_conv2d(const Geom& g, const std::vector<double>& x, const std::vector<double>& w,
                                 const std::vector<double>& b) {
  const int64_t OH = g.OH(), OW = g.OW();
  std::vector<double> y(g.N * g.OC * OH * OW, 0.0);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t oc = 0; oc < g.OC; ++oc)
      for (int64_t p = 0; p < OH * OW; ++p) y[(n * g.OC + oc) * OH * OW + p] = b.empty() ? 0.0 : b[oc];
  for_each_tap(g, [&](int64_t n, int64_t oc, int64_t c, int64_t oh, int64_t ow, int64_t kh, int64_t kw, int64_t ih,
                      int64_t iw) {
    y[((n * g.OC + oc) * OH + oh) * OW + ow] +=
        w[((oc * g.C + c) * g.KH + kh) * g.KW + kw] * x[((n * g.C + c) * g.H + ih) * g.W + iw];
  });
  return y;
}

// dx[n,c,ih,iw] = sum over taps reading (ih, iw) of dy[n,oc,oh,ow] w[oc,c,kh,kw]
std::vector<double> naive_backward_input(const Geom& g, const std::vector<double>& dy, const std::vector<double>& w) {
  const int64_t OH = g.OH(), OW = g.OW();
  std::vector<double> dx(g.N * g.C * g.H * g.W, 0.0);
  for_each_tap(g, [&](int64_t n, int64_t oc, int64_t c, int64_t oh, int64_t ow, int64_t kh, int64_t kw, int64_t ih,
                      int64_t iw) {
    dx[((n * g.C + c) * g.H + ih) * g.W + iw] +=
        dy[((n * g.OC + oc) * OH + oh) * OW + ow] * w[((oc * g.C + c) * g.KH + kh) * g.KW + kw];
  });
  return dx;
}

// dw[oc,c,kh,kw] = sum_{n,oh,ow} dy[n,oc,oh,ow] x[n,c,ih,iw]
std::vector<double> naive_backward_weight(const Geom& g, const std::vector<double>& dy, const std::vector<double>& x) {
  const int64_t OH = g.OH(), OW = g.OW();
  std::vector<double> dw(g.OC * g.C * g.KH * g.KW, 0.0);
  for_each_tap(g, [&](int64_t n, int64_t oc, int64_t c, int64_t oh, int64_t ow, int64_t kh, int64_t kw, int64_t ih,
                      int64_t iw) {
    dw[((oc * g.C + c) * g.KH + kh) * g.KW + kw] +=
        dy[((n * g.OC + oc) * OH + oh) * OW + ow] * x[((n * g.C + c) * g.H + ih) * g.W + iw];
  });
  return dw;
}

struct TGeom {
  int64_t N, IC, H, W;  // transposed-conv input
  int64_t OC, KH, KW;   // weight (IC, OC, KH, KW)
  Pair stride, padding, dilation, output_padding;
  int64_t OH() const {
    return (H - 1) * stride[0] - 2 * padding[0] + dilation[0] * (KH - 1) + output_padding[0] + 1;
  }
  int64_t OW() const {
    return (W - 1) * stride[1] - 2 * padding[1] + dilation[1] * (KW - 1) + output_padding[1] + 1;
  }
  Conv2dOptions opt() const { return Conv2dOptions{stride, padding, dilation, output_padding}; }
};

// y[n,oc,h s - p + kh d, w s - p + kw d] += x[n,ic,h,w] w[ic,oc,kh,kw]  (scatter form, the definition)
std::vector<double> naive_conv_transpose2d(const TGeom& g, const std::vector<double>& x, const std::vector<double>& w,
                                           const std::vector<double>& b) {
  const int64_t OH = g.OH(), OW = g.OW();
  std::vector<double> y(g.N * g.OC * OH * OW, 0.0);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t oc = 0; oc < g.OC; ++oc)
      for (int64_t p = 0; p < OH * OW; ++p) y[(n * g.OC + oc) * OH * OW + p] = b.empty() ? 0.0 : b[oc];
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t ic = 0; ic < g.IC; ++ic)
      for (int64_t h = 0; h < g.H; ++h)
        for (int64_t wi = 0; wi < g.W; ++wi)
          for (int64_t oc = 0; oc < g.OC; ++oc)
            for (int64_t kh = 0; kh < g.KH; ++kh)
              for (int64_t kw = 0; kw < g.KW; ++kw) {
                const int64_t oh = h * g.stride[0] - g.padding[0] + kh * g.dilation[0];
                const int64_t ow = wi * g.stride[1] - g.padding[1] + kw * g.dilation[1];
                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                y[((n * g.OC + oc) * OH + oh) * OW + ow] +=
                    x[((n * g.IC + ic) * g.H + h) * g.W + wi] * w[((ic * g.OC + oc) * g.KH + kh) * g.KW + kw];
              }
  return y;
}

// ---- helpers -------------------------------------------------------------------

Tensor random_tensor(const Shape& shape, uint64_t seed, DType dtype) {
  Generator gen(seed);
  return randn(shape, gen, dtype);
}

// Every element within tol * max|ref| (the scale of the result); NaN never passes.
void expect_close(const Tensor& got, const std::vector<double>& ref, double tol, const std::string& what) {
  std::vector<double> v = got.to_vector<double>();
  ASSERT_EQ(v.size(), ref.size()) << what;
  double scale = 1e-30;
  for (double r : ref) scale = std::max(scale, std::abs(r));
  double worst = 0;
  int64_t worst_i = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const double d = std::abs(v[i] - ref[i]);
    if (!(d <= worst) || std::isnan(d)) {
      worst = std::isnan(d) ? INFINITY : d;
      worst_i = static_cast<int64_t>(i);
    }
  }
  EXPECT_LE(worst / scale, tol) << what << ": worst element " << worst_i << " got " << v[worst_i] << " expected "
                                << ref[worst_i] << " (scale " << scale << ")";
}

double tol_for(DType dtype) { return dtype == DType::Float32 ? 2e-6 : 1e-13; }

std::string describe(const Geom& g) {
  return "conv N" + std::to_string(g.N) + " C" + std::to_string(g.C) + " " + std::to_string(g.H) + "x" +
         std::to_string(g.W) + " OC" + std::to_string(g.OC) + " k" + std::to_string(g.KH) + "x" +
         std::to_string(g.KW) + " s" + std::to_string(g.stride[0]) + "," + std::to_string(g.stride[1]) + " p" +
         std::to_string(g.padding[0]) + "," + std::to_string(g.padding[1]) + " d" + std::to_string(g.dilation[0]) +
         "," + std::to_string(g.dilation[1]);
}

std::string describe(const TGeom& g) {
  return "tconv N" + std::to_string(g.N) + " IC" + std::to_string(g.IC) + " " + std::to_string(g.H) + "x" +
         std::to_string(g.W) + " OC" + std::to_string(g.OC) + " k" + std::to_string(g.KH) + "x" +
         std::to_string(g.KW) + " s" + std::to_string(g.stride[0]) + "," + std::to_string(g.stride[1]) + " p" +
         std::to_string(g.padding[0]) + "," + std::to_string(g.padding[1]) + " d" + std::to_string(g.dilation[0]) +
         "," + std::to_string(g.dilation[1]) + " op" + std::to_string(g.output_padding[0]) + "," +
         std::to_string(g.output_padding[1]);
}

// Forward convolutions: odd and non-square sizes, strides, paddings, dilations;
// small images whose batch is split into chunks (with a partial last chunk),
// large ones (one image per GEMM), the 1x1 fast path and the fully connected
// one (kernel = image).
const std::vector<Geom> kConvCases = {
    {2, 3, 7, 9, 4, 3, 3, {1, 1}, {1, 1}, {1, 1}},
    {3, 2, 8, 8, 5, 4, 4, {2, 2}, {1, 1}, {1, 1}},
    {1, 3, 11, 6, 2, 3, 2, {2, 1}, {0, 1}, {1, 2}},
    {2, 4, 9, 10, 3, 1, 1, {1, 1}, {0, 0}, {1, 1}},
    {2, 3, 13, 12, 4, 3, 3, {1, 1}, {2, 2}, {2, 2}},
    {2, 2, 16, 15, 3, 5, 5, {2, 2}, {2, 2}, {1, 1}},
    {13, 2, 12, 12, 3, 3, 3, {1, 1}, {0, 0}, {1, 1}},  // L = 100: chunks of 3 images, the last of 1
    {2, 2, 34, 33, 3, 3, 3, {1, 1}, {1, 1}, {1, 1}},   // large L: one image per GEMM
    {9, 2, 34, 33, 3, 3, 3, {1, 1}, {1, 1}, {1, 1}},   // 9 one-image chunks: shared out to the threads
    {2, 3, 32, 33, 4, 1, 1, {1, 1}, {0, 0}, {1, 1}},   // 1x1 on a large image: im2col skipped
    {3, 3, 5, 7, 2, 1, 1, {2, 3}, {1, 0}, {1, 1}},     // 1x1 with stride and padding
    {1, 1, 1, 1, 2, 1, 1, {1, 1}, {0, 0}, {1, 1}},
    {2, 3, 3, 4, 2, 5, 6, {1, 1}, {1, 1}, {1, 1}},     // kernel exactly fills the padded input
    {2, 2, 9, 9, 3, 2, 2, {3, 3}, {0, 0}, {1, 1}},     // stride > kernel: skipped pixels
    {1, 2, 4, 5, 3, 2, 2, {1, 2}, {3, 2}, {1, 1}},     // padding > kernel
    {2, 3, 10, 7, 2, 3, 3, {2, 1}, {1, 2}, {3, 2}},
    {3, 4, 4, 5, 3, 4, 5, {1, 1}, {0, 0}, {1, 1}},     // kernel covers the image: a fully connected layer
    {5, 3, 3, 3, 2, 3, 3, {2, 2}, {0, 0}, {1, 1}},     // the same, stride irrelevant
};

const std::vector<TGeom> kTransposedCases = {
    {2, 3, 1, 1, 4, 4, 4, {1, 1}, {0, 0}, {1, 1}, {0, 0}},  // DCGAN's first layer, 1x1 -> 4x4
    {2, 3, 4, 5, 4, 4, 4, {2, 2}, {1, 1}, {1, 1}, {0, 0}},
    {2, 3, 4, 4, 4, 3, 3, {2, 2}, {1, 1}, {1, 1}, {1, 1}},
    {2, 3, 4, 3, 2, 2, 2, {2, 2}, {0, 0}, {1, 1}, {0, 0}},
    {3, 2, 5, 6, 3, 3, 2, {2, 3}, {1, 0}, {2, 1}, {1, 2}},  // non-square everything
    {2, 2, 5, 5, 3, 3, 3, {1, 1}, {1, 1}, {2, 2}, {1, 1}},  // output_padding >= stride (below dilation)
    {13, 2, 10, 10, 3, 3, 3, {1, 1}, {0, 0}, {1, 1}, {0, 0}},  // chunks of 3 images, the last of 1
    {2, 2, 33, 32, 3, 2, 2, {2, 2}, {0, 0}, {1, 1}, {0, 0}},   // one image per GEMM
    {9, 2, 32, 33, 3, 2, 2, {2, 2}, {0, 0}, {1, 1}, {0, 0}},   // 9 chunks shared out to the threads
    {2, 3, 32, 32, 2, 1, 1, {1, 1}, {0, 0}, {1, 1}, {0, 0}},   // 1x1: col2im skipped
    {1, 2, 5, 5, 2, 3, 3, {1, 1}, {2, 2}, {1, 1}, {0, 0}},     // padding crops the output
    {2, 3, 3, 4, 2, 3, 3, {3, 2}, {1, 1}, {1, 1}, {2, 1}},
    {5, 7, 1, 1, 3, 3, 2, {2, 1}, {0, 0}, {1, 1}, {0, 0}},     // 1x1 -> 3x2: a fully connected layer
};

const DType kDtypes[] = {DType::Float32, DType::Float64};

}  // namespace

TEST(Conv, Conv2dForwardMatchesDirectLoops) {
  uint64_t seed = 1;
  for (DType dt : kDtypes) {
    for (const Geom& g : kConvCases) {
      for (bool with_bias : {false, true}) {
        Tensor x = random_tensor({g.N, g.C, g.H, g.W}, seed++, dt);
        Tensor w = random_tensor({g.OC, g.C, g.KH, g.KW}, seed++, dt);
        Tensor b = with_bias ? random_tensor({g.OC}, seed++, dt) : Tensor();
        Tensor y = ops::conv2d(x, w, b, g.opt());
        ASSERT_EQ(y.shape(), (Shape{g.N, g.OC, g.OH(), g.OW()})) << describe(g);
        expect_close(y,
                     naive_conv2d(g, x.to_vector<double>(), w.to_vector<double>(),
                                  with_bias ? b.to_vector<double>() : std::vector<double>{}),
                     tol_for(dt), describe(g) + (with_bias ? " bias " : " ") + dtype_name(dt));
      }
    }
  }
}

TEST(Conv, Conv2dBackwardKernelsMatchDirectLoops) {
  uint64_t seed = 100;
  for (DType dt : kDtypes) {
    for (const Geom& g : kConvCases) {
      Tensor x = random_tensor({g.N, g.C, g.H, g.W}, seed++, dt);
      Tensor w = random_tensor({g.OC, g.C, g.KH, g.KW}, seed++, dt);
      Tensor dy = random_tensor({g.N, g.OC, g.OH(), g.OW()}, seed++, dt);
      Tensor dx = ops::conv2d_backward_input(dy, w, x.shape(), g.opt());
      ASSERT_EQ(dx.shape(), x.shape());
      expect_close(dx, naive_backward_input(g, dy.to_vector<double>(), w.to_vector<double>()), tol_for(dt),
                   describe(g) + " backward_input " + dtype_name(dt));
      Tensor dw = ops::conv2d_backward_weight(dy, x, w.shape(), g.opt());
      ASSERT_EQ(dw.shape(), w.shape());
      expect_close(dw, naive_backward_weight(g, dy.to_vector<double>(), x.to_vector<double>()), tol_for(dt),
                   describe(g) + " backward_weight " + dtype_name(dt));
    }
  }
}

TEST(Conv, ConvTranspose2dMatchesScatterLoops) {
  uint64_t seed = 200;
  for (DType dt : kDtypes) {
    for (const TGeom& g : kTransposedCases) {
      for (bool with_bias : {false, true}) {
        Tensor x = random_tensor({g.N, g.IC, g.H, g.W}, seed++, dt);
        Tensor w = random_tensor({g.IC, g.OC, g.KH, g.KW}, seed++, dt);
        Tensor b = with_bias ? random_tensor({g.OC}, seed++, dt) : Tensor();
        Tensor y = ops::conv_transpose2d(x, w, b, g.opt());
        ASSERT_EQ(y.shape(), (Shape{g.N, g.OC, g.OH(), g.OW()})) << describe(g);
        expect_close(y,
                     naive_conv_transpose2d(g, x.to_vector<double>(), w.to_vector<double>(),
                                            with_bias ? b.to_vector<double>() : std::vector<double>{}),
                     tol_for(dt), describe(g) + (with_bias ? " bias " : " ") + dtype_name(dt));
      }
    }
  }
}

// Strided (non-contiguous) inputs and weights give the same result as dense copies.
TEST(Conv, NonContiguousInputs) {
  Generator gen(7);
  Tensor xt = randn({2, 3, 9, 7}, gen, DType::Float64);       // (N, C, W, H) storage
  Tensor x = xt.transpose(2, 3);                               // (N, C, H=7, W=9), non-contiguous
  Tensor w = randn({3, 4, 3, 3}, gen, DType::Float64).transpose(0, 1);  // (4, 3, 3, 3), non-contiguous
  Geom g{2, 3, 7, 9, 4, 3, 3, {2, 1}, {1, 1}, {1, 1}};
  ASSERT_FALSE(x.is_contiguous());
  ASSERT_FALSE(w.is_contiguous());
  expect_close(ops::conv2d(x, w, Tensor(), g.opt()), naive_conv2d(g, x.to_vector<double>(), w.to_vector<double>(), {}),
               1e-13, "conv2d non-contiguous");
  Tensor dy = randn({2, 4, g.OH(), g.OW()}, gen, DType::Float64);
  Tensor dy_nc = dy.permute({0, 1, 3, 2}).contiguous().permute({0, 1, 3, 2});
  ASSERT_FALSE(dy_nc.is_contiguous());
  expect_close(ops::conv2d_backward_input(dy_nc, w, x.shape(), g.opt()),
               naive_backward_input(g, dy.to_vector<double>(), w.to_vector<double>()), 1e-13, "backward_input nc");
  expect_close(ops::conv2d_backward_weight(dy_nc, x, w.shape(), g.opt()),
               naive_backward_weight(g, dy.to_vector<double>(), x.to_vector<double>()), 1e-13, "backward_weight nc");
  TGeom t{2, 4, 9, 7, 3, 3, 3, {2, 2}, {1, 1}, {1, 1}, {1, 0}};
  Tensor xtc = randn({2, 4, 7, 9}, gen, DType::Float64).transpose(2, 3);  // (2, 4, 9, 7)
  Tensor wt = randn({3, 4, 3, 3}, gen, DType::Float64).transpose(0, 1);   // (4, 3, 3, 3)
  expect_close(ops::conv_transpose2d(xtc, wt, Tensor(), t.opt()),
               naive_conv_transpose2d(t, xtc.to_vector<double>(), wt.to_vector<double>(), {}), 1e-13,
               "conv_transpose2d non-contiguous");
}

// conv2d_backward_input and conv_transpose2d are the adjoint of conv2d:
//   <conv2d(x, W), y> = <x, conv2d_backward_input(y, W)> = <x, conv_transpose2d(y, W)>
// (W read as a conv weight from x's channels to y's). Checked in float64.
TEST(Conv, AdjointIdentities) {
  auto dot = [](const Tensor& a, const Tensor& b) {
    std::vector<double> u = a.to_vector<double>(), v = b.to_vector<double>();
    double s = 0;
    for (size_t i = 0; i < u.size(); ++i) s += u[i] * v[i];
    return s;
  };
  uint64_t seed = 300;
  for (const Geom& g : kConvCases) {
    Tensor x = random_tensor({g.N, g.C, g.H, g.W}, seed++, DType::Float64);
    Tensor w = random_tensor({g.OC, g.C, g.KH, g.KW}, seed++, DType::Float64);
    Tensor y = random_tensor({g.N, g.OC, g.OH(), g.OW()}, seed++, DType::Float64);
    const double lhs = dot(ops::conv2d(x, w, Tensor(), g.opt()), y);
    const double rhs = dot(x, ops::conv2d_backward_input(y, w, x.shape(), g.opt()));
    EXPECT_NEAR(lhs, rhs, 1e-10 * (1 + std::abs(lhs))) << describe(g);
  }
  for (const TGeom& t : kTransposedCases) {
    if (t.output_padding[0] >= t.stride[0] || t.output_padding[1] >= t.stride[1]) continue;  // conv2d is larger
    // conv_transpose2d: (N, IC, H, W) -> (N, OC, OH, OW); conv2d with the same W maps back.
    Tensor a = random_tensor({t.N, t.IC, t.H, t.W}, seed++, DType::Float64);
    Tensor w = random_tensor({t.IC, t.OC, t.KH, t.KW}, seed++, DType::Float64);
    Tensor z = random_tensor({t.N, t.OC, t.OH(), t.OW()}, seed++, DType::Float64);
    Conv2dOptions conv_opt{t.stride, t.padding, t.dilation, {0, 0}};
    Tensor cz = ops::conv2d(z, w, Tensor(), conv_opt);
    ASSERT_EQ(cz.shape(), a.shape()) << describe(t);
    const double lhs = dot(ops::conv_transpose2d(a, w, Tensor(), t.opt()), z);
    const double rhs = dot(a, cz);
    EXPECT_NEAR(lhs, rhs, 1e-10 * (1 + std::abs(lhs))) << describe(t);
    // And with output_padding 0 it is literally conv2d_backward_input.
    if (t.output_padding[0] == 0 && t.output_padding[1] == 0) {
      Tensor bi = ops::conv2d_backward_input(a, w, {t.N, t.OC, t.OH(), t.OW()}, conv_opt);
      Tensor tc = ops::conv_transpose2d(a, w, Tensor(), t.opt());
      EXPECT_EQ(bi.to_vector<double>(), tc.to_vector<double>()) << describe(t);
    }
  }
}

// Every kernel gives the same bits with 1 and 2 OpenMP threads, for shapes that
// take the chunked path, the one-image-per-GEMM path, and many chunks (which
// 2 threads run side by side, each with a serial GEMM).
TEST(Conv, SameBitsForAnyThreadCount) {
  const int saved = omp_get_max_threads();
  struct Run {
    std::vector<float> y, dx, dw, ty;
  };
  auto run_all = [](int threads, const Geom& g, const TGeom& t) {
    omp_set_num_threads(threads);
    Tensor x = random_tensor({g.N, g.C, g.H, g.W}, 1, DType::Float32);
    Tensor w = random_tensor({g.OC, g.C, g.KH, g.KW}, 2, DType::Float32);
    Tensor b = random_tensor({g.OC}, 3, DType::Float32);
    Tensor dy = random_tensor({g.N, g.OC, g.OH(), g.OW()}, 4, DType::Float32);
    Tensor tx = random_tensor({t.N, t.IC, t.H, t.W}, 5, DType::Float32);
    Tensor tw = random_tensor({t.IC, t.OC, t.KH, t.KW}, 6, DType::Float32);
    Tensor tb = random_tensor({t.OC}, 7, DType::Float32);
    Run r;
    r.y = ops::conv2d(x, w, b, g.opt()).to_vector<float>();
    r.dx = ops::conv2d_backward_input(dy, w, x.shape(), g.opt()).to_vector<float>();
    r.dw = ops::conv2d_backward_weight(dy, x, w.shape(), g.opt()).to_vector<float>();
    r.ty = ops::conv_transpose2d(tx, tw, tb, t.opt()).to_vector<float>();
    return r;
  };
  const std::vector<std::pair<Geom, TGeom>> cases = {
      {{6, 16, 20, 20, 24, 3, 3, {1, 1}, {1, 1}, {1, 1}}, {8, 32, 8, 8, 16, 4, 4, {2, 2}, {1, 1}, {1, 1}, {0, 0}}},
      {{2, 8, 40, 36, 12, 4, 4, {2, 2}, {1, 1}, {1, 1}}, {2, 16, 32, 33, 6, 4, 4, {2, 2}, {1, 1}, {1, 1}, {1, 1}}},
      // many chunks: with 2 threads whole chunks run in parallel, with 1 one after another
      {{9, 3, 34, 32, 8, 3, 3, {1, 1}, {1, 1}, {1, 1}}, {9, 4, 32, 32, 3, 4, 4, {2, 2}, {1, 1}, {1, 1}, {0, 0}}},
  };
  for (const auto& [g, t] : cases) {
    Run one = run_all(1, g, t);
    Run two = run_all(2, g, t);
    EXPECT_EQ(one.y, two.y) << describe(g);
    EXPECT_EQ(one.dx, two.dx) << describe(g);
    EXPECT_EQ(one.dw, two.dw) << describe(g);
    EXPECT_EQ(one.ty, two.ty) << describe(t);
  }
  omp_set_num_threads(saved);
}

namespace {
// Runs f, expecting a loom::Error whose message contains every string in `parts`.
template <class F>
void expect_error(F f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected loom::Error containing '" << parts[0] << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg;
  }
}
}  // namespace

TEST(Conv, BadArgumentsGiveClearErrors) {
  Tensor x = Tensor::zeros({2, 4, 8, 8});
  Tensor w3 = Tensor::zeros({64, 3, 4, 4});
  Tensor w = Tensor::zeros({6, 4, 3, 3});
  Conv2dOptions opt;
  expect_error([&] { ops::conv2d(x, w3, Tensor(), opt); },
               {"conv2d", "input has 4 channels, weight expects 3", "[64, 3, 4, 4]"});
  expect_error([&] { ops::conv2d(Tensor::zeros({4, 8, 8}), w, Tensor(), opt); }, {"conv2d", "4 dims", "[4, 8, 8]"});
  expect_error([&] { ops::conv2d(x, Tensor::zeros({6, 4, 3}), Tensor(), opt); }, {"conv2d", "weight", "4 dims"});
  expect_error([&] { ops::conv2d(x, Tensor::zeros({6, 4, 9, 3}), Tensor(), opt); },
               {"conv2d", "larger than the padded input", "9x3", "8x8"});
  Conv2dOptions dil;
  dil.dilation = {4, 1};
  expect_error([&] { ops::conv2d(x, w, Tensor(), dil); }, {"conv2d", "larger than the padded input", "9x3"});
  expect_error([&] { ops::conv2d(x, w, Tensor::zeros({5}), opt); }, {"conv2d", "bias", "[6]", "[5]"});
  expect_error([&] { ops::conv2d(x, w, Tensor::zeros({6}, DType::Float64), opt); }, {"conv2d", "dtype"});
  expect_error([&] { ops::conv2d(x, Tensor::zeros({6, 4, 3, 3}, DType::Float64), Tensor(), opt); },
               {"conv2d", "dtype"});
  expect_error([&] { ops::conv2d(Tensor::zeros({2, 4, 8, 8}, DType::Int64), w, Tensor(), opt); },
               {"conv2d", "float32 or float64"});
  Conv2dOptions s0;
  s0.stride = {0, 1};
  expect_error([&] { ops::conv2d(x, w, Tensor(), s0); }, {"conv2d", "stride must be positive"});
  Conv2dOptions negpad;
  negpad.padding = {-1, 0};
  expect_error([&] { ops::conv2d(x, w, Tensor(), negpad); }, {"conv2d", "padding"});
  Conv2dOptions op1;
  op1.output_padding = {1, 1};
  expect_error([&] { ops::conv2d(x, w, Tensor(), op1); }, {"conv2d", "output_padding"});
  // backward kernels: grad_out must have the conv's output shape.
  expect_error([&] { ops::conv2d_backward_input(Tensor::zeros({2, 6, 7, 6}), w, x.shape(), opt); },
               {"conv2d_backward_input", "grad_out", "[2, 6, 7, 6]", "[2, 6, 6, 6]"});
  expect_error([&] { ops::conv2d_backward_weight(Tensor::zeros({2, 6, 6, 6}), x, {6, 3, 3, 3}, opt); },
               {"conv2d_backward_weight", "input has 4 channels, weight expects 3"});

  // conv_transpose2d: weight is (in_channels, out_channels, KH, KW).
  Tensor tx = Tensor::zeros({2, 8, 4, 4});
  expect_error([&] { ops::conv_transpose2d(tx, Tensor::zeros({4, 8, 4, 4}), Tensor(), opt); },
               {"conv_transpose2d", "input has 8 channels, weight expects 4", "in_channels, out_channels"});
  Conv2dOptions big_op;
  big_op.stride = {2, 2};
  big_op.output_padding = {2, 0};
  expect_error([&] { ops::conv_transpose2d(tx, Tensor::zeros({8, 3, 4, 4}), Tensor(), big_op); },
               {"conv_transpose2d", "output_padding [2, 0]", "stride [2, 2]", "dilation [1, 1]"});
  Conv2dOptions crop;
  crop.padding = {3, 0};
  expect_error([&] { ops::conv_transpose2d(Tensor::zeros({2, 8, 1, 1}), Tensor::zeros({8, 3, 4, 4}), Tensor(), crop); },
               {"conv_transpose2d", "output size would be", "positive"});
  expect_error([&] { ops::conv_transpose2d(tx, Tensor::zeros({8, 3, 4, 4}), Tensor::zeros({8}), opt); },
               {"conv_transpose2d", "bias", "[3]", "[8]"});
}
