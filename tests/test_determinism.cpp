// test_determinism.cpp: every op family gives the same bits with 1 and with 2
// OpenMP threads, on sizes large enough to be split across threads.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstring>
#include <functional>

#include "autograd/functions.h"
#include "tensor/random.h"

using namespace loom;

namespace {

// Runs f (forward and a backward) with the given thread count and returns
// the output and all input gradients, flattened.
std::vector<float> run(int threads, const std::function<Tensor(const std::vector<Tensor>&)>& f,
                       const std::vector<Shape>& shapes) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  Generator g(77);
  std::vector<Tensor> in;
  for (const Shape& s : shapes) {
    Tensor t = randn(s, g);
    t.requires_grad_();
    in.push_back(t);
  }
  Tensor y = f(in);
  Tensor w = randn(y.shape(), g);
  sum(y * w).backward();
  std::vector<float> all = y.to_vector<float>();
  for (const Tensor& t : in) {
    std::vector<float> gv = t.grad().to_vector<float>();
    all.insert(all.end(), gv.begin(), gv.end());
  }
  omp_set_num_threads(saved);
  return all;
}

void expect_thread_independent(const char* name, const std::function<Tensor(const std::vector<Tensor>&)>& f,
                               const std::vector<Shape>& shapes) {
  std::vector<float> one = run(1, f, shapes), two = run(2, f, shapes);
  ASSERT_EQ(one.size(), two.size()) << name;
  size_t differ = 0;
  for (size_t i = 0; i < one.size(); ++i) differ += std::memcmp(&one[i], &two[i], sizeof(float)) != 0;
  EXPECT_EQ(differ, 0u) << name << ": " << differ << " of " << one.size() << " values differ between 1 and 2 threads";
}

using V = std::vector<Tensor>;

}  // namespace

TEST(Determinism, ElementwiseAndReductions) {
  expect_thread_independent("sum all", [](const V& v) { return sum(v[0] * v[0]); }, {{300000}});
  expect_thread_independent("sum dims", [](const V& v) { return sum(v[0], {0, 2, 3}); }, {{16, 32, 24, 24}});
  expect_thread_independent("mean/var", [](const V& v) { return var(v[0], {1}) + mean(v[0], {1}); }, {{64, 4096}});
  expect_thread_independent("softmax", [](const V& v) { return log_softmax(v[0], 1); }, {{256, 300}});
  expect_thread_independent("broadcast", [](const V& v) { return sigmoid(v[0] * v[1]); }, {{64, 64, 32}, {64, 1}});
}

TEST(Determinism, MatmulConvNormPool) {
  expect_thread_independent("matmul", [](const V& v) { return matmul(v[0], v[1]); }, {{257, 300}, {300, 129}});
  expect_thread_independent("conv2d", [](const V& v) { return conv2d(v[0], v[1], v[2], 2, 1); },
                            {{8, 16, 32, 32}, {32, 16, 4, 4}, {32}});
  expect_thread_independent("conv_transpose2d", [](const V& v) { return conv_transpose2d(v[0], v[1], v[2], 2, 1); },
                            {{8, 32, 16, 16}, {32, 16, 4, 4}, {16}});
  expect_thread_independent("batch_norm", [](const V& v) {
    return batch_norm(v[0], v[1], v[2], Tensor(), Tensor(), true);
  }, {{16, 32, 16, 16}, {32}, {32}});
  expect_thread_independent("pool+upsample", [](const V& v) {
    return upsample_bilinear(max_pool2d(v[0], 2), 32, 32) + avg_pool2d(v[0], 2, 1, 0).narrow(2, 0, 32).narrow(3, 0, 32);
  }, {{8, 16, 64, 64}});
}
