// unet.h: the U-Net segmenter (Ronneberger, Fischer, Brox, "U-Net: Convolutional
// Networks for Biomedical Image Segmentation", MICCAI 2015) for defect masks,
// with the optional image-level classification head of the competition's
// winning solution (is there a defect at all?), and its losses.
//
// Architecture (w = base width, D = depth, the paper has w = 64, D = 4):
//   DoubleConv(in, out) = [Conv2d 3x3 pad 1 (no bias) + BatchNorm2d + ReLU] x 2
//   (padded convolutions, so no cropping: the paper's valid 3x3 convs and
//    crop-and-copy become "same" convs and plain concatenation)
//   inc     x (N, C, H, W) -> DoubleConv(C, w)                           e_0 (N, w, H, W)
//   down_i  MaxPool2d 2 -> DoubleConv(w 2^(i-1), w 2^i), i = 1..D        e_i (N, w 2^i, H/2^i, W/2^i)
//   up_i    u = up(e or previous up), halving channels:                  (paper: "2x2 up-convolution
//             ConvTranspose2d 2x2 stride 2   (UpMode::TransposedConv)     that halves the number of
//             or bilinear x2 + Conv2d 1x1    (UpMode::Bilinear)           feature channels")
//           then DoubleConv(cat[e_{D-i}, u]) -> (N, w 2^(D-i), ...)      skip concatenation
//   outc    Conv2d 1x1 -> mask logits (N, out_channels, H, W)
//   classifier (optional): global average pool of e_D -> Linear -> 1 logit (N, 1)
// H and W must be divisible by 2^D.
//
// Losses (sigma = the logistic function, p = sigma(x), t in {0, 1}):
//   BCE   = mean(-[t log p + (1 - t) log(1 - p)])                     loom::bce_with_logits
//   Dice  = mean_n (1 - (2 sum p t + eps) / (sum p + sum t + eps))     loom::dice_loss (Milletari 2016)
//   Focal = mean(-alpha_t (1 - p_t)^gamma log p_t)                     Lin et al. 2017, eq. 5
//           p_t = p t + (1 - p)(1 - t),  alpha_t = alpha t + (1 - alpha)(1 - t)  (alpha < 0: alpha_t = 1)
//           -log p_t is computed as bce_with_logits(x, t) (stable for large |x|), so
//           gamma = 0, alpha < 0 gives exactly BCE and gamma = 0, alpha = 0.5 gives BCE / 2.
//   segmentation loss = bce_weight * (BCE or Focal) + dice_weight * Dice
//                       + class_weight * BCE(class logit, [mask has a defect pixel])   (with the head)
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/nn.h"

namespace loom::models {

enum class UpMode { TransposedConv, Bilinear };

struct UNetOptions {
  int64_t in_channels = 3;   // C
  int64_t out_channels = 1;  // mask channels (1: defect / background logits)
  int64_t base_width = 64;   // w
  int64_t depth = 4;         // D, the number of max-pool downs (>= 1)
  UpMode up_mode = UpMode::TransposedConv;
  bool class_head = false;  // the image-level defect logit
};

// [Conv2d 3x3 pad 1 (no bias), BatchNorm2d, ReLU] x 2 as one Sequential ("0" .. "5").
std::shared_ptr<nn::Sequential> make_double_conv(int64_t in, int64_t out, Generator& gen);

// One decoder step: up (halving channels), concatenation with the skip, DoubleConv.
class UNetUp : public nn::Module {
 public:
  UNetUp(int64_t in, int64_t out, UpMode mode, Generator& gen);
  // x (N, in, h, w), skip (N, out, 2h, 2w) -> (N, out, 2h, 2w)
  Tensor merge(const Tensor& x, const Tensor& skip);
  Tensor forward(const Tensor& x) override;  // throws: an up step needs its skip (use merge)
  std::string type_name() const override { return "UNetUp"; }
  std::shared_ptr<nn::Sequential> up;    // "up": ConvTranspose2d, or Upsample + Conv2d 1x1
  std::shared_ptr<nn::Sequential> conv;  // "conv": DoubleConv(2 out, out)
};

struct UNetOutput {
  Tensor mask_logits;   // (N, out_channels, H, W)
  Tensor class_logits;  // (N, 1); undefined without the class head
};

// State dict names: "inc.0.weight", "down1.1.0.weight" (down_i = [MaxPool2d, DoubleConv]),
// "up1.up.0.weight", "up1.conv.0.weight", "outc.weight", "classifier.weight".
class UNet : public nn::Module {
 public:
  explicit UNet(const UNetOptions& options, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;  // mask logits (N, out_channels, H, W)
  UNetOutput run(const Tensor& x);           // mask logits and, with the head, the class logit
  std::string type_name() const override { return "UNet"; }
  std::string extra_repr() const override;
  const UNetOptions options;
  std::shared_ptr<nn::Sequential> inc;
  std::vector<std::shared_ptr<nn::Sequential>> downs;  // down1 .. downD
  std::vector<std::shared_ptr<UNetUp>> ups;            // up1 .. upD (up1 is the deepest)
  std::shared_ptr<nn::Conv2d> outc;
  std::shared_ptr<nn::Sequential> classifier;  // AdaptiveAvgPool2d(1), Flatten, Linear; null without the head
};

// Focal loss on logits (see the top of this file), mean over every element.
Tensor focal_loss_with_logits(const Tensor& logits, const Tensor& target, double alpha = 0.25, double gamma = 2.0);

struct SegmentationLossOptions {
  double bce_weight = 1.0;   // weight of the pixel term (BCE, or focal when use_focal)
  double dice_weight = 1.0;  // weight of the soft Dice term
  double dice_eps = 1.0;
  bool use_focal = false;
  double focal_alpha = 0.25;  // < 0: no alpha weighting
  double focal_gamma = 2.0;
  double class_weight = 1.0;  // weight of the image-level BCE (only when the head is on)
};

struct SegmentationLoss {
  Tensor total;  // the weighted sum (0-dim)
  Tensor pixel;  // BCE or focal (0-dim)
  Tensor dice;   // soft Dice (0-dim)
  Tensor image;  // image-level BCE (0-dim); undefined without class logits
};

// (N, 1) labels: 1 where the mask (N, 1, H, W) has any pixel > 0.5.
Tensor image_labels_from_masks(const Tensor& masks);

// The segmentation loss of an output against 0/1 masks (N, out_channels, H, W).
SegmentationLoss segmentation_loss(const UNetOutput& output, const Tensor& masks,
                                   const SegmentationLossOptions& options = {});

// Intersection over union of the predicted mask [sigmoid(logits) > 0.5] (i.e.
// logits > 0) and target > 0.5 over the whole batch; 1 when both are empty.
double mask_iou(const Tensor& logits, const Tensor& target);

}  // namespace loom::models
