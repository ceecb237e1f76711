// detection_metrics.h: the numbers the defect-detection literature reports for
// an anomaly map against ground-truth masks (MVTec AD's evaluation, Bergmann
// et al. 2019/2021), computed exactly, with ties handled as the golden cases
// (../shared/golden, op "detection_metrics") require.
//
// Inputs: maps (N, H, W) or (N, 1, H, W) float32 scores (larger = more
// anomalous), masks of the same shape, a pixel is a defect where mask > 0.5.
//
//   ROC AUROC     = P(s_pos > s_neg) + 1/2 P(s_pos = s_neg)      (Mann-Whitney:
//                   equal scores share one threshold, a tie counts one half)
//   pixel AUROC   = AUROC over every pixel of every image
//   image AUROC   = AUROC over images: score = max of the image's map, label =
//                   the image's mask has any defect pixel
//   AUPRO(0.3)    = (1 / 0.3) * integral_0^0.3 PRO(FPR) dFPR, where for a
//                   threshold t (every distinct score is one, predict s >= t):
//                     FPR(t) = false positive pixels / negative pixels (all images)
//                     PRO(t) = mean over every 8-connected defect region R of
//                              every mask of |{p in R : s(p) >= t}| / |R|
//                   the curve is exact (piecewise linear between thresholds),
//                   the last segment interpolated at FPR = 0.3.
//   F1 max        = max over t of 2TP / (2TP + FP + FN), pixels with s >= t
//   F1, IoU at t  = 2TP / (2TP + FP + FN) and TP / (TP + FP + FN) for s >= t
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace loom::eval {

// AUROC of scores against 0/1 labels (same length); throws unless both
// classes occur.
double auroc(const std::vector<float>& scores, const std::vector<uint8_t>& labels);

double pixel_auroc(const Tensor& maps, const Tensor& masks);
double image_auroc(const Tensor& maps, const Tensor& masks);
// max_fpr in (0, 1]; throws when the masks hold no defect region or no
// defect-free pixel.
double aupro(const Tensor& maps, const Tensor& masks, double max_fpr = 0.3);

// Number of 8-connected regions of pixels > 0.5 in a (H, W) or (1, H, W) mask,
// and the per-pixel region label (int64 (H, W): 0 background, 1..count).
struct Regions {
  int64_t count = 0;
  Tensor labels;
};
Regions connected_regions_8(const Tensor& mask);

struct PixelF1 {
  double threshold = 0;  // predict a defect where s >= threshold
  double f1 = 0, precision = 0, recall = 0, iou = 0;
};
// The best pixel F1 over every distinct score as threshold (ties in F1 keep
// the highest threshold); throws when the masks hold no defect pixel.
PixelF1 best_pixel_f1(const Tensor& maps, const Tensor& masks);
// F1, precision, recall and IoU of s >= threshold (each 1 when neither the
// prediction nor the masks hold a defect pixel).
PixelF1 pixel_f1_at(const Tensor& maps, const Tensor& masks, double threshold);

// Everything above for one set of maps; NaN for a metric the data cannot
// define (image AUROC without both good and defective images, pixel AUROC and
// AUPRO without both defect and defect-free pixels, best F1 without defects).
// at_threshold is always defined (pixel_f1_at's rule: 1 when neither the
// prediction nor the masks hold a defect pixel).
struct DetectionMetrics {
  int64_t images = 0, defective_images = 0;
  double image_auroc = 0, pixel_auroc = 0, aupro = 0;
  PixelF1 best;       // at the best threshold (on this data: an oracle)
  PixelF1 at_threshold;  // at the given threshold (chosen elsewhere)
};
DetectionMetrics detection_metrics(const Tensor& maps, const Tensor& masks, double threshold,
                                   double max_fpr = 0.3);

}  // namespace loom::eval
