// test_grad_loss.cpp: finite-difference gradchecks (float64) of every loss and
// statistic of autograd/loss.cpp, on small odd shapes, with non-contiguous
// inputs, every reduction, and gradients with respect to targets where PyTorch
// gives them (bce, bce_with_logits, dice). Also the exact gradient of
// bce_with_logits at logit 0, where the finite difference is exact too.
#include <gtest/gtest.h>

#include "gradcheck.h"

using namespace loom;
using loom::testing::gradcheck;
using loom::testing::leaf;
using loom::testing::transposed_leaf;
using V = std::vector<Tensor>;

namespace {
const Reduction kReductions[] = {Reduction::Mean, Reduction::Sum, Reduction::None};
}

TEST(GradLoss, BceWithLogits) {
  Generator g(31);
  Tensor logits = transposed_leaf({3, 5}, g);  // non-contiguous
  Tensor target = leaf({3, 5}, g, 0.0, 1.0);
  for (Reduction r : kReductions)
    EXPECT_TRUE(gradcheck([r](const V& v) { return bce_with_logits(v[0] * 3.0, v[1], r); }, {logits, target}));
}

TEST(GradLoss, BceWithLogitsAtZeroIsSigmoidMinusTarget) {
  // d/dl = sigmoid(l) - t = 1/2 - t at l = 0 (where relu and |l| have kinks).
  Tensor l = Tensor::zeros({3}, DType::Float64);
  l.requires_grad_();
  Tensor t = Tensor::from_vector<double>({0.0, 0.25, 1.0}, {3});
  bce_with_logits(l, t, Reduction::Sum).backward();
  EXPECT_EQ(l.grad().to_vector<double>(), (std::vector<double>{0.5, 0.25, -0.5}));
}

TEST(GradLoss, Bce) {
  Generator g(32);
  Tensor p = leaf({4, 3, 2}, g, 0.05, 0.95);
  Tensor target = leaf({2, 3, 4}, g, 0.0, 1.0);
  for (Reduction r : kReductions)
    EXPECT_TRUE(gradcheck([r](const V& v) { return bce(v[0], v[1].permute({2, 1, 0}), r); }, {p, target}));
}

TEST(GradLoss, L1AndMse) {
  Generator g(33);
  Tensor a = leaf({3, 4, 5}, g);
  Tensor b = transposed_leaf({3, 4, 5}, g);
  for (Reduction r : kReductions) {
    EXPECT_TRUE(gradcheck([r](const V& v) { return l1_loss(v[0], v[1], r); }, {a, b}));
    EXPECT_TRUE(gradcheck([r](const V& v) { return mse_loss(v[0], v[1], r); }, {a, b}));
  }
}

TEST(GradLoss, CrossEntropy) {
  Generator g(34);
  Tensor logits2d = leaf({5, 3}, g);
  Tensor labels2d = randint(0, 3, {5}, g);
  Tensor logits4d = transposed_leaf({2, 3, 4, 3}, g);  // (N, C, H, W), non-contiguous
  Tensor labels4d = randint(0, 3, {2, 4, 3}, g);
  for (Reduction r : kReductions) {
    EXPECT_TRUE(gradcheck([&, r](const V& v) { return cross_entropy(v[0], labels2d, r); }, {logits2d}));
    EXPECT_TRUE(gradcheck([&, r](const V& v) { return cross_entropy(v[0], labels4d, r); }, {logits4d}));
  }
}

TEST(GradLoss, Dice) {
  Generator g(35);
  Tensor logits = leaf({2, 1, 3, 5}, g);
  Tensor target = leaf({2, 1, 5, 3}, g, 0.0, 1.0);
  for (double eps : {1.0, 1e-2})
    EXPECT_TRUE(gradcheck([eps](const V& v) { return dice_loss(v[0], v[1].transpose(2, 3), eps); },
                          {logits, target}));
}

TEST(GradLoss, Ssim) {
  Generator g(36);
  // a small window on odd sizes, both inputs
  Tensor a = leaf({2, 2, 7, 6}, g, 0.0, 1.0);
  Tensor b = transposed_leaf({2, 2, 7, 6}, g);
  EXPECT_TRUE(gradcheck([](const V& v) { return ssim(v[0], v[1], 5, 1.0, 0.01, 0.03); }, {a, b}));
  // the default 11x11 window, sigma 1.5, on a 12 x 11 image; same tensor twice
  Tensor c = leaf({1, 1, 12, 11}, g, 0.0, 1.0);
  Tensor d = leaf({1, 1, 12, 11}, g, 0.0, 1.0);
  EXPECT_TRUE(gradcheck([](const V& v) { return ssim(v[0], v[1]); }, {c, d}));
  EXPECT_TRUE(gradcheck([](const V& v) { return ssim(v[0], v[0] * 0.5 + 0.2); }, {c}));
}

TEST(GradLoss, Gram) {
  Generator g(37);
  Tensor x = transposed_leaf({2, 3, 4, 5}, g);
  EXPECT_TRUE(gradcheck([](const V& v) { return gram(v[0]); }, {x}));
}

TEST(GradLoss, MmdImq) {
  Generator g(38);
  Tensor z = transposed_leaf({5, 3}, g);
  Tensor prior = leaf({5, 3}, g);
  EXPECT_TRUE(gradcheck([](const V& v) { return mmd_imq(v[0], v[1]); }, {z, prior}));
  EXPECT_TRUE(gradcheck([](const V& v) { return mmd_imq(v[0], v[1], 0.5, {0.3, 3.0}); }, {z, prior}));
}
