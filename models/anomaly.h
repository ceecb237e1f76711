// anomaly.h: reconstruction-based defect detection for an auto-encoder
// trained on defect-free images (models/wae.h): the per-pixel anomaly map and
// the choice of the threshold that turns it into a defect mask. (AUROC, PRO and
// the other evaluation metrics belong to the evaluation code, not here.)
//
// Anomaly map, for x, x_hat (N, C, H, W) -> a (N, 1, H, W):
//   r(p)    = 1/C sum_c |x_c(p) - x_hat_c(p)|                      the residual
//   s(p)    = 1/C sum_c (1 - SSIM_c(p))                            optional, the structural term
//   a       = G_sigma * ((1 - w) r + w s)                          w = ssim_weight (0: residual only)
// where G_sigma is the fixed, normalised Gaussian of models/gaussian_blur.h
// (radius ceil(3 sigma), applied separably with reflect padding, so a keeps the
// size of x). SSIM_c(p) is the local SSIM of Wang et al. 2004 with the same
// Gaussian window (sigma 1.5: radius 5, the paper's 11x11 window), "same" size:
//   SSIM = (2 mu_x mu_y + C1)(2 cov_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(var_x + var_y + C2)),
//   C1 = (0.01 L)^2, C2 = (0.03 L)^2, L = data_range (1 for images in [0, 1], 2 for [-1, 1]).
// autograd's loom::ssim is the training loss (one number, 'valid' positions);
// this is the per-pixel map, computed without gradients.
//
// Thresholds:
//   threshold_mean_k_sigma(maps, k) = mean(a) + k std(a) over every pixel of
//     defect-free validation maps (std with 1/P: the population std);
//   threshold_best_f1(maps, masks) = the t maximising the pixel F1 of the mask
//     [a >= t] against the ground truth, F1 = 2 TP / (2 TP + FP + FN),
//     searched over every distinct value of a.
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace loom::models {

struct AnomalyMapOptions {
  double smooth_sigma = 2.0;  // the Gaussian smoothing in pixels; 0 switches it off
  double ssim_weight = 0.0;   // w: 0 = |x - x_hat| only, 1 = 1 - SSIM only
  double ssim_sigma = 1.5;    // the SSIM window: Gaussian, radius ceil(3 sigma)
  double data_range = 1.0;    // L: 1 for images in [0, 1] (Sigmoid decoders), 2 for [-1, 1] (Tanh)
};

// a (N, 1, H, W) from x and its reconstruction x_hat (N, C, H, W), no gradients.
Tensor anomaly_map(const Tensor& x, const Tensor& x_hat, const AnomalyMapOptions& options = {});

// The per-pixel SSIM map (N, C, H, W) of a and b (see the top of this file). No gradients.
Tensor ssim_map(const Tensor& a, const Tensor& b, double sigma = 1.5, double data_range = 1.0);

// mean + k std over every element of `maps` (defect-free validation anomaly maps).
double threshold_mean_k_sigma(const Tensor& maps, double k);

struct F1Threshold {
  double threshold = 0;  // predict defect where a >= threshold
  double f1 = 0;
  double precision = 0;
  double recall = 0;
};
// The threshold of best pixel F1: maps and masks of one shape, masks 0/1
// (any value > 0.5 counts as defect). Ties in F1 keep the highest threshold.
// Throws unless the masks hold at least one defect pixel.
F1Threshold threshold_best_f1(const Tensor& maps, const Tensor& masks);

}  // namespace loom::models
