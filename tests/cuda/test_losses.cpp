// test_losses.cpp: every loss and statistic of autograd/functions.h on CUDA
// against the CPU (bce_with_logits, bce, l1_loss, mse_loss, cross_entropy,
// dice_loss, ssim, mmd_imq, gram): the forward value and the gradients of
// every floating input through autograd, seeded with a random gradient of the
// loss's shape, float32 and float64, each reduction, odd shapes, strided
// (transposed) inputs, with new CUDA blocks poisoned (cuda_test::parity).
// Every test needs a GPU and is skipped without one.
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "tests/cuda/cuda_test_util.h"

using namespace loom;
using cuda_test::parity;
using cuda_test::Tol;
using cuda_test::uniform;

namespace {

const Reduction kReductions[] = {Reduction::Mean, Reduction::Sum, Reduction::None};
const char* reduction_name(Reduction r) {
  return r == Reduction::Mean ? "mean" : r == Reduction::Sum ? "sum" : "none";
}

// A leaf copy of a floating input (requires grad); other dtypes as they are.
Tensor leaf(const Tensor& t) {
  if (!is_floating(t.dtype())) return t;
  Tensor l = t.clone();
  l.requires_grad_();
  return l;
}

// f's loss and the gradient of each of the first `n_grad` inputs (the first
// one must get a gradient), after backward seeded with the last input (a
// random tensor of the loss's shape). The loss may take strided views of the leaves.
using LossFn = std::function<Tensor(const std::vector<Tensor>&)>;
std::function<std::vector<Tensor>(const std::vector<Tensor>&)> with_grads(LossFn loss, size_t n_grad) {
  return [loss, n_grad](const std::vector<Tensor>& in) {
    std::vector<Tensor> leaves;
    for (size_t i = 0; i + 1 < in.size(); ++i) leaves.push_back(i < n_grad ? leaf(in[i]) : in[i]);
    const Tensor out = loss(leaves);
    out.backward(in.back().to(out.dtype()));
    LOOM_CHECK(leaves[0].grad().defined(), "the loss computed no gradient for its first input");
    std::vector<Tensor> results = {out.detach()};
    for (size_t i = 0; i < n_grad; ++i) results.push_back(leaves[i].grad());
    return results;
  };
}

// The loss's output shape for a seed: the input's shape without reduction, else 0-dim.
Shape seed_shape(Reduction r, const Shape& input_shape) { return r == Reduction::None ? input_shape : Shape{}; }

Tol tol(DType dt, double f32 = 1e-5) { return dt == DType::Float64 ? Tol{1e-12, 1e-10} : Tol{f32, f32}; }

// Transposes dims 0 and 1 inside the loss: a strided input on both devices.
Tensor t01(const Tensor& x) { return x.transpose(0, 1); }

class CudaLosses : public ::testing::TestWithParam<DType> {};

}  // namespace

TEST_P(CudaLosses, BceWithLogits) {
  REQUIRE_GPU();
  const DType dt = GetParam();
  Generator gen(1);
  for (Reduction r : kReductions) {
    SCOPED_TRACE(reduction_name(r));
    const Shape shape = {3, 5, 7};
    const Tensor logits = uniform(shape, gen, -6, 6, dt), target = uniform(shape, gen, 0, 1, dt);
    EXPECT_TRUE(parity(with_grads([r](const std::vector<Tensor>& x) { return bce_with_logits(x[0], x[1], r); }, 2),
                       {logits, target, uniform(seed_shape(r, shape), gen, -1, 1, dt)}, tol(dt)));
    // strided logits: (5, 3, 7) read as the transpose of a (3, 5, 7) leaf
    EXPECT_TRUE(
        parity(with_grads([r](const std::vector<Tensor>& x) { return bce_with_logits(t01(x[0]), x[1], r); }, 2),
               {logits, uniform({5, 3, 7}, gen, 0, 1, dt), uniform(seed_shape(r, {5, 3, 7}), gen, -1, 1, dt)},
               tol(dt)));
  }
}

