// test_grad_elementwise.cpp: finite-difference gradchecks (float64) of the
// elementwise ops, reductions, softmax family and views, on odd shapes, with
// broadcasting and non-contiguous inputs.
#include <gtest/gtest.h>

#include "gradcheck.h"

using namespace loom;
using loom::testing::gradcheck;
using loom::testing::leaf;
using loom::testing::transposed_leaf;
using V = std::vector<Tensor>;

TEST(GradElementwise, Unary) {
  Generator g(21);
  Tensor pos = leaf({3, 5}, g, 0.2, 2.0);  // away from 0 for log/sqrt/pow/abs/relu kinks
  Tensor any = leaf({3, 5}, g);
  Tensor nc = transposed_leaf({4, 3}, g);  // non-contiguous
  EXPECT_TRUE(gradcheck([](const V& v) { return neg(v[0]); }, {any}));
  EXPECT_TRUE(gradcheck([](const V& v) { return exp(v[0]); }, {nc}));
  EXPECT_TRUE(gradcheck([](const V& v) { return log(v[0]); }, {pos}));
  EXPECT_TRUE(gradcheck([](const V& v) { return sqrt(v[0]); }, {pos}));
  EXPECT_TRUE(gradcheck([](const V& v) { return tanh(v[0]); }, {nc}));
  EXPECT_TRUE(gradcheck([](const V& v) { return sigmoid(v[0]); }, {any}));
  EXPECT_TRUE(gradcheck([](const V& v) { return relu(v[0] - 1.1); }, {pos}));
  EXPECT_TRUE(gradcheck([](const V& v) { return abs(v[0] - 1.1); }, {pos}));
  EXPECT_TRUE(gradcheck([](const V& v) { return leaky_relu(v[0] - 1.1, 0.2); }, {pos}));
  EXPECT_TRUE(gradcheck([](const V& v) { return pow(v[0], 1.5); }, {pos}));
  EXPECT_TRUE(gradcheck([](const V& v) { return pow(v[0], -2.0); }, {pos}));
  EXPECT_TRUE(gradcheck([](const V& v) { return clamp(v[0], 0.7, 1.3); }, {pos}));
}

TEST(GradElementwise, BinaryWithBroadcasting) {
  Generator g(22);
  Tensor a = leaf({2, 3, 4}, g);
  Tensor b = leaf({3, 1}, g, 0.5, 2.0);  // broadcast, and away from 0 for div
  Tensor c = transposed_leaf({2, 4, 3}, g);
  EXPECT_TRUE(gradcheck([](const V& v) { return v[0] + v[1]; }, {a, b}));
  EXPECT_TRUE(gradcheck([](const V& v) { return v[0] - v[1]; }, {a, b}));
  EXPECT_TRUE(gradcheck([](const V& v) { return v[0] * v[1]; }, {a, b}));
  EXPECT_TRUE(gradcheck([](const V& v) { return v[0] / v[1]; }, {a, b}));
  EXPECT_TRUE(gradcheck([](const V& v) { return v[0] * v[1].transpose(1, 2); }, {a, c}));
  EXPECT_TRUE(gradcheck([](const V& v) { return 3.0 / v[1] - 2.0 * v[0] + 1.0; }, {a, b}));
  Tensor p = leaf({3, 4}, g), q = leaf({3, 4}, g);  // distinct values almost surely: no ties
  EXPECT_TRUE(gradcheck([](const V& v) { return maximum(v[0], v[1]); }, {p, q}));
  EXPECT_TRUE(gradcheck([](const V& v) { return minimum(v[0], v[1]); }, {p, q}));
  EXPECT_TRUE(gradcheck([](const V& v) { return where(gt(v[0], v[1]), v[0] * 2.0, v[1]); }, {p, q}));
}

TEST(GradElementwise, MaximumSplitsTiesInHalf) {
  Tensor a = Tensor::from_vector<double>({1.0, 2.0}, {2});
  Tensor b = Tensor::from_vector<double>({1.0, 3.0}, {2});
  a.requires_grad_();
  b.requires_grad_();
  sum(maximum(a, b)).backward();
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{0.5, 0.0}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{0.5, 1.0}));
}

TEST(GradReduce, Reductions) {
  Generator g(23);
  Tensor x = leaf({3, 4, 5}, g);
  Tensor nc = transposed_leaf({3, 5, 4}, g);
  EXPECT_TRUE(gradcheck([](const V& v) { return sum(v[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return sum(v[0], {0, 2}, true); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return mean(v[0], {1}); }, {nc}));
  EXPECT_TRUE(gradcheck([](const V& v) { return mean(v[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return var(v[0], {2}); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return var(v[0], {0, 1}, false, true); }, {nc}));
  EXPECT_TRUE(gradcheck([](const V& v) { return amax(v[0], {1}); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return max(v[0], 2, true); }, {nc}));
  EXPECT_TRUE(gradcheck([](const V& v) { return max(v[0], 0); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return softmax(v[0], 1); }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return log_softmax(v[0], -1); }, {nc}));
}

TEST(GradViews, EveryView) {
  Generator g(24);
  Tensor x = leaf({2, 3, 4}, g);
  EXPECT_TRUE(gradcheck([](const V& v) { return v[0].reshape({4, 6}) * 1.5; }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return v[0].permute({2, 0, 1}).reshape({4, 6}) * 1.5; }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return v[0].transpose(0, 2).contiguous() * 2.0; }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return v[0].slice(2, 1, 4, 2) * 2.0; }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return v[0].narrow(1, 1, 2).select(0, 1) * 2.0; }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return v[0].unsqueeze(1).expand({2, 5, 3, 4}) * 2.0; }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return v[0].slice(1, 0, 1).squeeze(1).flatten() * 2.0; }, {x}));
  EXPECT_TRUE(gradcheck([](const V& v) { return v[0].clone() * v[0]; }, {x}));
}
