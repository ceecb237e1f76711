// test_shape_ops.cpp: cat, stack, pad2d (zero and reflect) and its backward,
// one_hot: against naive loops written here, thread-count independence, and
// the errors for bad input.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
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

// Naive pad of (P, H, W): out[p, oh, ow] = x[p, i, j] with i = oh - top,
// j = ow - left, mirrored (reflect) or zero outside.
std::vector<double> ref_pad(const std::vector<double>& x, int64_t P, int64_t H, int64_t W, const Pad2d& pad,
                            PadMode mode, int64_t& OH, int64_t& OW) {
  OH = H + pad[2] + pad[3];
  OW = W + pad[0] + pad[1];
  std::vector<double> out(P * OH * OW, 0.0);
  auto mirror = [](int64_t i, int64_t n) {
    if (i < 0) return -i;
    if (i >= n) return 2 * n - 2 - i;
    return i;
  };
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t i = oh - pad[2], j = ow - pad[0];
        if (mode == PadMode::Reflect) {
          i = mirror(i, H);
          j = mirror(j, W);
        } else if (i < 0 || i >= H || j < 0 || j >= W) {
          continue;
        }
        out[(p * OH + oh) * OW + ow] = x[(p * H + i) * W + j];
      }
  return out;
}

}  // namespace

TEST(ShapeOps, CatAlongEveryDim) {
  Generator gen(1);
  for (DType dt : {DType::Float32, DType::Float64}) {
    Tensor a = randn({2, 3, 4}, gen, dt);
    Tensor b_base = randn({4, 2, 5}, gen, dt);
    Tensor b = b_base.permute({1, 2, 0});  // (2, 5, 4), non-contiguous
    Tensor c = randn({2, 1, 4}, gen, dt);
    Tensor y = ops::cat({a, b, c}, 1);
    EXPECT_EQ(y.shape(), (Shape{2, 9, 4}));
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t k = 0; k < 9; ++k)
        for (int64_t w = 0; w < 4; ++w) {
          const double ref = k < 3 ? a.at({n, k, w}) : k < 8 ? b.at({n, k - 3, w}) : c.at({n, 0, w});
          ASSERT_EQ(y.at({n, k, w}), ref) << n << " " << k << " " << w;
        }
    // dim 0 and a negative dim
    Tensor y0 = ops::cat({a, a}, 0);
    EXPECT_EQ(y0.shape(), (Shape{4, 3, 4}));
    EXPECT_EQ(y0.at({3, 2, 1}), a.at({1, 2, 1}));
    Tensor yl = ops::cat({a, randn({2, 3, 2}, gen, dt)}, -1);
    EXPECT_EQ(yl.shape(), (Shape{2, 3, 6}));
    EXPECT_EQ(yl.at({1, 2, 3}), a.at({1, 2, 3}));
  }
  // integer tensors concatenate too
  Tensor i = ops::cat({Tensor::arange(2, DType::Int64), Tensor::arange(3, DType::Int64)}, 0);
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 0, 1, 2}));
}

TEST(ShapeOps, StackAddsADim) {
  Tensor a = Tensor::from_vector<double>({1, 2, 3}, {3}), b = Tensor::from_vector<double>({4, 5, 6}, {3});
  Tensor s0 = stack({a, b}, 0);
  EXPECT_EQ(s0.shape(), (Shape{2, 3}));
  EXPECT_EQ(s0.to_vector<double>(), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  Tensor s1 = stack({a, b}, -1);
  EXPECT_EQ(s1.shape(), (Shape{3, 2}));
  EXPECT_EQ(s1.to_vector<double>(), (std::vector<double>{1, 4, 2, 5, 3, 6}));
  expect_error_containing([&] { stack({a, Tensor::zeros({4}, DType::Float64)}, 0); }, "same shape");
}

TEST(ShapeOps, CatErrors) {
  Tensor a = Tensor::zeros({2, 3});
  expect_error_containing([] { ops::cat({}, 0); }, "at least one");
  expect_error_containing([&] { ops::cat({a, Tensor::zeros({2, 3}, DType::Float64)}, 0); }, "float64");
  expect_error_containing([&] { ops::cat({a, Tensor::zeros({3, 3})}, 1); }, "[3, 3]");
  expect_error_containing([&] { ops::cat({a, Tensor::zeros({2, 3, 1})}, 0); }, "number of dims");
  expect_error_containing([&] { ops::cat({a, a}, 2); }, "cat");
}

TEST(ShapeOps, Pad2dMatchesNaive) {
  Generator gen(2);
  const std::vector<Pad2d> pads = {{1, 2, 3, 0}, {0, 0, 0, 0}, {2, 2, 2, 2}, {3, 1, 0, 4}};
  for (DType dt : {DType::Float32, DType::Float64})
    for (PadMode mode : {PadMode::Zero, PadMode::Reflect})
      for (const Pad2d& pad : pads) {
        Tensor x = randn({2, 3, 5, 4}, gen, dt);
        int64_t OH, OW;
        const std::vector<double> ref = ref_pad(x.to_vector<double>(), 6, 5, 4, pad, mode, OH, OW);
        Tensor y = ops::pad2d(x, pad, mode);
        EXPECT_EQ(y.shape(), (Shape{2, 3, OH, OW}));
        expect_close(y, ref, 0, 0, "pad2d");
        // backward: naive scatter of g through the same index map
        Tensor g = randn(y.shape(), gen, dt);
        const std::vector<double> gv = g.to_vector<double>();
        // the map is the pad of the input positions, so pad an index grid
        std::vector<double> positions(6 * 20);
        for (size_t i = 0; i < positions.size(); ++i) positions[i] = static_cast<double>(i);
        const std::vector<double> src = ref_pad(positions, 6, 5, 4, pad, mode, OH, OW);
        std::vector<double> gx(6 * 20, 0.0);
        for (int64_t p = 0; p < 6; ++p)
          for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
              const int64_t o = (p * OH + oh) * OW + ow;
              const int64_t i = oh - pad[2], j = ow - pad[0];
              if (mode == PadMode::Zero && (i < 0 || i >= 5 || j < 0 || j >= 4)) continue;
              gx[static_cast<int64_t>(src[o])] += gv[o];
            }
        const double tol = dt == DType::Float32 ? 1e-6 : 1e-14;
        expect_close(ops::pad2d_backward(g, x.shape(), pad, mode), gx, tol, tol, "pad2d_backward");
      }
}