TEST_P(CudaLosses, Bce) {
  REQUIRE_GPU();
  const DType dt = GetParam();
  Generator gen(2);
  for (Reduction r : kReductions) {
    SCOPED_TRACE(reduction_name(r));
    const Shape shape = {4, 33};
    const Tensor p = uniform(shape, gen, 0.02, 0.98, dt), target = uniform(shape, gen, 0, 1, dt);
    EXPECT_TRUE(parity(with_grads([r](const std::vector<Tensor>& x) { return bce(x[0], x[1], r); }, 2),
                       {p, target, uniform(seed_shape(r, shape), gen, -1, 1, dt)}, tol(dt)));
  }
  // Probabilities of exactly 0 and 1: each log is clamped at -100 on both devices.
  const Tensor p = Tensor::from_vector(std::vector<double>{0, 1, 0.5, 1e-30, 1, 0}, {6}).to(dt);
  const Tensor target = Tensor::from_vector(std::vector<double>{1, 0, 0.5, 1, 1, 0}, {6}).to(dt);
  EXPECT_TRUE(parity([](const std::vector<Tensor>& x) { return std::vector<Tensor>{bce(x[0], x[1], Reduction::None)}; },
                     {p, target}, tol(dt)));
}

TEST_P(CudaLosses, L1AndMse) {
  REQUIRE_GPU();
  const DType dt = GetParam();
  Generator gen(3);
  for (Reduction r : kReductions) {
    SCOPED_TRACE(reduction_name(r));
    for (const Shape& shape : {Shape{1}, Shape{7, 3}, Shape{2, 3, 5, 7}}) {
      const Tensor a = uniform(shape, gen, -2, 2, dt), b = uniform(shape, gen, -2, 2, dt);
      const Tensor seed = uniform(seed_shape(r, shape), gen, -1, 1, dt);
      EXPECT_TRUE(parity(with_grads([r](const std::vector<Tensor>& x) { return l1_loss(x[0], x[1], r); }, 2),
                         {a, b, seed}, tol(dt)));
      EXPECT_TRUE(parity(with_grads([r](const std::vector<Tensor>& x) { return mse_loss(x[0], x[1], r); }, 2),
                         {a, b, seed}, tol(dt)));
    }
  }
  // A long reduction (1000003 elements) and a strided input.
  const Tensor a = uniform({1000003}, gen, -1, 1, dt), b = uniform({1000003}, gen, -1, 1, dt);
  EXPECT_TRUE(parity(with_grads([](const std::vector<Tensor>& x) { return mse_loss(x[0], x[1]); }, 2),
                     {a, b, uniform({}, gen, -1, 1, dt)}, tol(dt, 1e-4)));
  EXPECT_TRUE(parity(with_grads([](const std::vector<Tensor>& x) { return l1_loss(t01(x[0]), x[1]); }, 2),
                     {uniform({9, 4}, gen, -1, 1, dt), uniform({4, 9}, gen, -1, 1, dt), uniform({}, gen, -1, 1, dt)},
                     tol(dt)));
}

TEST_P(CudaLosses, CrossEntropy) {
  REQUIRE_GPU();
  const DType dt = GetParam();
  Generator gen(4);
  for (Reduction r : kReductions) {
    SCOPED_TRACE(reduction_name(r));
    // (N, C) and (N, C, H, W) logits with int64 targets
    for (const auto& [logit_shape, target_shape] :
         std::vector<std::pair<Shape, Shape>>{{{7, 10}, {7}}, {{4, 5, 3, 3}, {4, 3, 3}}, {{1, 3}, {1}}}) {
      const Tensor logits = uniform(logit_shape, gen, -4, 4, dt);
      const Tensor target = randint(0, logit_shape[1], target_shape, gen);
      EXPECT_TRUE(
          parity(with_grads([r](const std::vector<Tensor>& x) { return cross_entropy(x[0], x[1], r); }, 1),
                 {logits, target, uniform(seed_shape(r, target_shape), gen, -1, 1, dt)}, tol(dt)));
    }
  }
}

