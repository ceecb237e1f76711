// test_grad_norm_pool.cpp: finite-difference gradchecks (tests/gradcheck.h) of
// batch_norm (train and eval, with and without affine, 2-D and 4-D),
// instance_norm, max/avg/adaptive pooling, nearest and bilinear upsampling,
// cat, stack and pad2d, on small odd shapes with non-contiguous inputs.
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "gradcheck.h"
#include "kernels/ops.h"
#include "tensor/random.h"

using namespace loom;
using loom::testing::gradcheck;
using loom::testing::leaf;
using loom::testing::transposed_leaf;

namespace {
using Ts = std::vector<Tensor>;

// A leaf whose values are a random permutation of 0.1, 0.2, ...: no near-ties,
// so max pooling's choice is stable under the finite-difference step.
Tensor distinct_leaf(const Shape& shape, Generator& g, bool transposed) {
  Shape dense = shape;
  if (transposed) std::swap(dense[dense.size() - 1], dense[dense.size() - 2]);
  Tensor perm = randperm(numel_of(shape), g).to(DType::Float64).reshape(dense);
  Tensor t = ops::add_scalar(ops::mul_scalar(perm, 0.1), 0.1);
  if (transposed) t = t.transpose(-1, -2).detach();
  t.requires_grad_();
  return t;
}
}  // namespace

TEST(GradNormPool, BatchNormTrain) {
  Generator g(1);
  // (N, C) and (N, C, H, W), affine and not; the 4-D input is a transposed view
  for (const Shape& shape : {Shape{5, 3}, Shape{3, 2, 3, 4}}) {
    Tensor x = shape.size() == 4 ? transposed_leaf(shape, g) : leaf(shape, g);
    Tensor w = leaf({shape[1]}, g, 0.5, 1.5), b = leaf({shape[1]}, g);
    EXPECT_TRUE(gradcheck([](const Ts& in) { return batch_norm(in[0], in[1], in[2], Tensor(), Tensor(), true); },
                          {x, w, b}));
    EXPECT_TRUE(gradcheck([](const Ts& in) { return batch_norm(in[0], Tensor(), Tensor(), Tensor(), Tensor(), true); },
                          {x}));
    // with running statistics being updated on every call (they must not change y or its gradient)
    Tensor rm = Tensor::zeros({shape[1]}, DType::Float64), rv = Tensor::ones({shape[1]}, DType::Float64);
    EXPECT_TRUE(gradcheck([&](const Ts& in) { return batch_norm(in[0], in[1], Tensor(), rm, rv, true, 0.3); }, {x, w}));
  }
}

TEST(GradNormPool, BatchNormEval) {
  Generator g(2);
  for (const Shape& shape : {Shape{4, 3}, Shape{2, 3, 3, 2}}) {
    const int64_t C = shape[1];
    Tensor x = shape.size() == 4 ? transposed_leaf(shape, g) : leaf(shape, g);
    Tensor w = leaf({C}, g), b = leaf({C}, g);
    Tensor rm = randn({C}, g, DType::Float64), rv = uniform({C}, 0.5, 2.0, g, DType::Float64);
    EXPECT_TRUE(gradcheck([&](const Ts& in) { return batch_norm(in[0], in[1], in[2], rm, rv, false); }, {x, w, b}));
    EXPECT_TRUE(gradcheck([&](const Ts& in) { return batch_norm(in[0], Tensor(), Tensor(), rm, rv, false); }, {x}));
    EXPECT_TRUE(gradcheck([&](const Ts& in) { return batch_norm(in[0], in[1], Tensor(), rm, rv, false); }, {x, w}));
  }
}

TEST(GradNormPool, InstanceNorm) {
  Generator g(3);
  Tensor x = transposed_leaf({2, 3, 3, 4}, g);
  Tensor w = leaf({3}, g), b = leaf({3}, g);
  EXPECT_TRUE(gradcheck([](const Ts& in) { return instance_norm(in[0], in[1], in[2]); }, {x, w, b}));
  EXPECT_TRUE(gradcheck([](const Ts& in) { return instance_norm(in[0]); }, {x}));
  Tensor x3 = leaf({2, 2, 5}, g);  // (N, C, L)
  EXPECT_TRUE(gradcheck([](const Ts& in) { return instance_norm(in[0], in[1]); }, {x3, leaf({2}, g)}));
}

