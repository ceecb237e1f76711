// test_wae.cpp: the WAE-MMD model (models/wae.h) and the anomaly maps and
// thresholds (models/anomaly.h): shapes, the objective against float64 hand
// computations, MMD behaviour, anomaly-map localisation, threshold selection
// on hand examples, and a tiny overfit run.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "models/anomaly.h"
#include "models/gaussian_blur.h"
#include "models/wae.h"
#include "nn/nn.h"
#include "tests/models/wae_unet_torch.h"

namespace loom::models {
namespace {

// ---- shapes -------------------------------------------------------------------------------

TEST(Wae, ShapesFor32_64_128AndOneOrThreeChannels) {
  Generator gen(1);
  for (int64_t size : {32, 64, 128}) {
    for (int64_t channels : {1, 3}) {
      Wae wae({.image_size = size, .channels = channels, .latent = 5, .width = 4}, gen);
      Tensor x = rand({2, channels, size, size}, gen);
      Tensor z = wae.encode(x);
      EXPECT_EQ(z.shape(), (Shape{2, 5})) << "size " << size << " channels " << channels;
      Tensor x_hat = wae.decode(z);
      EXPECT_EQ(x_hat.shape(), x.shape()) << "size " << size << " channels " << channels;
      EXPECT_EQ(wae(x).shape(), x.shape());
    }
  }
}

TEST(Wae, OutputRangeFollowsTheFinalActivation) {
  Generator gen(2);
  Wae sigmoid_wae({.image_size = 32, .channels = 1, .latent = 4, .width = 4, .output = WaeOutput::Sigmoid}, gen);
  Wae tanh_wae({.image_size = 32, .channels = 1, .latent = 4, .width = 4, .output = WaeOutput::Tanh}, gen);
  Tensor z = randn({3, 4}, gen) * 10.0;
  std::vector<float> s = sigmoid_wae.decode(z).to_vector<float>(), t = tanh_wae.decode(z).to_vector<float>();
  for (float v : s) ASSERT_TRUE(v >= 0.0f && v <= 1.0f) << v;
  for (float v : t) ASSERT_TRUE(v >= -1.0f && v <= 1.0f) << v;
  EXPECT_LT(*std::min_element(t.begin(), t.end()), 0.0f);  // tanh actually uses the negative half
}

TEST(Wae, StateDictNamesAndStageCount) {
  Generator gen(3);
  EXPECT_EQ(wae_stages(32), 3);
  EXPECT_EQ(wae_stages(64), 4);
  EXPECT_EQ(wae_stages(128), 5);
  Wae wae({.image_size = 32, .channels = 3, .latent = 6, .width = 4}, gen);
  bool has_encoder_conv = false, has_projection = false;
  for (const auto& [name, t] : wae.state_dict()) {
    if (name == "encoder.body.0.weight") has_encoder_conv = t.shape() == Shape{4, 3, 4, 4};
    if (name == "decoder.project.weight") has_projection = t.shape() == Shape{16 * 16, 6};  // c_L = 4 w = 16
  }
  EXPECT_TRUE(has_encoder_conv);
  EXPECT_TRUE(has_projection);
}

TEST(Wae, RefusesBadOptionsAndInputs) {
  Generator gen(4);
  EXPECT_THROW(Wae({.image_size = 48, .channels = 1}, gen), Error);
  EXPECT_THROW(Wae({.image_size = 32, .channels = 2}, gen), Error);
  Wae wae({.image_size = 32, .channels = 1, .latent = 4, .width = 4}, gen);
  EXPECT_THROW(wae(rand({1, 1, 64, 64}, gen)), Error);  // wrong size
  EXPECT_THROW(wae(rand({1, 3, 32, 32}, gen)), Error);  // wrong channels
  EXPECT_THROW(wae.decode(rand({1, 5}, gen)), Error);   // wrong latent size
}

// loom's WAE and its restatement in torch.nn (tests/models/wae_unet_torch.py)
// with the same state dict give the same code and reconstruction.
void check_wae_against_torch(const WaeOptions& options) {
  Generator gen(40 + options.image_size);
  Wae wae(options, gen);
  testing::perturb_vectors(wae, gen);
  Tensor x = rand({3, options.channels, options.image_size, options.image_size}, gen);
  const std::string args = "wae " + std::to_string(options.image_size) + " " + std::to_string(options.channels) + " " +
                           std::to_string(options.latent) + " " + std::to_string(options.width) + " " +
                           (options.output == WaeOutput::Sigmoid ? "sigmoid" : "tanh");
  auto ref = testing::run_torch_restatement(wae, x, args);
  if (ref.empty()) return;
  NoGradGuard no_grad;
  wae.eval();
  testing::expect_close_to(wae.encode(x), ref.at("z_eval"), 1e-5, 1e-4, "WAE code, eval mode");
  testing::expect_close_to(wae(x), ref.at("eval"), 1e-5, 1e-4, "WAE reconstruction, eval mode");
  wae.train();
  testing::expect_close_to(wae(x), ref.at("train"), 1e-5, 1e-4, "WAE reconstruction, training mode");
}

TEST(WaeTorch, Grey32Sigmoid) { check_wae_against_torch({.image_size = 32, .channels = 1, .latent = 5, .width = 3}); }

TEST(WaeTorch, Rgb64Tanh) {
  check_wae_against_torch({.image_size = 64, .channels = 3, .latent = 7, .width = 2, .output = WaeOutput::Tanh});
}

// ---- the objective ------------------------------------------------------------------------

// MMD_k in float64 by the paper's formula, with loops.
double hand_mmd(const std::vector<double>& z, const std::vector<double>& p, int64_t n, int64_t d, double sigma2) {
  auto sq = [&](const std::vector<double>& a, int64_t i, const std::vector<double>& b, int64_t j) {
    double s = 0;
    for (int64_t k = 0; k < d; ++k) s += (a[i * d + k] - b[j * d + k]) * (a[i * d + k] - b[j * d + k]);
    return s;
  };
  double total = 0;
  for (double scale : {0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0}) {
    const double c = 2.0 * d * sigma2 * scale;
    double within = 0, across = 0;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        if (i != j) within += c / (c + sq(z, i, z, j)) + c / (c + sq(p, i, p, j));
        across += c / (c + sq(z, i, p, j));
      }
    }
    total += within / (n * (n - 1.0)) - 2.0 * across / (double(n) * n);
  }
  return total;
}

