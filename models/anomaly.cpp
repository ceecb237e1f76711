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

namespace loom::models {

namespace {

void check_image_batch(const char* op, const Tensor& x, const char* what) {
  LOOM_CHECK(x.defined() && x.dim() == 4 && is_floating(x.dtype()), op, ": ", what,
             " must be a float (N, C, H, W) tensor, got ", x.defined() ? shape_str(x.shape()) : "undefined");
}

// g[i] = exp(-(i - r)^2 / (2 sigma^2)) / sum, i = 0 .. size-1, r = (size - 1) / 2
std::vector<double> gaussian_window(int64_t size, double sigma) {
  std::vector<double> g(size);
  const double centre = static_cast<double>(size - 1) / 2.0;
  for (int64_t i = 0; i < size; ++i) {
    const double d = static_cast<double>(i) - centre;
    g[i] = std::exp(-d * d / (2.0 * sigma * sigma));
  }
  const double total = std::accumulate(g.begin(), g.end(), 0.0);
  for (double& v : g) v /= total;
  return g;
}

// Correlates every (n, c) plane of x (N, C, H, W) with the separable window
// g g^T (g odd-sized), reflect-padding by (size - 1) / 2 so the shape is kept.
Tensor separable_blur(const Tensor& x, const std::vector<double>& g, const char* op) {
  const int64_t size = static_cast<int64_t>(g.size()), r = size / 2;
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  LOOM_CHECK(size % 2 == 1, op, ": the window must have an odd size, got ", size);
  LOOM_CHECK(r < h && r < w, op, ": a window of radius ", r, " is too large for ", h, "x", w,
             " images (reflect padding needs radius < height and width); use a smaller sigma or window");
  Tensor g_row = Tensor::from_vector<double>(g, {1, 1, 1, size}).to(x.dtype()).to(x.device());  // (1, 1, 1, k)
  Tensor g_col = g_row.reshape({1, 1, size, 1});                                                   // (1, 1, k, 1)
  Tensor planes = pad2d(x.reshape({n * c, 1, h, w}), {r, r, r, r}, PadMode::Reflect);             // (NC, 1, H+2r, W+2r)
  Tensor blurred = conv2d(conv2d(planes, g_row), g_col);                                           // (NC, 1, H, W)
  return blurred.reshape({n, c, h, w});
}

}  // namespace

Tensor gaussian_blur(const Tensor& x, double sigma) {
  check_image_batch("gaussian_blur", x, "x");
  LOOM_CHECK(sigma > 0, "gaussian_blur: sigma must be positive, got ", sigma);
  NoGradGuard no_grad;
  const int64_t radius = static_cast<int64_t>(std::ceil(3.0 * sigma));
  return separable_blur(x, gaussian_window(2 * radius + 1, sigma), "gaussian_blur");
}

Tensor ssim_map(const Tensor& a, const Tensor& b, int64_t window, double sigma, double data_range) {
  check_image_batch("ssim_map", a, "a");
  check_image_batch("ssim_map", b, "b");
  LOOM_CHECK(a.shape() == b.shape(), "ssim_map: a ", shape_str(a.shape()), " and b ", shape_str(b.shape()),
             " must have one shape");
  LOOM_CHECK(sigma > 0 && data_range > 0, "ssim_map: sigma and data_range must be positive, got ", sigma, " and ",
             data_range);
  NoGradGuard no_grad;
  const std::vector<double> g = gaussian_window(window, sigma);
  auto blur = [&](const Tensor& t) { return separable_blur(t, g, "ssim_map"); };
  const double c1 = (0.01 * data_range) * (0.01 * data_range), c2 = (0.03 * data_range) * (0.03 * data_range);
  Tensor mu_a = blur(a), mu_b = blur(b);                  // (N, C, H, W) local means
  Tensor var_a = blur(a * a) - mu_a * mu_a;               // w * a^2 - mu_a^2
  Tensor var_b = blur(b * b) - mu_b * mu_b;               // w * b^2 - mu_b^2
  Tensor cov = blur(a * b) - mu_a * mu_b;                 // w * (a b) - mu_a mu_b
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
    Tensor structural = mean(1.0 - ssim_map(x, x_hat, o.ssim_window, o.ssim_sigma, o.data_range), {1}, true);
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
  LOOM_CHECK(positives > 0, "threshold_best_f1: the masks hold no defect pixel (F1 is undefined); use "
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
