// test_grad_linalg.cpp: gradients of loom::matmul and loom::linear by
// finite-difference gradcheck (float64, small odd shapes, transposed and
// permuted inputs, batch broadcasting of (B, M, K) @ (K, N)), the values of
// linear against plain loops, and the errors for bad shapes.
#include <gtest/gtest.h>

#include <string>

#include "autograd/functions.h"
#include "tests/gradcheck.h"

using namespace loom;
using loom::testing::gradcheck;
using loom::testing::leaf;
using loom::testing::transposed_leaf;

TEST(GradLinalg, Matmul2D) {
  Generator g(1);
  Tensor a = leaf({3, 5}, g), b = leaf({5, 4}, g);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); }, {a, b}));
}

TEST(GradLinalg, Matmul2DTransposedInputs) {
  Generator g(2);
  Tensor a = transposed_leaf({4, 3}, g), b = transposed_leaf({3, 5}, g);  // non-contiguous leaves
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); }, {a, b}));
  // A transpose taken inside f (a recorded view).
  Tensor c = leaf({6, 2}, g), d = leaf({6, 3}, g);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& x) { return matmul(x[0].transpose(0, 1), x[1]); }, {c, d}));
}

TEST(GradLinalg, MatmulBatched) {
  Generator g(3);
  Tensor a = leaf({2, 3, 4}, g), b = leaf({2, 4, 5}, g);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); }, {a, b}));
  Tensor c = transposed_leaf({3, 2, 5}, g), d = leaf({3, 5, 2}, g);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); }, {c, d}));
}

TEST(GradLinalg, MatmulBatchTimes2DSumsOverBatch) {
  Generator g(4);
  Tensor a = leaf({3, 2, 4}, g), b = leaf({4, 5}, g);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); }, {a, b}));
  // a whose batch and row dims do not merge (a permuted view), b transposed.
  Tensor c = leaf({2, 3, 4}, g), d = transposed_leaf({4, 3}, g);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& x) { return matmul(x[0].permute({1, 0, 2}), x[1]); }, {c, d}));
}

TEST(GradLinalg, MatmulOnlyOneInputRequiresGrad) {
  Generator g(5);
  Tensor a = leaf({3, 4}, g);
  Tensor b = randn({4, 2}, g, DType::Float64);  // constant
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& x) { return matmul(x[0], b); }, {a}));
  Tensor y = matmul(a, b);
  sum(y).backward();
  EXPECT_FALSE(b.grad().defined());
}

TEST(GradLinalg, LinearWithBias) {
  Generator g(6);
  Tensor x = leaf({3, 5}, g), w = leaf({4, 5}, g), bias = leaf({4}, g);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return linear(t[0], t[1], t[2]); }, {x, w, bias}));
}

TEST(GradLinalg, LinearWithoutBias) {
  Generator g(7);
  Tensor x = leaf({2, 3}, g), w = transposed_leaf({5, 3}, g);  // non-contiguous weight
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return linear(t[0], t[1]); }, {x, w}));
}

TEST(GradLinalg, Linear3DAnd1DInputs) {
  Generator g(8);
  Tensor x = leaf({2, 3, 5}, g), w = leaf({4, 5}, g), bias = leaf({4}, g);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return linear(t[0], t[1], t[2]); }, {x, w, bias}));
  // A non-contiguous 3-D input (its reshape to rows must copy).
  Tensor xt = transposed_leaf({2, 3, 5}, g);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return linear(t[0], t[1], t[2]); }, {xt, w, bias}));
  Tensor v = leaf({5}, g);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return linear(t[0], t[1], t[2]); }, {v, w, bias}));
}

TEST(GradLinalg, LinearValuesMatchLoops) {
  Generator g(9);
  Tensor x = randn({2, 3, 7}, g), w = randn({5, 7}, g), bias = randn({5}, g);
  Tensor y = linear(x, w, bias);
  ASSERT_EQ(y.shape(), (Shape{2, 3, 5}));
  const std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = bias.to_vector<double>();
  const std::vector<double> yv = y.to_vector<double>();
  for (int64_t r = 0; r < 6; ++r)
    for (int64_t o = 0; o < 5; ++o) {
      double s = bv[o];
      for (int64_t i = 0; i < 7; ++i) s += xv[r * 7 + i] * wv[o * 7 + i];  // y = x W^T + b
      EXPECT_NEAR(yv[r * 5 + o], s, 1e-5) << r << ", " << o;
    }
}

namespace {
template <class F>
void expect_error(F f, const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "expected loom::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const std::string& s : fragments) EXPECT_NE(msg.find(s), std::string::npos) << "'" << s << "' not in: " << msg;
  }
}
}  // namespace

TEST(GradLinalg, BadShapesGiveClearErrors) {
  Tensor x = Tensor::zeros({2, 16}), w = Tensor::zeros({12, 12});
  expect_error([&] { linear(x, w); }, {"linear", "16", "[2, 16]", "12", "[12, 12]"});
  expect_error([&] { linear(x, Tensor::zeros({16})); }, {"linear", "weight", "[16]"});
  expect_error([&] { linear(x, Tensor::zeros({4, 16}), Tensor::zeros({5})); }, {"linear", "bias", "[5]", "[4, 16]"});
  expect_error([&] { linear(x, Tensor::zeros({4, 16}, DType::Float64)); }, {"float32", "float64"});
  expect_error([&] { matmul(Tensor::zeros({2, 3}), Tensor::zeros({2, 3})); }, {"matmul", "[2, 3]"});
  expect_error([&] { matmul(Tensor::zeros({2}), Tensor::zeros({2, 3})); }, {"matmul", "[2]"});
}