TEST(WaeLoss, MatchesAFloat64HandComputation) {
  const int64_t n = 3, d = 2;
  const double sigma2 = 2.0;
  std::vector<double> z_values = {0.5, -1.0, 2.0, 0.25, -0.75, 1.5};
  std::vector<double> x_values = {0.1, 0.9, 0.4, 0.6, 0.0, 1.0, 0.3, 0.7, 0.2, 0.8, 0.5, 0.5};  // (3, 1, 2, 2)
  std::vector<double> y_values = {0.2, 0.7, 0.4, 0.9, 0.1, 1.0, 0.0, 0.7, 0.6, 0.8, 0.5, 0.1};
  Tensor z = Tensor::from_vector<double>(z_values, {n, d});
  Tensor x = Tensor::from_vector<double>(x_values, {n, 1, 2, 2}),
         y = Tensor::from_vector<double>(y_values, {n, 1, 2, 2});

  Generator prior_gen(11), loss_gen(11);  // the loss draws the same prior sample as prior_gen
  std::vector<double> prior = sample_wae_prior(n, d, sigma2, prior_gen, DType::Float64).to_vector<double>();
  WaeLossOptions options{.reconstruction_weight = 0.05, .lambda = 7.0, .sigma2 = sigma2};
  WaeLoss loss = wae_loss(x, y, z, loss_gen, options);

  double squared = 0, absolute = 0;
  for (size_t i = 0; i < x_values.size(); ++i) {
    squared += (x_values[i] - y_values[i]) * (x_values[i] - y_values[i]);
    absolute += std::abs(x_values[i] - y_values[i]);
  }
  const double reconstruction = 0.05 * squared / n;  // 0.05 mean_n sum_{chw} ||x - y||^2
  const double mmd = hand_mmd(z_values, prior, n, d, sigma2);
  EXPECT_NEAR(loss.reconstruction.item(), reconstruction, 1e-12);
  EXPECT_NEAR(loss.mmd.item(), mmd, 1e-12);
  EXPECT_NEAR(loss.total.item(), reconstruction + 7.0 * mmd, 1e-12);

  Generator l1_gen(11);
  options.cost = ReconstructionCost::L1;
  EXPECT_NEAR(wae_loss(x, y, z, l1_gen, options).reconstruction.item(), 0.05 * absolute / n, 1e-12);
}

