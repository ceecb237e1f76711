// test_layers.cpp: each layer against the function it wraps (same tensors, so
// equal bit for bit), batch and instance norm statistics against hand
// computations in double, Dropout's masks and statistics, output sizes against
// PyTorch's formulas, and the shape errors naming the layer.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "nn/nn.h"
#include "tests/test_util.h"

namespace loom::nn {
namespace {

using testing::expect_bitwise_equal;
using testing::expect_close;
using testing::expect_error_containing;

// ---- Linear, Conv2d, ConvTranspose2d --------------------------------------

TEST(Linear, EqualsLinearFunction) {
  Generator gen(11);
  auto fc = make<Linear>({.in = 6, .out = 4}, gen);
  EXPECT_EQ(fc->weight.shape(), (Shape{4, 6}));
  EXPECT_EQ(fc->bias.shape(), (Shape{4}));
  const Tensor x = randn({3, 2, 6}, gen);
  expect_bitwise_equal((*fc)(x), linear(x, fc->weight, fc->bias), "Linear");
  auto no_bias = make<Linear>({.in = 6, .out = 4, .bias = false}, gen);
  EXPECT_FALSE(no_bias->bias.defined());
  EXPECT_EQ(no_bias->named_parameters().size(), 1u);
  expect_bitwise_equal((*no_bias)(x), linear(x, no_bias->weight), "Linear without bias");
}

TEST(Conv2d, EqualsConv2dFunctionAndPyTorchOutputSize) {
  Generator gen(12);
  auto conv = make<Conv2d>({.in = 3, .out = 5, .kernel = {3, 2}, .stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2}},
                           gen);
  EXPECT_EQ(conv->weight.shape(), (Shape{5, 3, 3, 2}));
  const Tensor x = randn({2, 3, 9, 7}, gen);
  const Tensor y = (*conv)(x);
  // O = floor((I + 2p - d (k - 1) - 1) / s) + 1:  H: (9 + 2 - 2 - 1) / 2 + 1 = 5;  W: (7 - 2 - 1) / 1 + 1 = 5
  EXPECT_EQ(y.shape(), (Shape{2, 5, 5, 5}));
  Conv2dOptions opt{.stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2}};
  expect_bitwise_equal(y, conv2d(x, conv->weight, conv->bias, opt), "Conv2d");
}

// Reflect padding built by hand: padded[i] = x[reflect(i - p)], reflect(-k) = k, reflect(H - 1 + k) = H - 1 - k.
Tensor reflect_pad_by_hand(const Tensor& x, int64_t p) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const std::vector<float> v = x.to_vector<float>();
  auto reflect = [](int64_t i, int64_t n) { return i < 0 ? -i : (i >= n ? 2 * n - 2 - i : i); };
  std::vector<float> out;
  for (int64_t nc = 0; nc < N * C; ++nc)
    for (int64_t i = -p; i < H + p; ++i)
      for (int64_t j = -p; j < W + p; ++j) out.push_back(v[(nc * H + reflect(i, H)) * W + reflect(j, W)]);
  return Tensor::from_vector(out, {N, C, H + 2 * p, W + 2 * p});
}

TEST(Conv2d, ReflectPaddingMode) {
  Generator gen(13);
  auto conv = make<Conv2d>({.in = 2, .out = 3, .kernel = 3, .padding = 2, .padding_mode = PaddingMode::Reflect}, gen);
  const Tensor x = randn({1, 2, 5, 6}, gen);
  const Tensor ref = conv2d(reflect_pad_by_hand(x, 2), conv->weight, conv->bias);
  expect_close((*conv)(x), ref.to_vector<double>(), 1e-5, 1e-5, "Conv2d reflect");
  EXPECT_EQ(conv->extra_repr(), "2, 3, kernel_size=3, stride=1, padding=2, padding_mode=reflect");
}

TEST(ConvTranspose2d, EqualsFunctionWithInOutWeightLayout) {
  Generator gen(14);
  auto up = make<ConvTranspose2d>({.in = 4, .out = 2, .kernel = 4, .stride = 2, .padding = 1, .output_padding = 1}, gen);
  EXPECT_EQ(up->weight.shape(), (Shape{4, 2, 4, 4}));  // (in, out, kH, kW) as PyTorch
  EXPECT_EQ(up->bias.shape(), (Shape{2}));
  const Tensor x = randn({2, 4, 3, 5}, gen);
  const Tensor y = (*up)(x);
  // O = (I - 1) s - 2p + d (k - 1) + output_padding + 1:  H: 4 - 2 + 3 + 1 + 1 = 7;  W: 8 - 2 + 3 + 1 + 1 = 11
  EXPECT_EQ(y.shape(), (Shape{2, 2, 7, 11}));
  Conv2dOptions opt{.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1}};
  expect_bitwise_equal(y, conv_transpose2d(x, up->weight, up->bias, opt), "ConvTranspose2d");
  EXPECT_EQ(up->extra_repr(), "4, 2, kernel_size=4, stride=2, padding=1, output_padding=1");
}

