// test_norm.cpp: batch norm (training and evaluation forward, training
// backward, the running-statistics update) and instance norm, against naive
// double-precision loops written here; thread-count independence; bad input.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "kernels/ops.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace loom;
using loom::testing::expect_bitwise_equal;
using loom::testing::expect_close;
using loom::testing::expect_error_containing;

namespace {

// Naive batch-norm statistics of x (N, C, S) given as a flat row-major vector.
struct RefStats {
  std::vector<double> mean, var;  // biased var
};

RefStats ref_stats(const std::vector<double>& x, int64_t N, int64_t C, int64_t S) {
  RefStats r{std::vector<double>(C, 0.0), std::vector<double>(C, 0.0)};
  const double M = static_cast<double>(N * S);
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) r.mean[c] += x[(n * C + c) * S + s];
    r.mean[c] /= M;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        const double d = x[(n * C + c) * S + s] - r.mean[c];
        r.var[c] += d * d;
      }
    r.var[c] /= M;
  }
  return r;
}

// y = (x - mean_c) / sqrt(var_c + eps) w_c + b_c
std::vector<double> ref_normalize(const std::vector<double>& x, int64_t N, int64_t C, int64_t S,
                                  const std::vector<double>& mean, const std::vector<double>& var,
                                  const std::vector<double>& w, const std::vector<double>& b, double eps) {
  std::vector<double> y(x.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t i = (n * C + c) * S + s;
        y[i] = (x[i] - mean[c]) / std::sqrt(var[c] + eps) * w[c] + b[c];
      }
  return y;
}

void check_train_forward(const Shape& shape, DType dt, bool affine) {
  Generator gen(7);
  const int64_t N = shape[0], C = shape[1], S = numel_of(shape) / (N * C);
  Tensor x = normal(shape, 0.5, 2.0, gen, dt);
  Tensor w = affine ? uniform({C}, 0.5, 1.5, gen, dt) : Tensor();
  Tensor b = affine ? randn({C}, gen, dt) : Tensor();
  const double eps = 1e-5;
  BatchNormResult r = ops::batch_norm_train(x, w, b, eps);
  const std::vector<double> xv = x.to_vector<double>();
  RefStats st = ref_stats(xv, N, C, S);
  const std::vector<double> wv = affine ? w.to_vector<double>() : std::vector<double>(C, 1.0);
  const std::vector<double> bv = affine ? b.to_vector<double>() : std::vector<double>(C, 0.0);
  const double tol = dt == DType::Float32 ? 1e-5 : 1e-12;
  std::vector<double> invstd(C);
  for (int64_t c = 0; c < C; ++c) invstd[c] = 1.0 / std::sqrt(st.var[c] + eps);
  expect_close(r.mean, st.mean, tol, tol, "mean");
  expect_close(r.var, st.var, tol, tol, "var");
  expect_close(r.invstd, invstd, tol, tol, "invstd");
  expect_close(r.output, ref_normalize(xv, N, C, S, st.mean, st.var, wv, bv, eps), 4 * tol, 4 * tol, "output");
  EXPECT_EQ(r.output.shape(), shape);
  EXPECT_EQ(r.output.dtype(), dt);
}

}  // namespace

TEST(BatchNorm, TrainForwardMatchesNaive) {
  for (DType dt : {DType::Float32, DType::Float64})
    for (bool affine : {true, false}) {
      check_train_forward({5, 3}, dt, affine);
      check_train_forward({3, 4, 5, 7}, dt, affine);
      check_train_forward({2, 3, 9}, dt, affine);
    }
}