TEST(WaeLoss, MmdTermTrainsTheEncoderOnly) {
  // With the reconstruction weight 0 the loss is lambda MMD(z, prior): the
  // encoder gets gradients, the decoder none (its output is not used).
  Generator gen(13);
  Wae wae({.image_size = 32, .channels = 1, .latent = 4, .width = 2}, gen);
  Tensor x = rand({4, 1, 32, 32}, gen);
  Tensor z = wae.encode(x);
  wae_loss(x, wae.decode(z), z, gen, {.reconstruction_weight = 0.0, .lambda = 3.0}).total.backward();
  for (const auto& [name, p] : wae.encoder->named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    double norm = 0;
    for (double g : p.grad().to_vector<double>()) norm += g * g;
    EXPECT_GT(norm, 0.0) << name;
  }
  for (const auto& [name, p] : wae.decoder->named_parameters()) {
    if (!p.grad().defined()) continue;
    for (double g : p.grad().to_vector<double>()) ASSERT_EQ(g, 0.0) << name;
  }
}

TEST(WaeLoss, PriorSampleHasTheRequestedVariance) {
  Generator gen(5);
  std::vector<double> v = sample_wae_prior(4000, 4, 2.0, gen, DType::Float64).to_vector<double>();
  double mean_value = 0, square = 0;
  for (double a : v) mean_value += a / v.size();
  for (double a : v) square += (a - mean_value) * (a - mean_value) / v.size();
  EXPECT_NEAR(mean_value, 0.0, 0.05);  // standard error sqrt(2 / 16000) = 0.011
  EXPECT_NEAR(square, 2.0, 0.1);       // standard error about 2 sqrt(2 / 16000) = 0.022
}

TEST(WaeLoss, MmdIsSmallForOneDistributionAndLargerForShiftedOnes) {
  Generator gen(6);
  const int64_t n = 128, d = 8;
  Tensor a = randn({n, d}, gen, DType::Float64), b = randn({n, d}, gen, DType::Float64);
  const double same = mmd_imq(a, b).item();
  const double shift_half = mmd_imq(a + 0.5, b).item();
  const double shift_two = mmd_imq(a + 2.0, b).item();
  // The unbiased estimate of a zero MMD is noise of order 1/n around 0.
  EXPECT_LT(std::abs(same), 0.02) << "same " << same << " shift 0.5 " << shift_half << " shift 2 " << shift_two;
  EXPECT_GT(shift_half, 5 * std::abs(same));
  EXPECT_GT(shift_two, shift_half);  // grows with the shift
}

// ---- anomaly maps -------------------------------------------------------------------------

// A textured (N, C, H, W) image in [0, 1].
Tensor texture(int64_t n, int64_t c, int64_t h, int64_t w, Generator& gen) {
  return gaussian_blur(rand({n, c, h, w}, gen), 1.0);
}

TEST(AnomalyMap, IsZeroForAPerfectReconstruction) {
  Generator gen(7);
  Tensor x = texture(2, 3, 32, 32, gen);
  Tensor map = anomaly_map(x, x.clone(), {.smooth_sigma = 2.0, .ssim_weight = 0.5});
  EXPECT_EQ(map.shape(), (Shape{2, 1, 32, 32}));
  for (float v : map.to_vector<float>()) ASSERT_NEAR(v, 0.0f, 1e-6f);
}

TEST(AnomalyMap, WithoutSmoothingIsTheChannelMeanOfTheAbsoluteResidual) {
  Generator gen(8);
  Tensor x = rand({1, 3, 8, 8}, gen), y = rand({1, 3, 8, 8}, gen);
  std::vector<float> map = anomaly_map(x, y, {.smooth_sigma = 0.0}).to_vector<float>();
  std::vector<float> xv = x.to_vector<float>(), yv = y.to_vector<float>();
  for (int64_t p = 0; p < 64; ++p) {
    double r = 0;
    for (int64_t c = 0; c < 3; ++c) r += std::abs(double(xv[c * 64 + p]) - yv[c * 64 + p]) / 3.0;
    ASSERT_NEAR(map[p], r, 1e-6) << "pixel " << p;
  }
}