TEST(GradNormPool, MaxPool) {
  Generator g(4);
  Tensor x = distinct_leaf({2, 2, 7, 6}, g, /*transposed=*/true);
  EXPECT_TRUE(gradcheck([](const Ts& in) { return max_pool2d(in[0], 3, 2, 1); }, {x}));  // padding, stride != kernel
  EXPECT_TRUE(gradcheck([](const Ts& in) { return max_pool2d(in[0], 2); }, {x}));
  EXPECT_TRUE(gradcheck([](const Ts& in) { return max_pool2d(in[0], 3, 1, 0); }, {x}));  // overlapping windows
}

TEST(GradNormPool, AvgAndAdaptivePool) {
  Generator g(5);
  Tensor x = transposed_leaf({2, 2, 6, 5}, g);
  EXPECT_TRUE(gradcheck([](const Ts& in) { return avg_pool2d(in[0], 3, 2, 1, true); }, {x}));
  EXPECT_TRUE(gradcheck([](const Ts& in) { return avg_pool2d(in[0], 3, 2, 1, false); }, {x}));
  EXPECT_TRUE(gradcheck([](const Ts& in) { return avg_pool2d(in[0], 2); }, {x}));
  EXPECT_TRUE(gradcheck([](const Ts& in) { return adaptive_avg_pool2d(in[0], 1); }, {x}));
  Tensor x2 = leaf({1, 2, 4, 6}, g);
  EXPECT_TRUE(gradcheck([](const Ts& in) { return adaptive_avg_pool2d(in[0], 2); }, {x2}));
}

TEST(GradNormPool, Upsample) {
  Generator g(6);
  Tensor x = transposed_leaf({2, 2, 3, 4}, g);
  EXPECT_TRUE(gradcheck([](const Ts& in) { return upsample_nearest(in[0], 6, 8); }, {x}));
  EXPECT_TRUE(gradcheck([](const Ts& in) { return upsample_nearest(in[0], 5, 3); }, {x}));
  for (bool ac : {false, true}) {
    EXPECT_TRUE(gradcheck([ac](const Ts& in) { return upsample_bilinear(in[0], 7, 5, ac); }, {x})) << ac;
    EXPECT_TRUE(gradcheck([ac](const Ts& in) { return upsample_bilinear(in[0], 2, 3, ac); }, {x})) << ac;
  }
}

TEST(GradNormPool, CatStackPad) {
  Generator g(7);
  Tensor a = transposed_leaf({2, 3, 4}, g), b = leaf({2, 2, 4}, g), c = leaf({2, 3, 4}, g);
  EXPECT_TRUE(gradcheck([](const Ts& in) { return cat({in[0], in[1]}, 1); }, {a, b}));
  EXPECT_TRUE(gradcheck([](const Ts& in) { return cat({in[0], in[1] * in[1], in[0]}, -2); }, {a, b}));
  EXPECT_TRUE(gradcheck([](const Ts& in) { return stack({in[0], in[1]}, 1); }, {a, c}));
  Tensor x = transposed_leaf({2, 2, 4, 5}, g);
  EXPECT_TRUE(gradcheck([](const Ts& in) { return pad2d(in[0], {1, 2, 3, 0}, PadMode::Zero); }, {x}));
  EXPECT_TRUE(gradcheck([](const Ts& in) { return pad2d(in[0], {-1, 2, 0, -1}, PadMode::Zero); }, {x}));
  EXPECT_TRUE(gradcheck([](const Ts& in) { return pad2d(in[0], {3, 2, 1, 3}, PadMode::Reflect); }, {x}));
}

TEST(GradNormPool, ComposedNetworkPieces) {
  // a small conv-free stack of the pieces, as a generator would chain them
  Generator g(8);
  Tensor x = transposed_leaf({2, 3, 4, 4}, g);
  Tensor w = leaf({3}, g, 0.5, 1.5), b = leaf({3}, g);
  EXPECT_TRUE(gradcheck(
      [](const Ts& in) {
        Tensor h = batch_norm(in[0], in[1], in[2], Tensor(), Tensor(), true);
        h = upsample_bilinear(pad2d(h, {1, 1, 1, 1}, PadMode::Reflect), 5, 5);
        return avg_pool2d(cat({h, instance_norm(h)}, 1), 2, 1);
      },
      {x, w, b}));
}