TEST(BatchNorm, TrainForwardNonContiguousInput) {
  Generator gen(3);
  Tensor base = randn({2, 5, 6, 4}, gen, DType::Float64);
  Tensor x = base.permute({0, 3, 1, 2});  // (2, 4, 5, 6), channels = 4, not contiguous
  ASSERT_FALSE(x.is_contiguous());
  BatchNormResult r = ops::batch_norm_train(x, Tensor(), Tensor(), 1e-5);
  const std::vector<double> xv = x.contiguous().to_vector<double>();
  RefStats st = ref_stats(xv, 2, 4, 30);
  expect_close(r.mean, st.mean, 1e-12, 1e-12, "mean");
  expect_close(r.output, ref_normalize(xv, 2, 4, 30, st.mean, st.var, std::vector<double>(4, 1.0),
                                       std::vector<double>(4, 0.0), 1e-5),
               1e-12, 1e-12, "output");
}

TEST(BatchNorm, EvalForwardMatchesNaive) {
  Generator gen(11);
  for (DType dt : {DType::Float32, DType::Float64}) {
    const int64_t N = 3, C = 4, S = 10;
    Tensor x = randn({N, C, 2, 5}, gen, dt);
    Tensor w = randn({C}, gen, dt), b = randn({C}, gen, dt);
    Tensor rm = randn({C}, gen, dt), rv = uniform({C}, 0.5, 2.0, gen, dt);
    Tensor y = ops::batch_norm_eval(x, w, b, rm, rv, 1e-3);
    const double tol = dt == DType::Float32 ? 1e-5 : 1e-12;
    expect_close(y, ref_normalize(x.to_vector<double>(), N, C, S, rm.to_vector<double>(), rv.to_vector<double>(),
                                  w.to_vector<double>(), b.to_vector<double>(), 1e-3),
                 tol, tol, "eval output");
    // the differentiable function in eval mode gives the same
    Tensor y2 = batch_norm(x, w, b, rm, rv, /*training=*/false, 0.1, 1e-3);
    expect_bitwise_equal(y, y2, "batch_norm(eval) vs raw op");
  }
}

TEST(BatchNorm, TrainBackwardMatchesNaive) {
  Generator gen(5);
  const int64_t N = 3, C = 2, S = 6;
  Tensor x = randn({N, C, 2, 3}, gen, DType::Float64);
  Tensor g = randn({N, C, 2, 3}, gen, DType::Float64);
  Tensor w = randn({C}, gen, DType::Float64);
  BatchNormResult r = ops::batch_norm_train(x, w, Tensor(), 1e-5);
  BatchNormGrads d = ops::batch_norm_backward_train(g, x, w, r.mean, r.invstd);
  // Naive: dx_i = w/(M sigma) (M g_i - sum g - xhat_i sum g xhat)
  const std::vector<double> xv = x.to_vector<double>(), gv = g.to_vector<double>(), wv = w.to_vector<double>();
  RefStats st = ref_stats(xv, N, C, S);
  const double M = N * S;
  std::vector<double> dx(xv.size()), dw(C, 0.0), db(C, 0.0);
  for (int64_t c = 0; c < C; ++c) {
    const double sigma = std::sqrt(st.var[c] + 1e-5);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t i = (n * C + c) * S + s;
        db[c] += gv[i];
        dw[c] += gv[i] * (xv[i] - st.mean[c]) / sigma;
      }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t i = (n * C + c) * S + s;
        const double xhat = (xv[i] - st.mean[c]) / sigma;
        dx[i] = wv[c] / (M * sigma) * (M * gv[i] - db[c] - xhat * dw[c]);
      }
  }
  expect_close(d.grad_input, dx, 1e-12, 1e-10, "grad_input");
  expect_close(d.grad_weight, dw, 1e-12, 1e-10, "grad_weight");
  expect_close(d.grad_bias, db, 1e-12, 1e-10, "grad_bias");
  // without weight: no grad_weight, and dx uses w = 1
  BatchNormGrads d0 = ops::batch_norm_backward_train(g, x, Tensor(), r.mean, r.invstd);
  EXPECT_FALSE(d0.grad_weight.defined());
  EXPECT_TRUE(d0.grad_bias.defined());
}