TEST(AnomalyMap, IsLocalisedWhereTheInputWasAltered) {
  Generator gen(9);
  Tensor clean = texture(1, 1, 32, 32, gen);
  Tensor altered = clean.clone();
  altered.slice(2, 12, 16).slice(3, 18, 22).fill_(1.0);  // a 4x4 bright defect, rows 12..15, cols 18..21
  for (double ssim_weight : {0.0, 0.5}) {
    const double sigma = 1.0;  // radius ceil(3 sigma) = 3
    Tensor map = anomaly_map(altered, clean, {.smooth_sigma = sigma, .ssim_weight = ssim_weight});
    std::vector<float> a = map.to_vector<float>();
    int64_t best = 0;
    for (int64_t p = 1; p < 32 * 32; ++p) best = a[p] > a[best] ? p : best;
    EXPECT_TRUE(best / 32 >= 12 && best / 32 < 16 && best % 32 >= 18 && best % 32 < 22)
        << "argmax at row " << best / 32 << " col " << best % 32 << ", ssim_weight " << ssim_weight;
    // Far from the defect (beyond the smoothing radius plus the SSIM window's
    // radius 5) the map is zero.
    const int64_t reach = 3 + (ssim_weight > 0 ? 5 : 0);
    for (int64_t row = 0; row < 32; ++row) {
      for (int64_t col = 0; col < 32; ++col) {
        const bool far = row < 12 - reach || row >= 16 + reach || col < 18 - reach || col >= 22 + reach;
        if (!far) continue;
        ASSERT_NEAR(a[row * 32 + col], 0.0f, 1e-6f) << row << "," << col << " ssim_weight " << ssim_weight;
      }
    }
  }
}

TEST(AnomalyMap, SmoothsAOnePixelResidualIntoTheNormalisedGaussian) {
  Tensor x = Tensor::zeros({1, 3, 21, 21}, DType::Float64), x_hat = x.clone();
  x.slice(2, 10, 11).slice(3, 10, 11).fill_(0.6);  // residual 0.6 in every channel at (10, 10)
  const double sigma = 1.5;                        // radius ceil(4.5) = 5
  Tensor map = anomaly_map(x, x_hat, {.smooth_sigma = sigma});
  double norm = 0;
  for (int64_t i = -5; i <= 5; ++i) norm += std::exp(-i * i / (2 * sigma * sigma));
  for (int64_t dy = -6; dy <= 6; ++dy) {
    for (int64_t dx = -6; dx <= 6; ++dx) {
      const bool inside = std::abs(dy) <= 5 && std::abs(dx) <= 5;
      // 0.6 g(dy) g(dx), g(k) = exp(-k^2 / (2 sigma^2)) / norm
      const double expected = inside ? 0.6 * std::exp(-(dx * dx + dy * dy) / (2 * sigma * sigma)) / (norm * norm) : 0.0;
      ASSERT_NEAR(map.at({0, 0, 10 + dy, 10 + dx}), expected, 1e-12) << dy << "," << dx;
    }
  }
}

TEST(AnomalyMap, SsimMapAveragedOverValidPositionsIsAutogradSsim) {
  Generator gen(10);
  Tensor a = rand({2, 3, 24, 20}, gen, DType::Float64);
  Tensor b = (a * 0.7 + rand({2, 3, 24, 20}, gen, DType::Float64) * 0.3);
  Tensor map = ssim_map(a, b, 1.5, 1.0);                       // (2, 3, 24, 20), 'same' positions, window radius 5
  Tensor valid = map.slice(2, 5, 24 - 5).slice(3, 5, 20 - 5);  // positions whose window fits: loom::ssim's
  EXPECT_NEAR(mean(valid).item(), ssim(a, b, 11, 1.5, 1e-4, 9e-4).item(), 1e-12);
}

// ---- thresholds ---------------------------------------------------------------------------

TEST(Threshold, MeanPlusKSigmaOnAHandExample) {
  Tensor maps = Tensor::from_vector<float>({1, 2, 3, 4}, {1, 1, 2, 2});
  // mean 2.5, population variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
  EXPECT_NEAR(threshold_mean_k_sigma(maps, 2.0), 2.5 + 2.0 * std::sqrt(1.25), 1e-12);
  EXPECT_NEAR(threshold_mean_k_sigma(maps, 0.0), 2.5, 1e-12);
}

TEST(Threshold, BestF1OnAHandExample) {
  Tensor maps = Tensor::from_vector<float>({0.9f, 0.8f, 0.7f, 0.6f, 0.2f, 0.1f}, {1, 1, 2, 3});
  Tensor masks = Tensor::from_vector<float>({1, 1, 0, 1, 0, 0}, {1, 1, 2, 3});
  // t = 0.9: F1 2/4; 0.8: 4/5; 0.7: 4/6; 0.6: TP 3, FP 1, FN 0 -> 6/7; 0.2: 6/8; 0.1: 6/9
  F1Threshold best = threshold_best_f1(maps, masks);
  EXPECT_FLOAT_EQ(best.threshold, 0.6f);
  EXPECT_NEAR(best.f1, 6.0 / 7.0, 1e-12);
  EXPECT_NEAR(best.precision, 0.75, 1e-12);
  EXPECT_NEAR(best.recall, 1.0, 1e-12);
}

