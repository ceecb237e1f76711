// test_elementwise_reduce.cpp: forward values of the elementwise ops and the
// reductions against plain double-precision loops written here.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "autograd/functions.h"
#include "kernels/ops.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace loom;
using loom::testing::expect_close;

TEST(Elementwise, UnaryMatchesLibm) {
  Generator g(11);
  Tensor x = uniform({3, 5, 7}, 0.1, 3.0, g);  // positive, so log/sqrt/pow are defined
  std::vector<double> v = x.to_vector<double>();
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&)> op;
    std::function<double(double)> ref;
  };
  std::vector<Case> cases = {
      {"neg", [](const Tensor& t) { return neg(t); }, [](double a) { return -a; }},
      {"exp", [](const Tensor& t) { return exp(t); }, [](double a) { return std::exp(a); }},
      {"log", [](const Tensor& t) { return log(t); }, [](double a) { return std::log(a); }},
      {"sqrt", [](const Tensor& t) { return sqrt(t); }, [](double a) { return std::sqrt(a); }},
      {"tanh", [](const Tensor& t) { return tanh(t - 1.5); }, [](double a) { return std::tanh(a - 1.5); }},
      {"sigmoid", [](const Tensor& t) { return sigmoid(t - 1.5); }, [](double a) { return 1 / (1 + std::exp(1.5 - a)); }},
      {"relu", [](const Tensor& t) { return relu(t - 1.5); }, [](double a) { return std::max(0.0, a - 1.5); }},
      {"abs", [](const Tensor& t) { return abs(t - 1.5); }, [](double a) { return std::abs(a - 1.5); }},
      {"leaky_relu", [](const Tensor& t) { return leaky_relu(t - 1.5, 0.2); },
       [](double a) { return a > 1.5 ? a - 1.5 : 0.2 * (a - 1.5); }},
      {"pow", [](const Tensor& t) { return pow(t, 1.5); }, [](double a) { return std::pow(a, 1.5); }},
      {"clamp", [](const Tensor& t) { return clamp(t, 0.5, 2.0); }, [](double a) { return std::clamp(a, 0.5, 2.0); }},
  };
  for (const Case& c : cases) {
    std::vector<double> want;
    for (double a : v) want.push_back(c.ref(static_cast<float>(a)));
    expect_close(c.op(x).to_vector<double>(), want, 2e-6, 2e-6, c.name);
    // The same on a non-contiguous view and in float64.
    Tensor xt = x.to(DType::Float64).permute({2, 0, 1});
    std::vector<double> wt;
    std::vector<double> vt = xt.to_vector<double>();
    for (double a : vt) wt.push_back(c.ref(a));
    expect_close(c.op(xt).to_vector<double>(), wt, 1e-14, 1e-14, c.name);
  }
}

TEST(Elementwise, SigmoidIsStableForLargeInputs) {
  Tensor x = Tensor::from_vector<float>({-1000.f, -80.f, 0.f, 80.f, 1000.f}, {5});
  std::vector<float> y = sigmoid(x).to_vector<float>();
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[2], 0.5f);
  EXPECT_EQ(y[4], 1.0f);
  for (float v : y) EXPECT_FALSE(std::isnan(v));
}

TEST(Elementwise, BinaryBroadcastingMatchesLoops) {
  Generator g(12);
  Tensor a = randn({2, 3, 4, 5}, g, DType::Float64);
  Tensor b = uniform({3, 1, 5}, 0.5, 2.0, g, DType::Float64);
  std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&, const Tensor&)> op;
    std::function<double(double, double)> ref;
  };
  std::vector<Case> cases = {
      {"add", [](auto& x, auto& y) { return x + y; }, [](double x, double y) { return x + y; }},
      {"sub", [](auto& x, auto& y) { return x - y; }, [](double x, double y) { return x - y; }},
      {"mul", [](auto& x, auto& y) { return x * y; }, [](double x, double y) { return x * y; }},
      {"div", [](auto& x, auto& y) { return x / y; }, [](double x, double y) { return x / y; }},
      {"maximum", [](auto& x, auto& y) { return maximum(x, y); }, [](double x, double y) { return std::max(x, y); }},
      {"minimum", [](auto& x, auto& y) { return minimum(x, y); }, [](double x, double y) { return std::min(x, y); }},
  };
  for (const Case& c : cases) {
    Tensor out = c.op(a, b);
    ASSERT_EQ(out.shape(), (Shape{2, 3, 4, 5}));
    std::vector<double> want;
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        for (int k = 0; k < 4; ++k)
          for (int l = 0; l < 5; ++l) want.push_back(c.ref(av[((i * 3 + j) * 4 + k) * 5 + l], bv[j * 5 + l]));
    expect_close(out.to_vector<double>(), want, 1e-15, 1e-15, c.name);
  }
  // scalar variants
  expect_close((2.0 - b).to_vector<double>(), [&] { std::vector<double> w; for (double y : bv) w.push_back(2 - y); return w; }(), 1e-15, 1e-15, "rsub");
  expect_close((2.0 / b).to_vector<double>(), [&] { std::vector<double> w; for (double y : bv) w.push_back(2 / y); return w; }(), 1e-15, 1e-15, "rdiv");
}

