// test_autograd.cpp: the tape: accumulation into leaves, retain_graph, the
// freed-graph error, no_grad, detach, and backward on non-scalars.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"

using namespace loom;

TEST(Autograd, ChainRuleAndAccumulation) {
  Tensor x = Tensor::from_vector<double>({1.0, 2.0, 3.0}, {3});
  x.requires_grad_();
  Tensor y = sum(x * x * 3.0);  // dy/dx = 6x
  y.backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{6, 12, 18}));
  Tensor y2 = sum(x);
  y2.backward();  // accumulates
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{7, 13, 19}));
}

TEST(Autograd, SharedSubexpressionSumsBothPaths) {
  Tensor x = Tensor::from_vector<double>({2.0}, {1});
  x.requires_grad_();
  Tensor a = exp(x);
  Tensor y = sum(a * a + a);  // d/dx = 2 e^{2x} + e^x
  y.backward();
  EXPECT_NEAR(x.grad().item(), 2 * std::exp(4.0) + std::exp(2.0), 1e-9);
}

TEST(Autograd, FreedGraphGivesClearError) {
  Tensor x = Tensor::from_vector<double>({1.0, 2.0}, {2});
  x.requires_grad_();
  Tensor y = sum(exp(x));
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();  // allowed: graph retained the first time
  try {
    y.backward();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("retain_graph"), std::string::npos) << e.what();
  }
}

TEST(Autograd, NonScalarNeedsGradient) {
  Tensor x = Tensor::from_vector<double>({1.0, 2.0}, {2});
  x.requires_grad_();
  Tensor y = x * 2.0;
  EXPECT_THROW(y.backward(), Error);
  y.backward(Tensor::from_vector<double>({1.0, 10.0}, {2}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 20}));
}

TEST(Autograd, NoGradAndDetach) {
  Tensor x = Tensor::from_vector<double>({1.0}, {1});
  x.requires_grad_();
  {
    NoGradGuard guard;
    Tensor y = x * 2.0;
    EXPECT_FALSE(y.requires_grad());
  }
  Tensor d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_EQ(d.storage(), x.storage());
  Tensor y = sum(d * x);  // only x's path carries gradient
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 1.0);
  EXPECT_THROW(Tensor::zeros({2}, DType::Int64).requires_grad_(), Error);
}

TEST(Autograd, GradientThroughViews) {
  Tensor x = Tensor::arange(6, DType::Float64).reshape({2, 3});
  x.requires_grad_();
  Tensor y = sum(x.transpose(0, 1).slice(0, 1, 3) * 2.0);
  y.backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 2, 2, 0, 2, 2}));
}