TEST(BatchNorm, RunningStatsUpdateByHandFormula) {
  Generator gen(21);
  for (DType dt : {DType::Float32, DType::Float64}) {
    const int64_t N = 4, C = 3, S = 6;
    Tensor x = normal({N, C, 2, 3}, 1.0, 3.0, gen, dt);
    Tensor rm = randn({C}, gen, dt), rv = uniform({C}, 0.5, 1.5, gen, dt);
    const std::vector<double> rm0 = rm.to_vector<double>(), rv0 = rv.to_vector<double>();
    const double m = 0.1;
    Tensor y = batch_norm(x, Tensor(), Tensor(), rm, rv, /*training=*/true, m, 1e-5);
    RefStats st = ref_stats(x.to_vector<double>(), N, C, S);
    std::vector<double> rm1(C), rv1(C);
    for (int64_t c = 0; c < C; ++c) {
      rm1[c] = (1 - m) * rm0[c] + m * st.mean[c];
      rv1[c] = (1 - m) * rv0[c] + m * st.var[c] * (N * S) / (N * S - 1.0);  // unbiased
    }
    const double tol = dt == DType::Float32 ? 1e-6 : 1e-13;
    expect_close(rm, rm1, tol, tol, "running_mean");
    expect_close(rv, rv1, tol, tol, "running_var");
    // eval mode leaves them alone
    batch_norm(x, Tensor(), Tensor(), rm, rv, /*training=*/false, m, 1e-5);
    expect_close(rm, rm1, tol, tol, "running_mean after eval");
  }
}

TEST(BatchNorm, RunningStatsUpdatedUnderGradAndNotRecorded) {
  Generator gen(2);
  Tensor x = randn({4, 2}, gen, DType::Float64);
  x.requires_grad_();
  Tensor rm = Tensor::zeros({2}, DType::Float64), rv = Tensor::ones({2}, DType::Float64);
  Tensor y = batch_norm(x, Tensor(), Tensor(), rm, rv, true);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_FALSE(rm.requires_grad());
  EXPECT_FALSE(rv.requires_grad());
  EXPECT_NE(rm.at({0}), 0.0);
}

TEST(BatchNorm, EvalWithoutRunningStatsUsesBatchStats) {
  Generator gen(4);
  Tensor x = randn({5, 3}, gen, DType::Float64);
  Tensor a = batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), /*training=*/false);
  Tensor b = ops::batch_norm_train(x, Tensor(), Tensor(), 1e-5).output;
  expect_bitwise_equal(a, b, "eval without running stats");
}

TEST(BatchNorm, ThreadCountIndependent) {
  Generator gen(9);
  Tensor x = randn({4, 3, 64, 64}, gen, DType::Float32);  // 49152 elements: parallel
  Tensor w = randn({3}, gen, DType::Float32), b = randn({3}, gen, DType::Float32);
  Tensor g = randn({4, 3, 64, 64}, gen, DType::Float32);
  const int saved = omp_get_max_threads();
  std::vector<BatchNormResult> fwd;
  std::vector<BatchNormGrads> bwd;
  std::vector<Tensor> inst;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    fwd.push_back(ops::batch_norm_train(x, w, b, 1e-5));
    bwd.push_back(ops::batch_norm_backward_train(g, x, w, fwd.back().mean, fwd.back().invstd));
    inst.push_back(instance_norm(x, w, b));
  }
  omp_set_num_threads(saved);
  expect_bitwise_equal(fwd[0].output, fwd[1].output, "output");
  expect_bitwise_equal(fwd[0].mean, fwd[1].mean, "mean");
  expect_bitwise_equal(fwd[0].invstd, fwd[1].invstd, "invstd");
  expect_bitwise_equal(bwd[0].grad_input, bwd[1].grad_input, "grad_input");
  expect_bitwise_equal(bwd[0].grad_weight, bwd[1].grad_weight, "grad_weight");
  expect_bitwise_equal(bwd[0].grad_bias, bwd[1].grad_bias, "grad_bias");
  expect_bitwise_equal(inst[0], inst[1], "instance_norm");
}