TEST(Layers, ShapeErrorsNameTheLayerAndBothShapes) {
  Generator gen(15);
  auto conv = make<Conv2d>({.in = 3, .out = 64, .kernel = 4, .stride = 2, .padding = 1, .bias = false}, gen);
  expect_error_containing([&] { (*conv)(Tensor::zeros({1, 4, 8, 8})); },
                          "Conv2d(3, 64, kernel_size=4, stride=2, padding=1, bias=false): input has 4 channels, "
                          "weight expects 3 (input shape [1, 4, 8, 8], weight shape [64, 3, 4, 4])");
  expect_error_containing([&] { (*conv)(Tensor::zeros({4, 8, 8})); }, "input must have 4 dims (N, C, H, W), got shape [4, 8, 8]");
  auto up = make<ConvTranspose2d>({.in = 8, .out = 3, .kernel = 4}, gen);
  expect_error_containing([&] { (*up)(Tensor::zeros({1, 3, 4, 4})); },
                          "ConvTranspose2d(8, 3, kernel_size=4, stride=1): input has 3 channels, weight expects 8");
  auto fc = make<Linear>({.in = 10, .out = 2}, gen);
  expect_error_containing([&] { (*fc)(Tensor::zeros({5, 9})); },
                          "Linear(in_features=10, out_features=2, bias=true): input has 9 features in its last dim, "
                          "weight expects 10 (input shape [5, 9], weight shape [2, 10])");
  auto bn = make<BatchNorm2d>({.features = 16, .affine = false});
  expect_error_containing([&] { (*bn)(Tensor::zeros({2, 8, 4, 4})); }, "input has 8 channels, expected 16");
  auto instance = make<InstanceNorm2d>({.features = 16});
  expect_error_containing([&] { (*instance)(Tensor::zeros({4, 16, 1, 1})); }, "more than 1 spatial element");
  auto counted = make<BatchNorm2d>({.features = 16});
  expect_error_containing([&] { (*counted)(Tensor::zeros({1, 16, 1, 1})); }, "more than 1 value per channel");
  expect_error_containing([&] { (*counted)(Tensor::zeros({2, 16, 4, 4}, DType::Float64)); }, "batch_norm");
  EXPECT_EQ(counted->num_batches_tracked.item(), 0.0);  // failed batches are not counted
  expect_error_containing([&] { make<Conv2d>({.in = 3, .out = 8}); }, "Conv2d: kernel must be positive");
  expect_error_containing([&] { make<ConvTranspose2d>({.in = 3, .out = 8, .kernel = 3, .stride = 2, .output_padding = 2}); },
                          "output_padding 2 must be non-negative and smaller than stride 2");
}

// ---- BatchNorm2d -----------------------------------------------------------

struct ChannelStats {
  std::vector<double> mean, biased_var, unbiased_var;
};

// Per-channel statistics of x (N, C, H, W), in double.
ChannelStats channel_stats(const Tensor& x) {
  const int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
  const std::vector<double> v = x.to_vector<double>();
  ChannelStats s;
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0, sq = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) sum += v[(n * C + c) * HW + i];
    const double M = static_cast<double>(N * HW), m = sum / M;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) sq += (v[(n * C + c) * HW + i] - m) * (v[(n * C + c) * HW + i] - m);
    s.mean.push_back(m);
    s.biased_var.push_back(sq / M);
    s.unbiased_var.push_back(sq / (M - 1));
  }
  return s;
}

// (x - mean_c) / sqrt(var_c + eps) w_c + b_c, in double.
std::vector<double> normalise_by_hand(const Tensor& x, const std::vector<double>& mean, const std::vector<double>& var,
                                      const Tensor& w, const Tensor& b, double eps) {
  const int64_t C = x.size(1), HW = x.size(2) * x.size(3);
  const std::vector<double> v = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const int64_t c = (static_cast<int64_t>(i) / HW) % C;
    out[i] = (v[i] - mean[c]) / std::sqrt(var[c] + eps) * wv[c] + bv[c];
  }
  return out;
}