TEST(Elementwise, ComparisonsAndWhere) {
  Tensor a = Tensor::from_vector<float>({1, 2, 3, 4}, {4});
  Tensor b = Tensor::from_vector<float>({2}, {1});
  EXPECT_EQ(gt(a, b).to_vector<uint8_t>(), (std::vector<uint8_t>{0, 0, 1, 1}));
  EXPECT_EQ(ge(a, b).to_vector<uint8_t>(), (std::vector<uint8_t>{0, 1, 1, 1}));
  EXPECT_EQ(lt(a, b).to_vector<uint8_t>(), (std::vector<uint8_t>{1, 0, 0, 0}));
  EXPECT_EQ(le(a, b).to_vector<uint8_t>(), (std::vector<uint8_t>{1, 1, 0, 0}));
  EXPECT_EQ(eq(a, b).to_vector<uint8_t>(), (std::vector<uint8_t>{0, 1, 0, 0}));
  EXPECT_EQ(ne(a, b).to_vector<uint8_t>(), (std::vector<uint8_t>{1, 0, 1, 1}));
  Tensor w = where(gt(a, b), a, Tensor::scalar(-1.0));
  EXPECT_EQ(w.to_vector<float>(), (std::vector<float>{-1, -1, 3, 4}));
  EXPECT_THROW(where(a, a, a), Error);  // condition must be uint8
}

TEST(Reduce, SumMeanVarMaxMatchLoops) {
  Generator g(13);
  Tensor x = randn({3, 4, 5}, g, DType::Float64);
  std::vector<double> v = x.to_vector<double>();
  auto at = [&](int i, int j, int k) { return v[(i * 4 + j) * 5 + k]; };
  // sum over dims {0, 2}, keepdim
  Tensor s = sum(x, {0, 2}, true);
  ASSERT_EQ(s.shape(), (Shape{1, 4, 1}));
  for (int j = 0; j < 4; ++j) {
    double want = 0;
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 5; ++k) want += at(i, j, k);
    EXPECT_NEAR(s.at({0, j, 0}), want, 1e-12);
  }
  // mean over dim 1 (negative index), no keepdim
  Tensor m = mean(x, {-2});
  ASSERT_EQ(m.shape(), (Shape{3, 5}));
  EXPECT_NEAR(m.at({2, 3}), (at(2, 0, 3) + at(2, 1, 3) + at(2, 2, 3) + at(2, 3, 3)) / 4, 1e-12);
  // var (unbiased and biased) over dim 2
  for (bool unbiased : {true, false}) {
    Tensor vr = var(x, {2}, unbiased);
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 4; ++j) {
        double mu = 0, ss = 0;
        for (int k = 0; k < 5; ++k) mu += at(i, j, k) / 5;
        for (int k = 0; k < 5; ++k) ss += (at(i, j, k) - mu) * (at(i, j, k) - mu);
        EXPECT_NEAR(vr.at({i, j}), ss / (unbiased ? 4 : 5), 1e-12);
      }
  }
  // amax / max / argmax over dim 1
  Tensor mx = max(x, 1), am = argmax(x, 1), amx = amax(x, {1, 2});
  for (int i = 0; i < 3; ++i) {
    double all = -1e300;
    for (int k = 0; k < 5; ++k) {
      double best = -1e300;
      int64_t arg = -1;
      for (int j = 0; j < 4; ++j)
        if (at(i, j, k) > best) best = at(i, j, k), arg = j;
      EXPECT_EQ(mx.at({i, k}), best);
      EXPECT_EQ(am.at({i, k}), arg);
      all = std::max(all, best);
    }
    EXPECT_EQ(amx.at({i}), all);
  }
  // sum of everything: a 0-dim result
  Tensor total = sum(x);
  EXPECT_EQ(total.dim(), 0);
  double want = 0;
  for (double a : v) want += a;
  EXPECT_NEAR(total.item(), want, 1e-12);
}

TEST(Reduce, LongSumIsAccurateInFloat32) {
  // 1e6 copies of 0.1f: naive float accumulation drifts by ~1%, the blocked
  // double accumulation is exact to float rounding.
  Tensor x = Tensor::full({1000000}, 0.1);
  EXPECT_NEAR(sum(x).item(), 1000000 * static_cast<double>(0.1f), 1e-1);
}

TEST(Reduce, SoftmaxRowsSumToOneAndMatchFormula) {
  Generator g(14);
  Tensor x = mul(randn({4, 6, 3}, g, DType::Float64), Tensor::scalar(5.0, DType::Float64));
  Tensor y = softmax(x, 1), ly = log_softmax(x, 1);
  for (int i = 0; i < 4; ++i)
    for (int k = 0; k < 3; ++k) {
      double mx = -1e300, s = 0, total = 0;
      for (int j = 0; j < 6; ++j) mx = std::max(mx, x.at({i, j, k}));
      for (int j = 0; j < 6; ++j) s += std::exp(x.at({i, j, k}) - mx);
      for (int j = 0; j < 6; ++j) {
        EXPECT_NEAR(y.at({i, j, k}), std::exp(x.at({i, j, k}) - mx) / s, 1e-14);
        EXPECT_NEAR(ly.at({i, j, k}), x.at({i, j, k}) - mx - std::log(s), 1e-12);
        total += y.at({i, j, k});
      }
      EXPECT_NEAR(total, 1.0, 1e-14);
    }
  // Large logits do not overflow.
  Tensor big = Tensor::from_vector<float>({1000.f, 0.f}, {1, 2});
  EXPECT_NEAR(softmax(big, 1).at({0, 0}), 1.0, 1e-7);
  EXPECT_NEAR(log_softmax(big, 1).at({0, 1}), -1000.0, 1e-3);
}

TEST(Reduce, ErrorsNameTheOp) {
  Tensor x = Tensor::zeros({2, 3});
  try {
    sum(x, {2});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sum"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sum(x, {0, 0}), Error);
  EXPECT_THROW(sum(Tensor::zeros({2}, DType::Int64)), Error);
}