TEST(BatchNorm, BadInputErrors) {
  Tensor x = Tensor::ones({4, 3, 2, 2});
  expect_error_containing([&] { ops::batch_norm_train(x, Tensor::ones({4}), Tensor(), 1e-5); }, "[3]");
  expect_error_containing([&] { ops::batch_norm_train(x, Tensor(), Tensor::ones({2}), 1e-5); }, "bias");
  expect_error_containing([&] { ops::batch_norm_train(Tensor::ones({4}), Tensor(), Tensor(), 1e-5); }, "(N, C, *)");
  expect_error_containing([&] { ops::batch_norm_train(Tensor::ones({1, 3}), Tensor(), Tensor(), 1e-5); },
                          "more than 1 value per channel");
  expect_error_containing([&] { ops::batch_norm_train(x, Tensor::ones({3}, DType::Float64), Tensor(), 1e-5); },
                          "float64");
  expect_error_containing([&] { batch_norm(x, Tensor(), Tensor(), Tensor::zeros({2}), Tensor::ones({2}), true); },
                          "running_mean");
  expect_error_containing([&] { batch_norm(x, Tensor(), Tensor(), Tensor::zeros({3}), Tensor(), true); },
                          "both");
  expect_error_containing(
      [&] { ops::batch_norm_backward_train(Tensor::ones({4, 3, 2, 1}), x, Tensor(), Tensor::zeros({3}), Tensor::ones({3})); },
      "grad_out shape");
  expect_error_containing([&] { ops::batch_norm_train(Tensor::ones({4, 3}, DType::Int64), Tensor(), Tensor(), 1e-5); },
                          "float32 or float64");
}

// ---- instance norm -----------------------------------------------------------

TEST(InstanceNorm, ForwardMatchesNaive) {
  Generator gen(13);
  for (DType dt : {DType::Float32, DType::Float64}) {
    const int64_t N = 2, C = 3, S = 20;
    Tensor x = normal({N, C, 4, 5}, 2.0, 3.0, gen, dt);
    Tensor w = randn({C}, gen, dt), b = randn({C}, gen, dt);
    const std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
    // each (n, c) plane normalised over its own S values
    std::vector<double> ref(xv.size());
    for (int64_t p = 0; p < N * C; ++p) {
      double mean = 0, var = 0;
      for (int64_t s = 0; s < S; ++s) mean += xv[p * S + s];
      mean /= S;
      for (int64_t s = 0; s < S; ++s) var += (xv[p * S + s] - mean) * (xv[p * S + s] - mean);
      var /= S;
      for (int64_t s = 0; s < S; ++s)
        ref[p * S + s] = (xv[p * S + s] - mean) / std::sqrt(var + 1e-5) * wv[p % C] + bv[p % C];
    }
    const double tol = dt == DType::Float32 ? 2e-5 : 1e-12;
    expect_close(instance_norm(x, w, b), ref, tol, tol, "instance_norm affine");
    // no affine: the normalised planes
    std::vector<double> plain(ref.size());
    for (size_t i = 0; i < ref.size(); ++i) plain[i] = (ref[i] - bv[(i / S) % C]) / wv[(i / S) % C];
    expect_close(instance_norm(x), plain, 1e3 * tol, 1e3 * tol, "instance_norm plain");
  }
}

TEST(InstanceNorm, BadInputErrors) {
  expect_error_containing([] { instance_norm(Tensor::ones({2, 3})); }, "spatial");
  expect_error_containing([] { instance_norm(Tensor::ones({2, 3, 1, 1})); }, "more than 1 spatial element");
  expect_error_containing([] { instance_norm(Tensor::ones({2, 3, 4, 4}), Tensor::ones({4})); }, "weight");
}
