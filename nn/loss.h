// loss.h: loss objects over the loss functions of autograd/functions.h (the
// math and the gradients live there). Each is a small aggregate of options
// with  Tensor operator()(prediction, target):
//   nn::BCEWithLogitsLoss criterion;                       // mean reduction
//   Tensor loss = criterion(d_logits, ones);
//   nn::L1Loss per_pixel{.reduction = Reduction::None};
//
//   BCELoss            bce(p, t):                p are probabilities
//   BCEWithLogitsLoss  bce_with_logits(l, t):    l are logits (numerically stable)
//   L1Loss             l1_loss: |a - b|
//   MSELoss            mse_loss: (a - b)^2
//   CrossEntropyLoss   cross_entropy(logits (N, C, *), target int64 (N, *))
//   DiceLoss           dice_loss(logits, target, eps): mean over samples
//   SSIMLoss           1 - ssim(a, b): 0 for identical images
//   GramLoss           mse_loss(gram(a), gram(b)): the style (texture) loss
//   MMDIMQLoss         mmd_imq(z, prior, sigma2, scales): WAE-MMD's penalty
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/functions.h"

namespace loom::nn {

struct BCELoss {
  Reduction reduction = Reduction::Mean;
  Tensor operator()(const Tensor& prediction, const Tensor& target) const;
};

struct BCEWithLogitsLoss {
  Reduction reduction = Reduction::Mean;
  Tensor operator()(const Tensor& logits, const Tensor& target) const;
};

struct L1Loss {
  Reduction reduction = Reduction::Mean;
  Tensor operator()(const Tensor& prediction, const Tensor& target) const;
};

struct MSELoss {
  Reduction reduction = Reduction::Mean;
  Tensor operator()(const Tensor& prediction, const Tensor& target) const;
};

struct CrossEntropyLoss {
  Reduction reduction = Reduction::Mean;
  // logits (N, C, *), target int64 class indices (N, *)
  Tensor operator()(const Tensor& logits, const Tensor& target) const;
};

struct DiceLoss {
  double eps = 1.0;  // smoothing added to numerator and denominator
  Tensor operator()(const Tensor& logits, const Tensor& target) const;
};

struct SSIMLoss {
  int64_t window = 11;  // Gaussian window size
  double sigma = 1.5;
  double c1 = 1e-4;  // (0.01 L)^2 for data range L = 1
  double c2 = 9e-4;  // (0.03 L)^2
  // a, b (N, C, H, W), H and W >= window
  Tensor operator()(const Tensor& prediction, const Tensor& target) const;
};

struct GramLoss {
  Reduction reduction = Reduction::Mean;
  // a, b (N, C, H, W); compares their (N, C, C) Gram matrices
  Tensor operator()(const Tensor& prediction, const Tensor& target) const;
};

struct MMDIMQLoss {
  double sigma2 = 1.0;  // the prior's variance per dimension
  std::vector<double> scales = {0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0};
  // z, prior (n, d) samples, n >= 2
  Tensor operator()(const Tensor& z, const Tensor& prior) const;
};

}  // namespace loom::nn
