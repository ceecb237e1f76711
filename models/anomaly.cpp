// anomaly.cpp: anomaly maps (residual, SSIM, Gaussian smoothing) and threshold
// selection; see anomaly.h for the math.
#include "models/anomaly.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
#include <vector>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "models/gaussian_blur.h"

namespace loom::models {

namespace {

void check_image_batch(const char* op, const Tensor& x, const char* what) {
  LOOM_CHECK(x.defined() && x.dim() == 4 && is_floating(x.dtype()), op, ": ", what,
             " must be a float (N, C, H, W) tensor, got ", x.defined() ? shape_str(x.shape()) : "undefined");
}

}  // namespace

Tensor ssim_map(const Tensor& a, const Tensor& b, double sigma, double data_range) {
  check_image_batch("ssim_map", a, "a");
  check_image_batch("ssim_map", b, "b");
  LOOM_CHECK(a.shape() == b.shape(), "ssim_map: a ", shape_str(a.shape()), " and b ", shape_str(b.shape()),
             " must have one shape");
  LOOM_CHECK(sigma > 0 && data_range > 0, "ssim_map: sigma and data_range must be positive, got ", sigma, " and ",
             data_range);
  NoGradGuard no_grad;
  auto blur = [&](const Tensor& t) { return gaussian_blur(t, sigma); };  // w * t, window radius ceil(3 sigma)
  const double c1 = (0.01 * data_range) * (0.01 * data_range), c2 = (0.03 * data_range) * (0.03 * data_range);
  Tensor mu_a = blur(a), mu_b = blur(b);     // (N, C, H, W) local means
  Tensor var_a = blur(a * a) - mu_a * mu_a;  // w * a^2 - mu_a^2
  Tensor var_b = blur(b * b) - mu_b * mu_b;  // w * b^2 - mu_b^2
  Tensor cov = blur(a * b) - mu_a * mu_b;    // w * (a b) - mu_a mu_b
  Tensor numerator = (mu_a * mu_b * 2.0 + c1) * (cov * 2.0 + c2);
  Tensor denominator = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2);
  return numerator / denominator;
}

Tensor anomaly_map(const Tensor& x, const Tensor& x_hat, const AnomalyMapOptions& o) {
  check_image_batch("anomaly_map", x, "x");
  check_image_batch("anomaly_map", x_hat, "x_hat");
  LOOM_CHECK(x.shape() == x_hat.shape(), "anomaly_map: x ", shape_str(x.shape()), " and x_hat ",
             shape_str(x_hat.shape()), " must have one shape");
  LOOM_CHECK(o.ssim_weight >= 0 && o.ssim_weight <= 1, "anomaly_map: ssim_weight must be in [0, 1], got ",
             o.ssim_weight);
  LOOM_CHECK(o.smooth_sigma >= 0, "anomaly_map: smooth_sigma must be >= 0, got ", o.smooth_sigma);
  NoGradGuard no_grad;
  Tensor map = mean(abs(x - x_hat), {1}, true);  // r = 1/C sum_c |x_c - x_hat_c|   (N, 1, H, W)
  if (o.ssim_weight > 0) {
    Tensor structural = mean(1.0 - ssim_map(x, x_hat, o.ssim_sigma, o.data_range), {1}, true);
    map = map * (1.0 - o.ssim_weight) + structural * o.ssim_weight;  // (1 - w) r + w s
  }
  return o.smooth_sigma > 0 ? gaussian_blur(map, o.smooth_sigma) : map;  // G_sigma * a
}

double threshold_mean_k_sigma(const Tensor& maps, double k) {
  LOOM_CHECK(maps.defined() && maps.numel() > 0, "threshold_mean_k_sigma: maps are empty");
  const std::vector<double> values = maps.to_vector<double>();
  const double count = static_cast<double>(values.size());
  const double mean_value = std::accumulate(values.begin(), values.end(), 0.0) / count;
  double squares = 0;
  for (double v : values) squares += (v - mean_value) * (v - mean_value);
  return mean_value + k * std::sqrt(squares / count);  // mean + k sigma, sigma with 1/P
}

F1Threshold threshold_best_f1(const Tensor& maps, const Tensor& masks) {
  LOOM_CHECK(maps.defined() && masks.defined() && maps.shape() == masks.shape(),
             "threshold_best_f1: maps and masks must have one shape, got ",
             maps.defined() ? shape_str(maps.shape()) : "undefined", " and ",
             masks.defined() ? shape_str(masks.shape()) : "undefined");
  const std::vector<double> scores = maps.to_vector<double>(), labels = masks.to_vector<double>();
  std::vector<std::pair<double, bool>> pixels(scores.size());  // (score, is defect)
  int64_t positives = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    pixels[i] = {scores[i], labels[i] > 0.5};
    positives += pixels[i].second ? 1 : 0;
  }
  LOOM_CHECK(positives > 0,
             "threshold_best_f1: the masks hold no defect pixel (F1 is undefined); use "
             "threshold_mean_k_sigma for defect-free images");
  std::sort(pixels.begin(), pixels.end(), [](const auto& a, const auto& b) { return a.first > b.first; });

  // Lower the threshold through the distinct scores: after the last pixel of a
  // run of equal scores, [a >= t] predicts exactly the pixels seen so far.
  F1Threshold best;
  best.f1 = -1;
  int64_t true_positives = 0, false_positives = 0;
  for (size_t i = 0; i < pixels.size(); ++i) {
    (pixels[i].second ? true_positives : false_positives) += 1;
    if (i + 1 < pixels.size() && pixels[i + 1].first == pixels[i].first) continue;
    const int64_t false_negatives = positives - true_positives;
    const double f1 = 2.0 * static_cast<double>(true_positives) /
                      static_cast<double>(2 * true_positives + false_positives + false_negatives);
    if (f1 > best.f1) {  // strict: on a tie the earlier, higher threshold stays
      best.threshold = pixels[i].first;
      best.f1 = f1;
      best.precision = static_cast<double>(true_positives) / static_cast<double>(true_positives + false_positives);
      best.recall = static_cast<double>(true_positives) / static_cast<double>(positives);
    }
  }
  return best;
}

}  // namespace loom::models