TEST(BatchNorm2d, StateNamesAndInitialValues) {
  BatchNorm2d bn({.features = 3});
  EXPECT_EQ(bn.weight.to_vector<double>(), (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(bn.bias.to_vector<double>(), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(bn.running_mean.to_vector<double>(), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(bn.running_var.to_vector<double>(), (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(bn.num_batches_tracked.item(), 0.0);
  BatchNorm2d bare({.features = 3, .affine = false, .track_running_stats = false});
  EXPECT_TRUE(bare.state_dict().empty());
}

TEST(BatchNorm2d, TrainingUsesBatchStatisticsAndUpdatesRunningOnes) {
  Generator gen(21);
  BatchNorm2d bn({.features = 3, .momentum = 0.25});
  init::normal_(bn.weight, 1.0, 0.5, gen);
  init::normal_(bn.bias, 0.0, 0.5, gen);
  const Tensor x = randn({4, 3, 5, 5}, gen) * 2.0 + 1.0;
  const ChannelStats s = channel_stats(x);
  expect_close(bn(x), normalise_by_hand(x, s.mean, s.biased_var, bn.weight, bn.bias, 1e-5), 1e-5, 1e-5,
               "BatchNorm2d training output");
  std::vector<double> rm(3), rv(3);
  for (int c = 0; c < 3; ++c) {
    rm[c] = 0.75 * 0.0 + 0.25 * s.mean[c];
    rv[c] = 0.75 * 1.0 + 0.25 * s.unbiased_var[c];
  }
  expect_close(bn.running_mean, rm, 1e-6, 1e-5, "running_mean");
  expect_close(bn.running_var, rv, 1e-6, 1e-5, "running_var");
  EXPECT_EQ(bn.num_batches_tracked.item(), 1.0);
  bn(x);
  EXPECT_EQ(bn.num_batches_tracked.item(), 2.0);
}

TEST(BatchNorm2d, EvalUsesRunningStatisticsAndChangesNothing) {
  Generator gen(22);
  BatchNorm2d bn({.features = 2});
  bn.running_mean.copy_(Tensor::from_vector<float>({0.5f, -1.0f}, {2}));
  bn.running_var.copy_(Tensor::from_vector<float>({2.0f, 0.25f}, {2}));
  init::normal_(bn.weight, 1.0, 0.5, gen);
  bn.eval();
  const Tensor x = randn({3, 2, 4, 4}, gen);
  expect_close(bn(x), normalise_by_hand(x, {0.5, -1.0}, {2.0, 0.25}, bn.weight, bn.bias, 1e-5), 1e-5, 1e-5,
               "BatchNorm2d eval output");
  EXPECT_EQ(bn.running_mean.to_vector<double>(), (std::vector<double>{0.5, -1.0}));
  EXPECT_EQ(bn.num_batches_tracked.item(), 0.0);
}

TEST(BatchNorm2d, UnsetMomentumIsACumulativeAverage) {
  Generator gen(23);
  BatchNorm2d bn({.features = 2, .momentum = std::nullopt});
  const Tensor x1 = randn({2, 2, 3, 3}, gen), x2 = randn({2, 2, 3, 3}, gen) + 3.0;
  bn(x1);
  bn(x2);
  const ChannelStats s1 = channel_stats(x1), s2 = channel_stats(x2);
  // momentum 1/1 then 1/2: the plain mean of the two batches
  expect_close(bn.running_mean, {(s1.mean[0] + s2.mean[0]) / 2, (s1.mean[1] + s2.mean[1]) / 2}, 1e-6, 1e-5,
               "running_mean");
  expect_close(bn.running_var,
               {(s1.unbiased_var[0] + s2.unbiased_var[0]) / 2, (s1.unbiased_var[1] + s2.unbiased_var[1]) / 2}, 1e-6,
               1e-5, "running_var");
  EXPECT_EQ(bn.extra_repr(), "2, eps=1e-05, momentum=none, affine=true, track_running_stats=true");
}

TEST(BatchNorm2d, WithoutRunningStatisticsEvalUsesTheBatch) {
  Generator gen(24);
  BatchNorm2d bn({.features = 3, .track_running_stats = false});
  bn.eval();
  const Tensor x = randn({2, 3, 4, 4}, gen);
  expect_bitwise_equal(bn(x), batch_norm(x, bn.weight, bn.bias, Tensor(), Tensor(), true), "batch statistics in eval");
}

// ---- InstanceNorm2d --------------------------------------------------------

TEST(InstanceNorm2d, EqualsInstanceNormAndTracksMeanOfPlaneStatistics) {
  Generator gen(31);
  InstanceNorm2d in({.features = 2, .momentum = 0.5, .affine = true, .track_running_stats = true});
  EXPECT_EQ(in.state_dict().size(), 5u);
  init::normal_(in.weight, 1.0, 0.5, gen);
  const Tensor x = randn({3, 2, 4, 4}, gen) * 1.5 + 0.5;
  expect_bitwise_equal(in(x), instance_norm(x, in.weight, in.bias), "InstanceNorm2d training");
  // Per plane (n, c) statistics by hand; the running update blends in their mean over n.
  std::vector<double> rm{0, 0}, rv{1, 1};
  for (int64_t c = 0; c < 2; ++c) {
    double mean_of_means = 0, mean_of_vars = 0;
    for (int64_t n = 0; n < 3; ++n) {
      const ChannelStats s = channel_stats(x.slice(0, n, n + 1).slice(1, c, c + 1));
      mean_of_means += s.mean[0] / 3;
      mean_of_vars += s.unbiased_var[0] / 3;
    }
    rm[c] = 0.5 * rm[c] + 0.5 * mean_of_means;
    rv[c] = 0.5 * rv[c] + 0.5 * mean_of_vars;
  }
  expect_close(in.running_mean, rm, 1e-6, 1e-5, "running_mean");
  expect_close(in.running_var, rv, 1e-6, 1e-5, "running_var");
  EXPECT_EQ(in.num_batches_tracked.item(), 0.0);  // PyTorch's InstanceNorm never counts batches
  in.eval();
  expect_close(in(x), normalise_by_hand(x, rm, rv, in.weight, in.bias, 1e-5), 1e-5, 1e-5, "eval with running stats");
}

TEST(InstanceNorm2d, DefaultHasNoStateAndNormalisesEachPlane) {
  Generator gen(32);
  InstanceNorm2d in({.features = 3});
  EXPECT_TRUE(in.state_dict().empty());
  in.eval();
  const Tensor x = randn({2, 3, 5, 5}, gen);
  expect_bitwise_equal(in(x), instance_norm(x), "InstanceNorm2d eval without running stats");
}

// ---- activations, containers, pooling, upsampling ----------------------------

TEST(Activations, EqualTheirFunctions) {
  Generator gen(41);
  const Tensor x = randn({2, 3, 4}, gen);
  expect_bitwise_equal(ReLU()(x), relu(x), "ReLU");
  expect_bitwise_equal(LeakyReLU(0.2)(x), leaky_relu(x, 0.2), "LeakyReLU");
  expect_bitwise_equal(LeakyReLU()(x), leaky_relu(x, 0.01), "LeakyReLU default slope");
  expect_bitwise_equal(Tanh()(x), tanh(x), "Tanh");
  expect_bitwise_equal(Sigmoid()(x), sigmoid(x), "Sigmoid");
  EXPECT_TRUE(Identity()(x).is_same(x));
  EXPECT_EQ(Flatten()(x).shape(), (Shape{2, 12}));
  EXPECT_EQ(Flatten(0, 1)(x).shape(), (Shape{6, 4}));
}

TEST(Pooling, EqualsTheFunctions) {
  Generator gen(42);
  const Tensor x = randn({2, 3, 8, 6}, gen);
  expect_bitwise_equal(MaxPool2d({.kernel = 2})(x), max_pool2d(x, 2, 2), "MaxPool2d");
  expect_bitwise_equal(MaxPool2d({.kernel = 3, .stride = 2, .padding = 1})(x), max_pool2d(x, 3, 2, 1),
                       "MaxPool2d strided");
  expect_bitwise_equal(AvgPool2d({.kernel = 3, .stride = 1, .padding = 1, .count_include_pad = false})(x),
                       avg_pool2d(x, 3, 1, 1, false), "AvgPool2d");
  expect_bitwise_equal(AdaptiveAvgPool2d(1)(x), adaptive_avg_pool2d(x, 1), "AdaptiveAvgPool2d");
  // O = floor((I + 2p - k) / s) + 1 = floor((8 + 2 - 3) / 2) + 1 = 4 (H), floor(5 / 2) + 1 = 3 (W)
  EXPECT_EQ(MaxPool2d({.kernel = 3, .stride = 2, .padding = 1})(x).shape(), (Shape{2, 3, 4, 3}));
  EXPECT_EQ(MaxPool2d({.kernel = 2}).extra_repr(), "kernel_size=2, stride=2, padding=0");
  expect_error_containing([] { MaxPool2d({.kernel = 2, .padding = 2}); }, "padding must be in [0, kernel / 2]");
}

TEST(Upsample, EqualsTheFunctions) {
  Generator gen(43);
  const Tensor x = randn({1, 2, 3, 5}, gen);
  expect_bitwise_equal(Upsample({.scale_factor = 2.0})(x), upsample_nearest(x, 6, 10), "nearest x2");
  // floor(3 * 1.5) = 4, floor(5 * 1.5) = 7
  expect_bitwise_equal(Upsample({.scale_factor = 1.5, .mode = UpsampleMode::Bilinear})(x),
                       upsample_bilinear(x, 4, 7, false), "bilinear x1.5");
  expect_bitwise_equal(Upsample({.size = Size2{7, 9}, .mode = UpsampleMode::Bilinear, .align_corners = true})(x),
                       upsample_bilinear(x, 7, 9, true), "bilinear align_corners");
  EXPECT_EQ(Upsample({.size = Size2{7, 9}, .mode = UpsampleMode::Bilinear, .align_corners = true}).extra_repr(),
            "size=(7, 9), mode=bilinear, align_corners=true");
  expect_error_containing([] { Upsample({}); }, "exactly one of size and scale_factor");
  expect_error_containing([] { Upsample({.scale_factor = 2.0, .align_corners = true}); }, "bilinear mode only");
}

// ---- Dropout ---------------------------------------------------------------

TEST(Dropout, SameSeedSameMaskAndFreshMasksAfterwards) {
  Generator g1(7), g2(7);
  Dropout d1(0.5, g1), d2(0.5, g2);
  const Tensor x = Tensor::ones({64, 64});
  const Tensor a = d1(x), b = d2(x);
  expect_bitwise_equal(a, b, "same seed, same mask");
  const std::vector<double> next = d1(x).to_vector<double>();
  EXPECT_NE(next, a.to_vector<double>());  // the generator moved on
}

TEST(Dropout, EvalIsIdentityAndEdgeProbabilities) {
  Generator gen(8);
  Dropout d(0.3, gen);
  const Tensor x = randn({5, 7}, gen);
  d.eval();
  const Generator::State before = gen.state();
  EXPECT_TRUE(d(x).is_same(x));
  EXPECT_EQ(gen.state(), before);  // eval draws nothing
  d.train();
  EXPECT_TRUE(Dropout(0.0, gen)(x).is_same(x));
  EXPECT_EQ(Dropout(1.0, gen)(x).to_vector<double>(), std::vector<double>(35, 0.0));
  expect_error_containing([&] { Dropout(1.5, gen); }, "p must be in [0, 1]");
}

TEST(Dropout, KeepsTheMeanAndDropsAFractionP) {
  Generator gen(9);
  const double p = 0.3;
  const int64_t n = 200000;
  Dropout d(p, gen);
  const std::vector<double> y = d(Tensor::ones({n})).to_vector<double>();
  double sum = 0;
  int64_t zeros = 0;
  for (double v : y) {
    sum += v;
    if (v == 0.0)
      ++zeros;
    else
      EXPECT_NEAR(v, 1.0 / (1.0 - p), 1e-6);
  }
  // y = B / (1 - p), B ~ Bernoulli(1 - p): E y = 1, Var y = p / (1 - p)
  const double se_mean = std::sqrt(p / (1.0 - p) / n);
  EXPECT_NEAR(sum / n, 1.0, 5 * se_mean);
  const double se_fraction = std::sqrt(p * (1 - p) / n);
  EXPECT_NEAR(static_cast<double>(zeros) / n, p, 5 * se_fraction);
}

TEST(Dropout, GradientIsTheScaledMask) {
  Generator gen(10);
  Dropout d(0.25, gen);
  Tensor x = randn({100}, gen);
  x.requires_grad_(true);
  const Tensor y = d(x);
  sum(y).backward();
  const std::vector<double> xv = x.to_vector<double>(), yv = y.to_vector<double>(), g = x.grad().to_vector<double>();
  for (size_t i = 0; i < xv.size(); ++i) EXPECT_NEAR(g[i] * xv[i], yv[i], 1e-6);  // y = x m / (1 - p), dy/dx = m / (1 - p)
}

}  // namespace
}  // namespace loom::nn
