// test_unet.cpp: the U-Net segmenter (models/unet.h): output shapes over
// depths, widths and up modes, the class head, the losses (focal, BCE + Dice,
// image-level BCE) against float64 hand computations, the mask IoU, and a tiny
// overfit run on one image / mask pair.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "models/gaussian_blur.h"
#include "models/unet.h"
#include "nn/nn.h"
#include "tests/models/wae_unet_torch.h"

namespace loom::models {
namespace {

double sigmoid_of(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// ---- shapes -------------------------------------------------------------------------------

TEST(UNet, LogitsHaveTheInputSizeForSeveralDepthsWidthsAndUpModes) {
  Generator gen(1);
  struct Case {
    int64_t depth, width, in_channels, size;
    UpMode up;
  };
  for (const Case& c : {Case{1, 2, 1, 8, UpMode::TransposedConv}, Case{2, 3, 3, 16, UpMode::Bilinear},
                        Case{3, 2, 1, 24, UpMode::TransposedConv}, Case{4, 2, 3, 32, UpMode::Bilinear},
                        Case{4, 4, 1, 16, UpMode::TransposedConv}}) {
    UNet unet({.in_channels = c.in_channels, .base_width = c.width, .depth = c.depth, .up_mode = c.up}, gen);
    Tensor x = rand({2, c.in_channels, c.size, c.size + 2 * (int64_t{1} << c.depth)}, gen);  // H != W
    UNetOutput out = unet.run(x);
    EXPECT_EQ(out.mask_logits.shape(), (Shape{2, 1, x.size(2), x.size(3)})) << "depth " << c.depth;
    EXPECT_FALSE(out.class_logits.defined());
    EXPECT_EQ(unet(x).shape(), out.mask_logits.shape());
  }
}

TEST(UNet, ClassHeadGivesOneLogitPerImage) {
  Generator gen(2);
  UNet unet({.in_channels = 3, .out_channels = 2, .base_width = 2, .depth = 2, .class_head = true}, gen);
  UNetOutput out = unet.run(rand({3, 3, 16, 16}, gen));
  EXPECT_EQ(out.mask_logits.shape(), (Shape{3, 2, 16, 16}));
  EXPECT_EQ(out.class_logits.shape(), (Shape{3, 1}));
}

TEST(UNet, StateDictNamesAndWidths) {
  Generator gen(3);
  UNet unet({.in_channels = 1, .base_width = 4, .depth = 2, .class_head = true}, gen);
  std::vector<std::pair<std::string, Shape>> expected = {
      {"inc.0.weight", {4, 1, 3, 3}},       {"down1.1.0.weight", {8, 4, 3, 3}},
      {"down2.1.3.weight", {16, 16, 3, 3}}, {"up1.up.0.weight", {16, 8, 2, 2}},  // ConvTranspose2d (in, out, 2, 2)
      {"up1.conv.0.weight", {8, 16, 3, 3}}, {"up2.conv.3.weight", {4, 4, 3, 3}},
      {"outc.weight", {1, 4, 1, 1}},        {"classifier.2.weight", {1, 16}}};
  auto state = unet.state_dict();
  for (const auto& [name, shape] : expected) {
    bool found = false;
    for (const auto& [n, t] : state) found = found || (n == name && t.shape() == shape);
    EXPECT_TRUE(found) << name << " " << shape_str(shape);
  }
  UNet bilinear({.in_channels = 1, .base_width = 4, .depth = 2, .up_mode = UpMode::Bilinear}, gen);
  bool has_1x1 = false;
  for (const auto& [n, t] : bilinear.state_dict())
    has_1x1 = has_1x1 || (n == "up1.up.1.weight" && t.shape() == Shape{8, 16, 1, 1});
  EXPECT_TRUE(has_1x1);
}

TEST(UNet, RefusesSizesNotDivisibleByTwoToTheDepth) {
  Generator gen(4);
  UNet unet({.in_channels = 1, .base_width = 2, .depth = 3}, gen);
  EXPECT_THROW(unet(rand({1, 1, 20, 16}, gen)), Error);  // 20 % 8 != 0
  EXPECT_THROW(unet(rand({1, 3, 16, 16}, gen)), Error);  // channels
  EXPECT_THROW(UNet({.depth = 0}, gen), Error);
}

// ---- PyTorch parity ---------------------------------------------------------------------

// loom's U-Net and its restatement in torch.nn (tests/models/wae_unet_torch.py)
// with the same state dict give the same logits in eval and training mode.
void check_unet_against_torch(const UNetOptions& options, int64_t height, int64_t width) {
  Generator gen(30 + options.depth);
  UNet unet(options, gen);
  testing::perturb_vectors(unet, gen);
  Tensor x = randn({2, options.in_channels, height, width}, gen);
  const std::string args = "unet " + std::to_string(options.in_channels) + " " + std::to_string(options.out_channels) +
                           " " + std::to_string(options.base_width) + " " + std::to_string(options.depth) + " " +
                           (options.up_mode == UpMode::Bilinear ? "bilinear" : "transposed") + " " +
                           (options.class_head ? "1" : "0");
  auto ref = testing::run_torch_restatement(unet, x, args);
  if (ref.empty()) return;
  NoGradGuard no_grad;
  unet.eval();
  UNetOutput out = unet.run(x);
  testing::expect_close_to(out.mask_logits, ref.at("eval"), 1e-5, 1e-4, "U-Net logits, eval mode");
  if (options.class_head) testing::expect_close_to(out.class_logits, ref.at("class_eval"), 1e-5, 1e-4, "class logit");
  unet.train();
  testing::expect_close_to(unet(x), ref.at("train"), 1e-5, 1e-4, "U-Net logits, training mode");
}

TEST(UNetTorch, TransposedConvDepth3WithClassHead) {
  check_unet_against_torch({.in_channels = 3, .out_channels = 1, .base_width = 3, .depth = 3, .class_head = true}, 16,
                           24);
}

TEST(UNetTorch, BilinearDepth2TwoOutputs) {
  check_unet_against_torch(
      {.in_channels = 1, .out_channels = 2, .base_width = 4, .depth = 2, .up_mode = UpMode::Bilinear}, 12, 8);
}

// ---- losses -------------------------------------------------------------------------------

TEST(FocalLoss, MatchesAHandValue) {
  const std::vector<double> x = {2.0, -1.0, 0.5, -3.0, 0.0}, t = {1, 0, 0, 1, 1};
  const double alpha = 0.25, gamma = 2.0;
  double expected = 0;
  for (size_t i = 0; i < x.size(); ++i) {  // -alpha_t (1 - p_t)^gamma log p_t
    const double p = sigmoid_of(x[i]);
    const double p_t = t[i] == 1 ? p : 1 - p, alpha_t = t[i] == 1 ? alpha : 1 - alpha;
    expected += -alpha_t * std::pow(1 - p_t, gamma) * std::log(p_t) / x.size();
  }
  Tensor logits = Tensor::from_vector<double>(x, {5}), target = Tensor::from_vector<double>(t, {5});
  EXPECT_NEAR(focal_loss_with_logits(logits, target, alpha, gamma).item(), expected, 1e-14);
}

TEST(FocalLoss, WithGammaZeroIsBce) {
  // gamma = 0, no alpha (alpha < 0): FL = -log p_t, exactly BCE;
  // gamma = 0, alpha = 0.5: alpha_t = 0.5 for both classes, FL = BCE / 2.
  Generator gen(5);
  Tensor logits = randn({2, 1, 4, 4}, gen, DType::Float64) * 3.0;
  Tensor target = bernoulli({2, 1, 4, 4}, 0.4, gen, DType::Float64);
  const double bce = bce_with_logits(logits, target).item();
  EXPECT_NEAR(focal_loss_with_logits(logits, target, -1.0, 0.0).item(), bce, 1e-14);
  EXPECT_NEAR(focal_loss_with_logits(logits, target, 0.5, 0.0).item(), 0.5 * bce, 1e-14);
}

TEST(FocalLoss, GradientMatchesFiniteDifferences) {
  Generator gen(6);
  Tensor logits = (randn({6}, gen, DType::Float64) * 2.0).requires_grad_();
  Tensor target = Tensor::from_vector<double>({1, 0, 1, 0, 0, 1}, {6});
  focal_loss_with_logits(logits, target, 0.25, 2.0).backward();
  std::vector<double> grad = logits.grad().to_vector<double>(), x = logits.detach().to_vector<double>();
  NoGradGuard no_grad;
  for (int64_t i = 0; i < 6; ++i) {
    const double h = 1e-6;
    std::vector<double> up = x, down = x;
    up[i] += h;
    down[i] -= h;
    const double numeric = (focal_loss_with_logits(Tensor::from_vector<double>(up, {6}), target).item() -
                            focal_loss_with_logits(Tensor::from_vector<double>(down, {6}), target).item()) /
                           (2 * h);
    EXPECT_NEAR(grad[i], numeric, 1e-8) << "element " << i;
  }
}

TEST(SegmentationLoss, IsWeightedBcePlusDicePlusImageBceByHand) {
  const std::vector<double> x = {1.0, -2.0, 0.5, 3.0}, t = {1, 0, 0, 1};
  double bce = 0, st = 0, s_sum = 0, t_sum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double p = sigmoid_of(x[i]);
    bce += -(t[i] * std::log(p) + (1 - t[i]) * std::log(1 - p)) / x.size();
    st += p * t[i];
    s_sum += p;
    t_sum += t[i];
  }
  const double dice = 1 - (2 * st + 1) / (s_sum + t_sum + 1);  // eps = 1
  const double image_bce = -std::log(sigmoid_of(0.4));         // the mask has a defect: label 1

  UNetOutput output{.mask_logits = Tensor::from_vector<double>(x, {1, 1, 2, 2}),
                    .class_logits = Tensor::from_vector<double>({0.4}, {1, 1})};
  Tensor mask = Tensor::from_vector<double>(t, {1, 1, 2, 2});
  SegmentationLoss loss = segmentation_loss(output, mask, {.bce_weight = 0.7, .dice_weight = 0.3, .class_weight = 2.0});
  EXPECT_NEAR(loss.pixel.item(), bce, 1e-14);
  EXPECT_NEAR(loss.dice.item(), dice, 1e-14);
  EXPECT_NEAR(loss.image.item(), image_bce, 1e-14);
  EXPECT_NEAR(loss.total.item(), 0.7 * bce + 0.3 * dice + 2.0 * image_bce, 1e-14);

  output.class_logits = Tensor();  // no head: no image term
  SegmentationLoss no_head = segmentation_loss(output, mask, {.bce_weight = 0.7, .dice_weight = 0.3});
  EXPECT_FALSE(no_head.image.defined());
  EXPECT_NEAR(no_head.total.item(), 0.7 * bce + 0.3 * dice, 1e-14);
}

TEST(SegmentationLoss, ImageLabelsAndIou) {
  Tensor masks = Tensor::zeros({3, 1, 2, 2});
  masks.slice(0, 1, 2).slice(2, 1, 2).slice(3, 0, 1).fill_(1.0);  // image 1 has one defect pixel
  masks.slice(0, 2, 3).fill_(0.4);                                // image 2: below 0.5 everywhere
  EXPECT_EQ(image_labels_from_masks(masks).to_vector<float>(), (std::vector<float>{0, 1, 0}));

  // predicted (logit > 0): {1, 1, 0, 0}; target: {1, 0, 1, 0} -> intersection 1, union 3
  Tensor logits = Tensor::from_vector<float>({2.0f, 0.1f, -0.1f, -3.0f}, {1, 1, 2, 2});
  Tensor target = Tensor::from_vector<float>({1, 0, 1, 0}, {1, 1, 2, 2});
  EXPECT_NEAR(mask_iou(logits, target), 1.0 / 3.0, 1e-12);
  EXPECT_EQ(mask_iou(Tensor::full({4}, -1.0), Tensor::zeros({4})), 1.0);  // both empty
}

// ---- tiny overfit -------------------------------------------------------------------------

TEST(UNetOverfit, BceDiceFallsAndTheMaskIsLearned) {
  Generator gen(7);
  // A 16x16 grey texture with a bright disc of radius 3 at (6, 10): the mask is the disc.
  const int64_t s = 16;
  Tensor image = gaussian_blur(rand({1, 1, s, s}, gen), 1.0) * 0.5 + 0.2;  // (1, 1, 16, 16)
  std::vector<float> mask_values(s * s);
  for (int64_t y = 0; y < s; ++y)
    for (int64_t x = 0; x < s; ++x) mask_values[y * s + x] = (y - 6) * (y - 6) + (x - 10) * (x - 10) <= 9;
  Tensor mask = Tensor::from_vector<float>(mask_values, {1, 1, s, s});
  image = image + mask * 0.3;

  UNet unet({.in_channels = 1, .base_width = 4, .depth = 3}, gen);
  nn::Adam optimizer(unet.named_parameters(), {.lr = 2e-2});
  double first = 0, last = 0;
  const int steps = 60;
  for (int step = 0; step < steps; ++step) {
    optimizer.zero_grad();
    SegmentationLoss loss = segmentation_loss(unet.run(image), mask);  // BCE + Dice, weights 1
    loss.total.backward();
    optimizer.step();
    if (step == 0) first = loss.total.item();
    last = loss.total.item();
  }
  EXPECT_LT(last, first / 10.0) << "BCE + Dice " << first << " -> " << last << " in " << steps << " Adam steps";
  unet.eval();  // batch norm with its running statistics
  NoGradGuard no_grad;
  const double iou = mask_iou(unet(image), mask);
  EXPECT_GT(iou, 0.9) << "IoU of the predicted mask (eval mode)";
}

}  // namespace
}  // namespace loom::models
