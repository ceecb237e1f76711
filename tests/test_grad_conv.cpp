// test_grad_conv.cpp: finite-difference gradchecks (float64) of the
// differentiable conv2d and conv_transpose2d (autograd/conv.cpp): with and
// without bias, strides, paddings, dilations, output_padding (also the case
// output_padding >= stride), non-square options, non-contiguous inputs, and
// only some inputs requiring grad. Small odd shapes keep them fast.
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "tests/gradcheck.h"

using namespace loom;
using loom::testing::gradcheck;
using loom::testing::leaf;
using loom::testing::transposed_leaf;

namespace {
Conv2dOptions options(Pair stride, Pair padding, Pair dilation, Pair output_padding = {0, 0}) {
  return Conv2dOptions{stride, padding, dilation, output_padding};
}
}  // namespace

TEST(GradConv, Conv2dWithBiasStridePadding) {
  Generator g(11);
  Tensor x = leaf({2, 3, 5, 6}, g), w = leaf({4, 3, 3, 3}, g), b = leaf({4}, g);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 2, 1); }, {x, w, b}));
}

TEST(GradConv, Conv2dNoBiasNonSquareDilated) {
  Generator g(12);
  Tensor x = leaf({2, 2, 7, 6}, g), w = leaf({3, 2, 2, 3}, g);
  const Conv2dOptions opt = options({2, 1}, {1, 2}, {2, 1});
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], Tensor(), opt); }, {x, w}));
}

TEST(GradConv, Conv2dNonContiguousInputAndWeight) {
  Generator g(13);
  Tensor x = transposed_leaf({2, 3, 5, 4}, g);  // (N, C, H, W) as a transposed view
  Tensor w = leaf({3, 3, 3, 3}, g), b = leaf({3}, g);
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& in) {
        // the weight enters as a permuted (non-contiguous) view too
        return conv2d(in[0], in[1].permute({1, 0, 2, 3}), in[2], 1, 1, 2);
      },
      {x, w, b}));
}

// The kernel covers the whole image (DCGAN's last layer): the fully connected path.
TEST(GradConv, Conv2dKernelCoversImage) {
  Generator g(15);
  Tensor x = leaf({3, 2, 4, 3}, g), w = leaf({2, 2, 4, 3}, g), b = leaf({2}, g);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2]); }, {x, w, b}));
}

TEST(GradConv, Conv2dOnlyWeightRequiresGrad) {
  Generator g(14);
  Tensor x = randn({2, 2, 5, 5}, g, DType::Float64);  // data: no gradient wanted
  Tensor w = leaf({3, 2, 3, 3}, g), b = leaf({3}, g);
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return conv2d(x, in[0], in[1], 2, 0); }, {w, b}));
  EXPECT_FALSE(x.grad().defined());
}

TEST(GradConv, ConvTranspose2dWithBiasStride2Padding) {
  Generator g(21);
  Tensor x = leaf({2, 3, 3, 4}, g), w = leaf({3, 2, 4, 4}, g), b = leaf({2}, g);
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], in[2], 2, 1); }, {x, w, b}));
}

TEST(GradConv, ConvTranspose2dOutputPadding) {
  Generator g(22);
  Tensor x = leaf({2, 2, 3, 3}, g), w = leaf({2, 3, 3, 3}, g), b = leaf({3}, g);
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], in[2], 2, 1, 1); }, {x, w, b}));
}

TEST(GradConv, ConvTranspose2dFrom1x1NoBias) {
  Generator g(23);
  Tensor x = leaf({2, 3, 1, 1}, g), w = leaf({3, 2, 4, 4}, g);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1]); }, {x, w}));
}

TEST(GradConv, ConvTranspose2dNonSquareDilated) {
  Generator g(24);
  Tensor x = leaf({1, 2, 3, 4}, g), w = leaf({2, 2, 2, 3}, g), b = leaf({2}, g);
  const Conv2dOptions opt = options({2, 3}, {1, 0}, {2, 1}, {1, 2});
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], in[2], opt); },
                        {x, w, b}));
}

// output_padding 1 with stride 1 is allowed because the dilation is 2: conv(g, W)
// is then one row/column larger than x and the backward crops it.
TEST(GradConv, ConvTranspose2dOutputPaddingAboveStride) {
  Generator g(25);
  Tensor x = leaf({2, 2, 3, 4}, g), w = leaf({2, 2, 3, 3}, g), b = leaf({2}, g);
  const Conv2dOptions opt = options({1, 1}, {1, 1}, {2, 2}, {1, 1});
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], in[2], opt); },
                        {x, w, b}));
}

TEST(GradConv, ConvTranspose2dNonContiguousInput) {
  Generator g(26);
  Tensor x = transposed_leaf({2, 3, 4, 3}, g);
  Tensor w = leaf({3, 2, 3, 3}, g);
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], Tensor(), 2, 1, 1, 1); }, {x, w}));
}

// The DCGAN pattern: transposed conv feeding a conv, gradient through both.
TEST(GradConv, ConvTransposeThenConv) {
  Generator g(27);
  Tensor z = leaf({2, 3, 2, 2}, g), wt = leaf({3, 2, 4, 4}, g), wc = leaf({2, 2, 4, 4}, g);
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& in) {
        Tensor h = conv_transpose2d(in[0], in[1], Tensor(), 2, 1);  // 2x2 -> 4x4
        return conv2d(tanh(h), in[2], Tensor(), 2, 1);              // 4x4 -> 2x2
      },
      {z, wt, wc}));
}
