// test_edge_cases.cpp: inputs at the edges of the tensor model that once
// misbehaved: dims of 0-dimensional tensors, writes through expanded or
// overlapping views, extreme slice steps, negative expand sizes, empty channel
// dims, and the upper bound of float32 uniform draws.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "autograd/functions.h"
#include "tensor/philox.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace loom;
using loom::testing::expect_error_containing;

TEST(EdgeCases, ZeroDimTensorsHaveNoDims) {
  Tensor s = Tensor::scalar(1.0);
  expect_error_containing([&] { sum(s, {0}); }, "0-dimensional");
  expect_error_containing([&] { softmax(s, 0); }, "0-dimensional");
  expect_error_containing([&] { max(s, 0); }, "0-dimensional");
  expect_error_containing([&] { s.slice(0, 0, 1); }, "0-dimensional");
  expect_error_containing([&] { s.transpose(0, 0); }, "0-dimensional");
  expect_error_containing([&] { s.squeeze(0); }, "0-dimensional");
  expect_error_containing([&] { s.size(0); }, "0-dimensional");
  // What is defined still works: reductions over all dims, unsqueeze.
  EXPECT_DOUBLE_EQ(sum(s).item(), 1.0);
  EXPECT_EQ(s.unsqueeze(0).shape(), (Shape{1}));
  EXPECT_EQ(s.unsqueeze(-1).shape(), (Shape{1}));
}

TEST(EdgeCases, WritesThroughExpandedViewsAreRefused) {
  Tensor t = Tensor::zeros({1, 8});
  Tensor e = t.expand({4, 8});
  expect_error_containing([&] { e.copy_(Tensor::ones({4, 8})); }, "expanded view");
  expect_error_containing([&] { e.fill_(2.0); }, "expanded view");
  EXPECT_DOUBLE_EQ(sum(t).item(), 0.0) << "nothing was written";
}

TEST(EdgeCases, OverlappingCopyReadsTheSourceFirst) {
  Tensor x = Tensor::arange(9, DType::Float64).reshape({3, 3});
  x.copy_(x.transpose(0, 1));
  EXPECT_EQ(x.to_vector<double>(), (std::vector<double>{0, 3, 6, 1, 4, 7, 2, 5, 8}));
  Tensor y = Tensor::arange(5, DType::Float64);
  y.slice(0, 1, 5).copy_(y.slice(0, 0, 4));  // shift right by one
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{0, 0, 1, 2, 3}));
}

TEST(EdgeCases, SliceAndExpandSizes) {
  Tensor x = Tensor::arange(5);
  EXPECT_EQ(x.slice(0, 0, 5, std::numeric_limits<int64_t>::max()).shape(), (Shape{1}));
  EXPECT_EQ(x.slice(0, 3, 2).shape(), (Shape{0}));
  EXPECT_EQ(x.slice(0, 1, 5, 2).to_vector<float>(), (std::vector<float>{1, 3}));
  expect_error_containing([&] { Tensor::ones({1}).expand({-5}); }, "invalid size");
}

TEST(EdgeCases, BatchNormWithoutChannelsIsAnError) {
  Tensor x = Tensor::zeros({2, 0, 3});
  expect_error_containing([&] { batch_norm(x, Tensor(), Tensor(), Tensor::zeros({0}), Tensor::zeros({0}), true); },
                          "no channels");
}

TEST(EdgeCases, Float32UniformStaysBelowTheUpperBound) {
  const double u_max = 1.0 - 1.0 / 16777216.0;  // the largest float32 uniform draw
  EXPECT_LT(philox::uniform_in_range<float>(1.0, 1.0, u_max), 2.0f);
  EXPECT_GE(philox::uniform_in_range<float>(1.0, 1.0, 0.0), 1.0f);
  Generator g(3);
  Tensor u = uniform({200000}, 1.0, 2.0, g);
  EXPECT_LT(amax(u).item(), 2.0);
}