TEST(Threshold, BestF1TreatsTiedScoresAsOneThreshold) {
  // Scores 0.5 are tied: a threshold cannot separate the defect at 0.5 from
  // the two background pixels at 0.5. t = 0.9: TP 1, FN 1 -> 2/3;
  // t = 0.5: TP 2, FP 2 -> 4/6; the tie in F1 keeps the higher threshold.
  Tensor maps = Tensor::from_vector<float>({0.9f, 0.5f, 0.5f, 0.5f}, {4});
  Tensor masks = Tensor::from_vector<float>({1, 1, 0, 0}, {4});
  F1Threshold best = threshold_best_f1(maps, masks);
  EXPECT_FLOAT_EQ(best.threshold, 0.9f);
  EXPECT_NEAR(best.f1, 2.0 / 3.0, 1e-12);
  EXPECT_THROW(threshold_best_f1(maps, Tensor::zeros({4})), Error);  // no defect pixel
  EXPECT_THROW(threshold_best_f1(maps, Tensor::zeros({5})), Error);  // shape mismatch
}

// ---- tiny overfit -------------------------------------------------------------------------

// Eight 32x32 grey patterns in [0, 1]: vertical and horizontal stripes of
// periods 4 and 8, checkerboards of cells 4 and 8, a centred square and a ring.
Tensor procedural_patterns() {
  const int64_t s = 32;
  std::vector<float> v(8 * s * s);
  for (int64_t y = 0; y < s; ++y) {
    for (int64_t x = 0; x < s; ++x) {
      const double r2 = (y - 15.5) * (y - 15.5) + (x - 15.5) * (x - 15.5);
      const float patterns[8] = {float((x / 4) % 2),
                                 float((x / 8) % 2),
                                 float((y / 4) % 2),
                                 float((y / 8) % 2),
                                 float((x / 4 + y / 4) % 2),
                                 float((x / 8 + y / 8) % 2),
                                 float(std::abs(x - 15.5) < 8 && std::abs(y - 15.5) < 8),
                                 float(r2 > 36 && r2 < 144)};
      for (int64_t i = 0; i < 8; ++i) v[(i * s + y) * s + x] = 0.1f + 0.8f * patterns[i];
    }
  }
  return Tensor::from_vector<float>(v, {8, 1, s, s});
}

TEST(WaeOverfit, ReconstructionFallsOnAFixedTinyBatch) {
  Generator gen(12);
  Wae wae({.image_size = 32, .channels = 1, .latent = 8, .width = 4}, gen);
  nn::Adam optimizer(wae.named_parameters(), {.lr = 1e-2});
  Tensor x = procedural_patterns();  // (8, 1, 32, 32)
  const WaeLossOptions options{.reconstruction_weight = 1.0, .lambda = 10.0, .sigma2 = 1.0};
  double first = 0, last = 0;
  const int steps = 60;
  for (int step = 0; step < steps; ++step) {
    optimizer.zero_grad();
    Tensor z = wae.encode(x);
    WaeLoss loss = wae_loss(x, wae.decode(z), z, gen, options);
    loss.total.backward();
    optimizer.step();
    if (step == 0) first = loss.reconstruction.item();
    last = loss.reconstruction.item();
    ASSERT_TRUE(std::isfinite(loss.total.item())) << "step " << step;
  }
  EXPECT_LT(last, first / 10.0) << "reconstruction " << first << " -> " << last << " in " << steps << " Adam steps";

  // Detection with the trained model: an 8x8 patch of a training image
  // inverted (rows 4..11, cols 20..27 of image 0) is where the map peaks.
  Tensor altered = x.slice(0, 0, 1).clone();  // (1, 1, 32, 32)
  Tensor patch = altered.slice(2, 4, 12).slice(3, 20, 28);
  patch.copy_(1.0 - patch.clone());
  ASSERT_TRUE(wae.is_training());
  Tensor map = wae_anomaly_map(wae, altered, {.smooth_sigma = 1.0});
  EXPECT_TRUE(wae.is_training());  // the mode is restored
  ASSERT_EQ(map.shape(), (Shape{1, 1, 32, 32}));
  double inside = 0, outside = 0;
  for (int64_t row = 0; row < 32; ++row) {
    for (int64_t col = 0; col < 32; ++col) {
      const bool in_patch = row >= 4 && row < 12 && col >= 20 && col < 28;
      (in_patch ? inside : outside) += map.at({0, 0, row, col}) / (in_patch ? 64.0 : 960.0);
    }
  }
  EXPECT_GT(inside, 3.0 * outside) << "mean anomaly inside the altered patch " << inside << ", outside " << outside;
}

}  // namespace
}  // namespace loom::models