TEST(ShapeOps, Pad2dKnownValuesAndCrop) {
  Tensor x = Tensor::from_vector<double>({1, 2, 3}, {1, 3});
  // PyTorch F.pad(x, (2, 2), mode='reflect') on [1, 2, 3] gives [3, 2, 1, 2, 3, 2, 1]
  EXPECT_EQ(ops::pad2d(x, {2, 2, 0, 0}, PadMode::Reflect).to_vector<double>(),
            (std::vector<double>{3, 2, 1, 2, 3, 2, 1}));
  EXPECT_EQ(ops::pad2d(x, {1, 0, 1, 0}, PadMode::Zero).to_vector<double>(),
            (std::vector<double>{0, 0, 0, 0, 0, 1, 2, 3}));
  // a negative zero-pad crops
  EXPECT_EQ(ops::pad2d(x, {-1, 0, 0, 0}, PadMode::Zero).to_vector<double>(), (std::vector<double>{2, 3}));
  // uint8 images pad too
  Tensor u = Tensor::from_vector<uint8_t>({7, 8}, {1, 2});
  EXPECT_EQ(ops::pad2d(u, {1, 1, 0, 0}, PadMode::Reflect).to_vector<uint8_t>(), (std::vector<uint8_t>{8, 7, 8, 7}));
}

TEST(ShapeOps, Pad2dErrors) {
  Tensor x = Tensor::zeros({1, 1, 3, 4});
  expect_error_containing([&] { ops::pad2d(x, {0, 0, 3, 0}, PadMode::Reflect); }, "smaller than");
  expect_error_containing([&] { ops::pad2d(x, {4, 0, 0, 0}, PadMode::Reflect); }, "smaller than");
  expect_error_containing([&] { ops::pad2d(x, {-1, 0, 0, 0}, PadMode::Reflect); }, "non-negative");
  expect_error_containing([&] { ops::pad2d(x, {-2, -2, 0, 0}, PadMode::Zero); }, "empty output");
  expect_error_containing([] { ops::pad2d(Tensor::zeros({4}), {1, 1, 1, 1}, PadMode::Zero); }, "at least 2 dims");
  expect_error_containing(
      [&] { ops::pad2d_backward(Tensor::zeros({1, 1, 3, 4}), x.shape(), {1, 1, 1, 1}, PadMode::Zero); }, "grad_out");
}

TEST(ShapeOps, Pad2dThreadCountIndependent) {
  Generator gen(3);
  Tensor g = randn({8, 8, 34, 34}, gen, DType::Float32);
  const int saved = omp_get_max_threads();
  std::vector<std::vector<float>> runs;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    runs.push_back(ops::pad2d_backward(g, {8, 8, 32, 32}, {1, 1, 1, 1}, PadMode::Reflect).to_vector<float>());
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(runs[0], runs[1]);
}

TEST(ShapeOps, OneHot) {
  Tensor labels = Tensor::from_vector<int64_t>({2, 0, 1, 2}, {2, 2});
  Tensor h = ops::one_hot(labels, 3, DType::Float32);
  EXPECT_EQ(h.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(h.dtype(), DType::Float32);
  EXPECT_EQ(h.to_vector<float>(), (std::vector<float>{0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1}));
  EXPECT_EQ(ops::one_hot(labels, -1, DType::Int64).shape(), (Shape{2, 2, 3}));  // inferred: max + 1
  EXPECT_EQ(ops::one_hot(labels, 4, DType::UInt8).to_vector<uint8_t>(),
            (std::vector<uint8_t>{0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0}));
  // a non-contiguous label view
  Tensor lt = labels.transpose(0, 1);  // [[2, 1], [0, 2]]
  EXPECT_EQ(ops::one_hot(lt, 3, DType::Float64).to_vector<double>(),
            (std::vector<double>{0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 1}));
  expect_error_containing([&] { ops::one_hot(labels, 2, DType::Float32); }, "label 2");
  expect_error_containing([] { ops::one_hot(Tensor::from_vector<int64_t>({-1}, {1}), 3, DType::Float32); },
                          "label -1");
  expect_error_containing([] { ops::one_hot(Tensor::zeros({2}), 3, DType::Float32); }, "int64");
}
