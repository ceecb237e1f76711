// test_init.cpp: the initialisers. Fan and gain rules against formulas and,
// where /usr/bin/python3 has torch, against torch.nn.init itself; sample mean
// and variance of each random initialiser within 5 standard errors of the
// theoretical values; the default init of each layer against PyTorch's bound;
// dcgan_init_.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>

#include "autograd/grad_mode.h"
#include "nn/nn.h"
#include "tests/test_util.h"

namespace loom::nn {
namespace {

using init::FanMode;
using init::Nonlinearity;

// Runs `script` (no single quotes) with /usr/bin/python3 -c and returns its
// standard output, or nothing when Python or torch is missing (the caller skips).
std::optional<std::string> run_python(const std::string& script) {
  FILE* pipe = popen(("/usr/bin/python3 -c '" + script + "' 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  if (pclose(pipe) != 0) return std::nullopt;
  return out;
}

// ---- fans and gains ----------------------------------------------------------

TEST(Init, FanRulesByFormula) {
  const auto fans = [](const Shape& s) { return init::calculate_fan_in_and_fan_out(Tensor::empty(s)); };
  EXPECT_EQ(fans({5, 7}).fan_in, 7);  // Linear (out, in)
  EXPECT_EQ(fans({5, 7}).fan_out, 5);
  EXPECT_EQ(fans({8, 3, 4, 4}).fan_in, 3 * 16);  // Conv2d (out, in, kH, kW)
  EXPECT_EQ(fans({8, 3, 4, 4}).fan_out, 8 * 16);
  EXPECT_EQ(fans({64, 4, 3, 5}).fan_in, 4 * 15);  // ConvTranspose2d (in, out, kH, kW): "fan_in" is out kH kW
  EXPECT_EQ(fans({64, 4, 3, 5}).fan_out, 64 * 15);
  testing::expect_error_containing([&] { fans({5}); }, "at least 2 dims");
}

// ---- sample statistics -------------------------------------------------------

// Checks the sample mean and (biased) variance of `t` against the theoretical
// mean and variance within 5 standard errors. `fourth` is the fourth central
// moment, for the standard error of the variance: sqrt((mu4 - var^2) / n).
void expect_moments(const Tensor& t, double mean, double var, double fourth, const char* what) {
  const std::vector<double> v = t.to_vector<double>();
  const double n = static_cast<double>(v.size());
  double m = 0;
  for (double x : v) m += x;
  m /= n;
  double s2 = 0;
  for (double x : v) s2 += (x - m) * (x - m);
  s2 /= n;
  EXPECT_NEAR(m, mean, 5 * std::sqrt(var / n)) << what << ": mean";
  EXPECT_NEAR(s2, var, 5 * std::sqrt((fourth - var * var) / n)) << what << ": variance";
}

// U(-b, b) + shift: variance b^2 / 3, fourth central moment b^4 / 5.
void expect_uniform(const Tensor& t, double lo, double hi, const char* what) {
  const double b = (hi - lo) / 2;
  expect_moments(t, (lo + hi) / 2, b * b / 3, std::pow(b, 4) / 5, what);
  for (double x : t.to_vector<double>()) {
    ASSERT_GE(x, lo) << what;
    ASSERT_LE(x, hi) << what;
  }
}

// N(mean, std^2): fourth central moment 3 std^4.
void expect_normal(const Tensor& t, double mean, double std, const char* what) {
  expect_moments(t, mean, std * std, 3 * std::pow(std, 4), what);
}

TEST(Init, UniformAndNormal) {
  Generator gen(101);
  Tensor t = Tensor::empty({400, 500});
  expect_uniform(init::uniform_(t, -2.0, 3.0, gen), -2.0, 3.0, "uniform_");
  expect_normal(init::normal_(t, 1.5, 0.7, gen), 1.5, 0.7, "normal_");
  Tensor d = Tensor::empty({100000}, DType::Float64);
  expect_normal(init::normal_(d, -1.0, 2.0, gen), -1.0, 2.0, "normal_ float64");
}

TEST(Init, Xavier) {
  Generator gen(102);
  Tensor fc = Tensor::empty({300, 200});
  const double b = 2.0 * std::sqrt(6.0 / (300 + 200));  // gain 2
  expect_uniform(init::xavier_uniform_(fc, 2.0, gen), -b, b, "xavier_uniform_");
  Tensor conv = Tensor::empty({64, 32, 3, 3});  // fan_in 288, fan_out 576
  expect_normal(init::xavier_normal_(conv, 1.0, gen), 0.0, std::sqrt(2.0 / (288 + 576)), "xavier_normal_");
}

TEST(Init, Kaiming) {
  Generator gen(103);
  Tensor w = Tensor::empty({128, 64, 3, 3});  // fan_in 576, fan_out 1152
  // default: a = 0, fan_in, leaky_relu -> gain sqrt(2), bound sqrt(3) sqrt(2) / sqrt(576)
  const double b = std::sqrt(6.0 / 576);
  expect_uniform(init::kaiming_uniform_(w, {}, gen), -b, b, "kaiming_uniform_ default");
  const double b_out = std::sqrt(3.0) * std::sqrt(2.0 / (1 + 0.04)) / std::sqrt(1152.0);
  expect_uniform(init::kaiming_uniform_(w, {.a = 0.2, .mode = FanMode::FanOut}, gen), -b_out, b_out,
                 "kaiming_uniform_ a=0.2 fan_out");
  expect_normal(init::kaiming_normal_(w, {.mode = FanMode::FanOut, .nonlinearity = Nonlinearity::ReLU}, gen), 0.0,
                std::sqrt(2.0) / std::sqrt(1152.0), "kaiming_normal_ fan_out relu");
  expect_normal(init::kaiming_normal_(w, {.nonlinearity = Nonlinearity::Tanh}, gen), 0.0, (5.0 / 3.0) / std::sqrt(576.0),
                "kaiming_normal_ tanh");
}

TEST(Init, ConstantsAndGradState) {
  Tensor p = Tensor::empty({3, 4});
  p.requires_grad_(true);  // a parameter: in-place init must not be recorded
  EXPECT_EQ(init::constant_(p, 2.5).to_vector<double>(), std::vector<double>(12, 2.5));
  EXPECT_EQ(init::zeros_(p).to_vector<double>(), std::vector<double>(12, 0.0));
  EXPECT_EQ(init::ones_(p).to_vector<double>(), std::vector<double>(12, 1.0));
  Generator gen(104);
  init::kaiming_uniform_(p, {}, gen);
  EXPECT_TRUE(p.is_leaf());
  EXPECT_TRUE(p.requires_grad());
  EXPECT_TRUE(is_grad_enabled());
  Tensor steps = Tensor::zeros({2}, DType::Int64);
  testing::expect_error_containing([&] { init::normal_(steps, 0, 1, gen); }, "needs a floating tensor");
}

TEST(Init, SameSeedSameValues) {
  Generator g1(5), g2(5);
  Linear a({.in = 20, .out = 10}, g1), b({.in = 20, .out = 10}, g2);
  testing::expect_bitwise_equal(a.weight, b.weight, "weight");
  testing::expect_bitwise_equal(a.bias, b.bias, "bias");
}

// ---- default layer init: PyTorch's reset_parameters --------------------------

// Every |value| <= bound, and the largest close to it: for n draws of U(-b, b),
// E max|x| = b n / (n + 1).
void expect_uniform_bound(const Tensor& t, double bound, const char* what) {
  double largest = 0;
  for (double x : t.to_vector<double>()) largest = std::max(largest, std::abs(x));
  EXPECT_LE(largest, bound) << what;
  if (t.numel() < 1000) return;
  EXPECT_GE(largest, bound * (1.0 - 10.0 / static_cast<double>(t.numel()))) << what;
}

TEST(Init, DefaultLayerInitBoundIsOneOverSqrtFanIn) {
  Generator gen(105);
  Linear fc({.in = 400, .out = 500}, gen);
  expect_uniform_bound(fc.weight, 1.0 / std::sqrt(400.0), "Linear weight");
  expect_uniform_bound(fc.bias, 1.0 / std::sqrt(400.0), "Linear bias");
  expect_uniform(fc.weight, -1.0 / 20, 1.0 / 20, "Linear weight moments");
  Linear wide({.in = 9, .out = 3000}, gen);  // enough bias values to see the bias bound 1 / sqrt(9)
  expect_uniform_bound(wide.bias, 1.0 / 3.0, "Linear bias bound uses fan_in");
  expect_uniform(wide.bias, -1.0 / 3.0, 1.0 / 3.0, "Linear bias moments");
  Conv2d conv({.in = 16, .out = 32, .kernel = 5}, gen);  // fan_in 16 * 25
  expect_uniform_bound(conv.weight, 1.0 / std::sqrt(400.0), "Conv2d weight");
  expect_uniform_bound(conv.bias, 1.0 / std::sqrt(400.0), "Conv2d bias");
  ConvTranspose2d up({.in = 64, .out = 4, .kernel = 3}, gen);  // PyTorch's fan_in: out kH kW = 36
  expect_uniform_bound(up.weight, 1.0 / 6.0, "ConvTranspose2d weight");
  expect_uniform_bound(up.bias, 1.0 / 6.0, "ConvTranspose2d bias");
}

// One Python run (importing torch takes seconds): fans, gains, and the largest
// |weight| of PyTorch's default init of the three layers.
TEST(Init, FansGainsAndDefaultInitMatchTorch) {
  const std::optional<std::string> out = run_python(R"(
import torch
from torch.nn import init
for s in [(5, 7), (8, 3, 4, 4), (64, 4, 3, 5), (6, 2, 7)]:
    print(*init._calculate_fan_in_and_fan_out(torch.empty(s)))
for name, p in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]:
    print(repr(init.calculate_gain(name, p)))
torch.manual_seed(0)
for m in [torch.nn.Linear(400, 500), torch.nn.Conv2d(16, 32, 5), torch.nn.ConvTranspose2d(64, 4, 3)]:
    print(repr(m.weight.abs().max().item()))
)");
  if (!out) GTEST_SKIP() << "/usr/bin/python3 with torch is not available";
  std::istringstream in(*out);
  for (const Shape& s : std::vector<Shape>{{5, 7}, {8, 3, 4, 4}, {64, 4, 3, 5}, {6, 2, 7}}) {
    int64_t fan_in = 0, fan_out = 0;
    in >> fan_in >> fan_out;
    const init::Fans f = init::calculate_fan_in_and_fan_out(Tensor::empty(s));
    EXPECT_EQ(f.fan_in, fan_in) << shape_str(s);
    EXPECT_EQ(f.fan_out, fan_out) << shape_str(s);
  }
  const std::vector<std::pair<Nonlinearity, double>> gains{
      {Nonlinearity::Linear, 0.01},   {Nonlinearity::Conv, 0.01}, {Nonlinearity::Sigmoid, 0.01},
      {Nonlinearity::Tanh, 0.01},     {Nonlinearity::ReLU, 0.01}, {Nonlinearity::LeakyReLU, 0.01},
      {Nonlinearity::LeakyReLU, 0.2}, {Nonlinearity::SELU, 0.01}};
  for (const auto& [nonlinearity, slope] : gains) {
    double torch_gain = 0;
    in >> torch_gain;
    EXPECT_NEAR(init::calculate_gain(nonlinearity, slope), torch_gain, 1e-12);
  }
  Generator gen(106);
  Linear fc({.in = 400, .out = 500}, gen);
  Conv2d conv({.in = 16, .out = 32, .kernel = 5}, gen);
  ConvTranspose2d up({.in = 64, .out = 4, .kernel = 3}, gen);
  for (const Tensor* w : {&fc.weight, &conv.weight, &up.weight}) {
    double torch_max = 0, ours = 0;
    in >> torch_max;
    for (double x : w->to_vector<double>()) ours = std::max(ours, std::abs(x));
    EXPECT_NEAR(ours, torch_max, 0.01 * torch_max) << shape_str(w->shape());  // both within 0.5% of the bound
  }
  ASSERT_FALSE(in.fail());
}

// ---- DCGAN init --------------------------------------------------------------

TEST(Init, DcganInit) {
  Generator gen(107);
  auto conv = make<Conv2d>({.in = 32, .out = 64, .kernel = 4, .bias = true}, gen);
  auto bn = make<BatchNorm2d>({.features = 20000});
  auto up = make<ConvTranspose2d>({.in = 64, .out = 32, .kernel = 4, .bias = false}, gen);
  auto fc = make<Linear>({.in = 8, .out = 4}, gen);
  auto inner = make<Sequential>(up, make<ReLU>());
  Sequential model{conv, bn, inner, fc};
  const std::vector<double> fc_before = fc->weight.to_vector<double>();
  const std::vector<double> conv_bias_before = conv->bias.to_vector<double>();
  dcgan_init_(model, gen);
  expect_normal(conv->weight, 0.0, 0.02, "Conv2d weight");
  expect_normal(up->weight, 0.0, 0.02, "ConvTranspose2d weight (nested)");
  expect_normal(bn->weight, 1.0, 0.02, "BatchNorm2d weight");
  EXPECT_EQ(bn->bias.to_vector<double>(), std::vector<double>(20000, 0.0));
  EXPECT_EQ(fc->weight.to_vector<double>(), fc_before);          // Linear is not touched
  EXPECT_EQ(conv->bias.to_vector<double>(), conv_bias_before);  // nor conv biases
  // The root itself counts: a lone layer is initialised too.
  Conv2d lone({.in = 64, .out = 64, .kernel = 3}, gen);
  dcgan_init_(lone, gen);
  expect_normal(lone.weight, 0.0, 0.02, "lone Conv2d");
}

}  // namespace
}  // namespace loom::nn