TEST_P(CudaLosses, Dice) {
  REQUIRE_GPU();
  const DType dt = GetParam();
  Generator gen(5);
  for (double eps : {1.0, 1e-3}) {
    const Tensor logits = uniform({3, 2, 9, 11}, gen, -3, 3, dt);
    const Tensor target = bernoulli({3, 2, 9, 11}, 0.3, gen, dt);
    EXPECT_TRUE(parity(with_grads([eps](const std::vector<Tensor>& x) { return dice_loss(x[0], x[1], eps); }, 1),
                       {logits, target, uniform({}, gen, -1, 1, dt)}, tol(dt)));
  }
}

TEST_P(CudaLosses, Ssim) {
  REQUIRE_GPU();
  const DType dt = GetParam();
  Generator gen(6);
  for (const auto& [window, sigma] : std::vector<std::pair<int64_t, double>>{{11, 1.5}, {7, 1.0}, {1, 0.5}}) {
    SCOPED_TRACE("window " + std::to_string(window));
    const Tensor a = uniform({2, 3, 16, 17}, gen, 0, 1, dt), b = uniform({2, 3, 16, 17}, gen, 0, 1, dt);
    EXPECT_TRUE(parity(with_grads(
                           [window, sigma](const std::vector<Tensor>& x) {
                             return ssim(x[0], x[1], window, sigma, 1e-4, 9e-4);
                           },
                           2),
                       {a, b, uniform({}, gen, -1, 1, dt)}, tol(dt, 1e-4)));
  }
}

TEST_P(CudaLosses, MmdImq) {
  REQUIRE_GPU();
  const DType dt = GetParam();
  Generator gen(7);
  for (const Shape& shape : {Shape{2, 1}, Shape{9, 4}, Shape{33, 8}}) {
    const Tensor z = uniform(shape, gen, -2, 2, dt), prior = uniform(shape, gen, -2, 2, dt);
    EXPECT_TRUE(parity(with_grads([](const std::vector<Tensor>& x) { return mmd_imq(x[0], x[1], 1.0); }, 2),
                       {z, prior, uniform({}, gen, -1, 1, dt)}, tol(dt, 1e-4)));
  }
  const Tensor z = uniform({16, 3}, gen, -1, 1, dt), prior = uniform({16, 3}, gen, -1, 1, dt);
  EXPECT_TRUE(parity(with_grads([](const std::vector<Tensor>& x) { return mmd_imq(x[0], x[1], 2.0, {0.5, 3.0}); }, 2),
                     {z, prior, uniform({}, gen, -1, 1, dt)}, tol(dt, 1e-4)));
}

TEST_P(CudaLosses, Gram) {
  REQUIRE_GPU();
  const DType dt = GetParam();
  Generator gen(8);
  for (const Shape& shape : {Shape{1, 1, 1, 1}, Shape{2, 3, 5, 7}, Shape{1, 16, 9, 9}}) {
    const Tensor x = uniform(shape, gen, -1, 1, dt);
    EXPECT_TRUE(parity(with_grads([](const std::vector<Tensor>& in) { return gram(in[0]); }, 1),
                       {x, uniform({shape[0], shape[1], shape[1]}, gen, -1, 1, dt)}, tol(dt, 1e-4)));
  }
  // A strided (channels-transposed) input: (N, C, H, W) from a (C, N, H, W) leaf.
  EXPECT_TRUE(parity(with_grads([](const std::vector<Tensor>& in) { return gram(t01(in[0])); }, 1),
                     {uniform({3, 2, 4, 5}, gen, -1, 1, dt), uniform({2, 3, 3}, gen, -1, 1, dt)}, tol(dt, 1e-4)));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaLosses, ::testing::Values(DType::Float32, DType::Float64),
                         [](const ::testing::TestParamInfo<DType>& info) {
                           return std::string(dtype_name(info.param));
                         });
