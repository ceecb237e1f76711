// test_loss_modules.cpp: every loss object equals the function it wraps with
// the same tensors and options (bit for bit), for each reduction; SSIMLoss is
// 0 for identical images; gradients flow through the objects.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "nn/loss.h"
#include "tensor/random.h"
#include "tests/test_util.h"

namespace loom::nn {
namespace {

using testing::expect_bitwise_equal;

const std::vector<Reduction> kReductions{Reduction::Mean, Reduction::Sum, Reduction::None};

TEST(LossModules, ElementwiseLossesEqualTheirFunctions) {
  Generator gen(201);
  const Tensor a = randn({2, 3, 4, 4}, gen), b = randn({2, 3, 4, 4}, gen);
  const Tensor p = sigmoid(a), t = rand({2, 3, 4, 4}, gen);
  for (Reduction r : kReductions) {
    expect_bitwise_equal(BCELoss{.reduction = r}(p, t), bce(p, t, r), "BCELoss");
    expect_bitwise_equal(BCEWithLogitsLoss{.reduction = r}(a, t), bce_with_logits(a, t, r), "BCEWithLogitsLoss");
    expect_bitwise_equal(L1Loss{.reduction = r}(a, b), l1_loss(a, b, r), "L1Loss");
    expect_bitwise_equal(MSELoss{.reduction = r}(a, b), mse_loss(a, b, r), "MSELoss");
    expect_bitwise_equal(GramLoss{.reduction = r}(a, b), mse_loss(gram(a), gram(b), r), "GramLoss");
  }
  EXPECT_EQ(MSELoss{}(a, b).dim(), 0);  // mean by default
}

TEST(LossModules, CrossEntropyAndDice) {
  Generator gen(202);
  const Tensor logits = randn({3, 5, 2, 2}, gen);
  const Tensor labels = randint(0, 5, {3, 2, 2}, gen);
  for (Reduction r : kReductions)
    expect_bitwise_equal(CrossEntropyLoss{.reduction = r}(logits, labels), cross_entropy(logits, labels, r),
                         "CrossEntropyLoss");
  const Tensor mask_logits = randn({2, 1, 6, 6}, gen);
  const Tensor mask = bernoulli({2, 1, 6, 6}, 0.3, gen);
  expect_bitwise_equal(DiceLoss{}(mask_logits, mask), dice_loss(mask_logits, mask, 1.0), "DiceLoss");
  expect_bitwise_equal(DiceLoss{.eps = 1e-3}(mask_logits, mask), dice_loss(mask_logits, mask, 1e-3), "DiceLoss eps");
}

TEST(LossModules, SSIMLossIsOneMinusSSIM) {
  Generator gen(203);
  const Tensor a = rand({2, 3, 16, 16}, gen), b = rand({2, 3, 16, 16}, gen);
  const SSIMLoss loss{.window = 7, .sigma = 1.0};
  expect_bitwise_equal(loss(a, b), 1.0 - ssim(a, b, 7, 1.0), "SSIMLoss");
  EXPECT_NEAR(SSIMLoss{}(a, a).item(), 0.0, 1e-6);  // ssim(a, a) = 1
}

TEST(LossModules, MMDIMQ) {
  Generator gen(204);
  const Tensor z = randn({16, 8}, gen), prior = randn({16, 8}, gen);
  expect_bitwise_equal(MMDIMQLoss{}(z, prior), mmd_imq(z, prior), "MMDIMQLoss");
  const MMDIMQLoss custom{.sigma2 = 2.0, .scales = {0.5, 1.0}};
  expect_bitwise_equal(custom(z, prior), mmd_imq(z, prior, 2.0, {0.5, 1.0}), "MMDIMQLoss options");
}

TEST(LossModules, GradientsFlowThroughTheObjects) {
  Generator gen(205);
  Tensor logits = randn({4, 1}, gen);
  logits.requires_grad_(true);
  BCEWithLogitsLoss{}(logits, Tensor::ones({4, 1})).backward();
  ASSERT_TRUE(logits.grad().defined());
  // d/dl mean(bce_with_logits(l, 1)) = (sigmoid(l) - 1) / n
  const std::vector<double> l = logits.to_vector<double>(), g = logits.grad().to_vector<double>();
  for (size_t i = 0; i < l.size(); ++i) EXPECT_NEAR(g[i], (1.0 / (1.0 + std::exp(-l[i])) - 1.0) / 4.0, 1e-6);
}

}  // namespace
}  // namespace loom::nn
