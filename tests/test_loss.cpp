// test_loss.cpp: forward values of the losses and statistics of
// autograd/loss.cpp against plain double-precision loops written here (SSIM
// with a direct 2-D window, not the separable convolutions loss.cpp uses),
// the three reductions, float32 against the double reference, the special
// points (bce at p = 0 and 1, bce_with_logits at 0 and +-100), and the errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "autograd/functions.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace loom;
using loom::testing::expect_close;

namespace {

double total(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

// Checks reduction None against `per_element`, Sum against its sum and Mean
// against its mean.
void expect_reductions(const std::function<Tensor(Reduction)>& loss, const std::vector<double>& per_element,
                       const Shape& shape, double tol, const char* what) {
  Tensor none = loss(Reduction::None);
  EXPECT_EQ(none.shape(), shape) << what;
  expect_close(none.to_vector<double>(), per_element, tol, tol, what);
  Tensor s = loss(Reduction::Sum), m = loss(Reduction::Mean);
  EXPECT_EQ(s.dim(), 0) << what;
  EXPECT_EQ(m.dim(), 0) << what;
  EXPECT_NEAR(s.item(), total(per_element), tol * (1 + std::abs(total(per_element)))) << what;
  const double mean_ref = total(per_element) / static_cast<double>(per_element.size());
  EXPECT_NEAR(m.item(), mean_ref, tol * (1 + std::abs(mean_ref))) << what;
}

// Expects `f` to throw a loom::Error containing every fragment.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const std::string& frag : fragments)
      EXPECT_NE(msg.find(frag), std::string::npos) << "expected '" << frag << "' in: " << msg;
  }
}

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

TEST(Loss, BceWithLogitsMatchesNaive) {
  Generator g(1);
  Tensor logits = randn({3, 4, 5}, g, DType::Float64) * 4.0;
  Tensor target = uniform({3, 4, 5}, 0.0, 1.0, g, DType::Float64);
  // include the special points: 0 and +-100 (no overflow in exp)
  logits = logits.contiguous();
  logits.data<double>()[0] = 0.0;
  logits.data<double>()[1] = 100.0;
  logits.data<double>()[2] = -100.0;
  std::vector<double> l = logits.to_vector<double>(), t = target.to_vector<double>(), ref;
  for (size_t i = 0; i < l.size(); ++i)  // log(1 + e^-l) + (1 - t) l, in the stable form
    ref.push_back(std::max(l[i], 0.0) - l[i] * t[i] + std::log1p(std::exp(-std::abs(l[i]))));
  expect_reductions([&](Reduction r) { return bce_with_logits(logits, target, r); }, ref, {3, 4, 5}, 1e-13,
                    "bce_with_logits");
  // float32 agrees with the double reference
  Tensor mean32 = bce_with_logits(logits.to(DType::Float32), target.to(DType::Float32));
  EXPECT_NEAR(mean32.item(), total(ref) / ref.size(), 1e-5);
}

TEST(Loss, BceMatchesNaiveWithLogClampedAtMinus100) {
  Generator g(2);
  Tensor p = uniform({2, 3, 4}, 0.01, 0.99, g, DType::Float64).contiguous();
  Tensor target = uniform({2, 3, 4}, 0.0, 1.0, g, DType::Float64);
  p.data<double>()[0] = 0.0;  // log 0 = -inf -> -100
  p.data<double>()[1] = 1.0;  // log(1 - 1) -> -100
  std::vector<double> pv = p.to_vector<double>(), t = target.to_vector<double>(), ref;
  for (size_t i = 0; i < pv.size(); ++i) {
    const double log_p = std::max(std::log(pv[i]), -100.0), log_1mp = std::max(std::log(1 - pv[i]), -100.0);
    ref.push_back(-(t[i] * log_p + (1 - t[i]) * log_1mp));
  }
  expect_reductions([&](Reduction r) { return bce(p, target, r); }, ref, {2, 3, 4}, 1e-13, "bce");
}

TEST(Loss, BceGradientIsFiniteWhenSaturated) {
  // A saturated sigmoid gives exactly 0 or 1 in float32; the gradient must
  // follow PyTorch, (p - t) / max(p (1 - p), 1e-12), never NaN.
  Tensor p = Tensor::from_vector<float>({0.0f, 1.0f, 1.0f, 0.25f}, {4});
  Tensor t = Tensor::from_vector<float>({1.0f, 1.0f, 0.0f, 1.0f}, {4});
  p.requires_grad_();
  t.requires_grad_();
  Tensor loss = bce(p, t, Reduction::Sum);
  EXPECT_NEAR(loss.item(), 100 + 0 + 100 + -std::log(0.25), 1e-4);
  loss.backward();
  std::vector<double> gp = p.grad().to_vector<double>(), gt = t.grad().to_vector<double>();
  const std::vector<double> pv = {0, 1, 1, 0.25}, tv = {1, 1, 0, 1};
  for (size_t i = 0; i < 4; ++i) {
    const double want = (pv[i] - tv[i]) / std::max(pv[i] * (1 - pv[i]), 1e-12);
    EXPECT_TRUE(std::isfinite(gp[i])) << i;
    EXPECT_NEAR(gp[i], want, 1e-6 * std::abs(want) + 1e-6) << i;
    // d/dt = max(log(1-p), -100) - max(log p, -100)
    const double want_t = std::max(std::log(1 - pv[i]), -100.0) - std::max(std::log(pv[i]), -100.0);
    EXPECT_NEAR(gt[i], want_t, 1e-4) << i;
  }
}

TEST(Loss, L1AndMseMatchNaive) {
  Generator g(3);
  Tensor a = randn({4, 3, 2}, g, DType::Float64);
  Tensor b = randn({2, 3, 4}, g, DType::Float64).permute({2, 1, 0});  // non-contiguous
  std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>(), l1, l2;
  for (size_t i = 0; i < av.size(); ++i) {
    l1.push_back(std::abs(av[i] - bv[i]));
    l2.push_back((av[i] - bv[i]) * (av[i] - bv[i]));
  }
  expect_reductions([&](Reduction r) { return l1_loss(a, b, r); }, l1, {4, 3, 2}, 1e-14, "l1_loss");
  expect_reductions([&](Reduction r) { return mse_loss(a, b, r); }, l2, {4, 3, 2}, 1e-14, "mse_loss");
  EXPECT_NEAR(mse_loss(a.to(DType::Float32), b.to(DType::Float32)).item(), total(l2) / l2.size(), 1e-5);
}

TEST(Loss, CrossEntropyMatchesNaiveFor2dAndPerPixel) {
  Generator g(4);
  // (N, C) with labels (N)
  {
    const int64_t n = 5, c = 4;
    Tensor x = randn({n, c}, g, DType::Float64) * 3.0;
    Tensor y = randint(0, c, {n}, g);
    std::vector<double> xv = x.to_vector<double>(), ref;
    std::vector<int64_t> yv = y.to_vector<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      double m = -INFINITY, s = 0;
      for (int64_t k = 0; k < c; ++k) m = std::max(m, xv[i * c + k]);
      for (int64_t k = 0; k < c; ++k) s += std::exp(xv[i * c + k] - m);
      ref.push_back(-(xv[i * c + yv[i]] - m - std::log(s)));  // -log softmax[y]
    }
    expect_reductions([&](Reduction r) { return cross_entropy(x, y, r); }, ref, {n}, 1e-13, "cross_entropy (N,C)");
  }
  // (N, C, H, W) with labels (N, H, W)
  {
    const int64_t n = 2, c = 3, h = 4, w = 5;
    Tensor x = randn({n, c, h, w}, g, DType::Float64);
    Tensor y = randint(0, c, {n, h, w}, g);
    std::vector<double> xv = x.to_vector<double>(), ref;
    std::vector<int64_t> yv = y.to_vector<int64_t>();
    auto at = [&](int64_t i, int64_t k, int64_t r, int64_t q) { return xv[((i * c + k) * h + r) * w + q]; };
    for (int64_t i = 0; i < n; ++i)
      for (int64_t r = 0; r < h; ++r)
        for (int64_t q = 0; q < w; ++q) {
          double m = -INFINITY, s = 0;
          for (int64_t k = 0; k < c; ++k) m = std::max(m, at(i, k, r, q));
          for (int64_t k = 0; k < c; ++k) s += std::exp(at(i, k, r, q) - m);
          ref.push_back(-(at(i, yv[(i * h + r) * w + q], r, q) - m - std::log(s)));
        }
    expect_reductions([&](Reduction r) { return cross_entropy(x, y, r); }, ref, {n, h, w}, 1e-13,
                      "cross_entropy (N,C,H,W)");
    EXPECT_NEAR(cross_entropy(x.to(DType::Float32), y).item(), total(ref) / ref.size(), 1e-5);
  }
}

TEST(Loss, DiceMatchesNaivePerSample) {
  Generator g(5);
  const int64_t n = 3, c = 2, h = 3, w = 4, per = c * h * w;
  Tensor logits = randn({n, c, h, w}, g, DType::Float64);
  Tensor target = bernoulli({n, c, h, w}, 0.4, g, DType::Float64);
  for (double eps : {1.0, 1e-3}) {
    std::vector<double> l = logits.to_vector<double>(), t = target.to_vector<double>();
    double ref = 0;
    for (int64_t i = 0; i < n; ++i) {
      double inter = 0, s_sum = 0, t_sum = 0;
      for (int64_t j = 0; j < per; ++j) {
        const double s = sigmoid_ref(l[i * per + j]);
        inter += s * t[i * per + j];
        s_sum += s;
        t_sum += t[i * per + j];
      }
      ref += 1 - (2 * inter + eps) / (s_sum + t_sum + eps);
    }
    ref /= n;
    EXPECT_NEAR(dice_loss(logits, target, eps).item(), ref, 1e-13) << "eps " << eps;
  }
  EXPECT_EQ(dice_loss(logits, target).dim(), 0);
}

namespace {

// SSIM with a direct 2-D Gaussian window (not separable), 'valid' positions.
double ssim_ref(const Tensor& a, const Tensor& b, int64_t k, double sigma, double c1, double c2) {
  const int64_t n = a.size(0), c = a.size(1), h = a.size(2), w = a.size(3);
  std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<double> win(k * k);
  double wsum = 0;
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j) {
      const double di = i - (k - 1) / 2.0, dj = j - (k - 1) / 2.0;
      win[i * k + j] = std::exp(-(di * di + dj * dj) / (2 * sigma * sigma));
      wsum += win[i * k + j];
    }
  for (double& v : win) v /= wsum;
  double acc = 0;
  int64_t count = 0;
  for (int64_t p = 0; p < n * c; ++p)
    for (int64_t y = 0; y + k <= h; ++y)
      for (int64_t x = 0; x + k <= w; ++x) {
        double ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;
        for (int64_t i = 0; i < k; ++i)
          for (int64_t j = 0; j < k; ++j) {
            const double wt = win[i * k + j];
            const double va = av[(p * h + y + i) * w + x + j], vb = bv[(p * h + y + i) * w + x + j];
            ma += wt * va;
            mb += wt * vb;
            saa += wt * va * va;
            sbb += wt * vb * vb;
            sab += wt * va * vb;
          }
        const double var_a = saa - ma * ma, var_b = sbb - mb * mb, cov = sab - ma * mb;
        acc += (2 * ma * mb + c1) * (2 * cov + c2) / ((ma * ma + mb * mb + c1) * (var_a + var_b + c2));
        ++count;
      }
  return acc / count;
}

}  // namespace

TEST(Loss, SsimMatchesDirect2dWindow) {
  Generator g(6);
  Tensor a = rand({2, 3, 14, 13}, g, DType::Float64);
  Tensor b = (a * 0.7 + rand({2, 3, 14, 13}, g, DType::Float64) * 0.3).detach();
  EXPECT_NEAR(ssim(a, b).item(), ssim_ref(a, b, 11, 1.5, 1e-4, 9e-4), 1e-12);
  EXPECT_NEAR(ssim(a, b, 5, 1.0, 0.01, 0.03).item(), ssim_ref(a, b, 5, 1.0, 0.01, 0.03), 1e-12);
  // non-contiguous input
  Tensor bt = b.transpose(2, 3).contiguous().transpose(2, 3);
  ASSERT_FALSE(bt.is_contiguous());
  EXPECT_NEAR(ssim(a, bt).item(), ssim_ref(a, b, 11, 1.5, 1e-4, 9e-4), 1e-12);
  // identical images: 1; float32 close to the double reference
  EXPECT_NEAR(ssim(a, a).item(), 1.0, 1e-12);
  EXPECT_NEAR(ssim(a.to(DType::Float32), b.to(DType::Float32)).item(), ssim_ref(a, b, 11, 1.5, 1e-4, 9e-4), 1e-4);
}

TEST(Loss, GramMatchesNaive) {
  Generator g(7);
  const int64_t n = 2, c = 3, h = 4, w = 5, hw = h * w;
  Tensor x = randn({n, c, w, h}, g, DType::Float64).transpose(2, 3);  // non-contiguous (N, C, H, W)
  std::vector<double> xv = x.to_vector<double>(), ref;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < c; ++p)
      for (int64_t q = 0; q < c; ++q) {
        double s = 0;
        for (int64_t e = 0; e < hw; ++e) s += xv[(i * c + p) * hw + e] * xv[(i * c + q) * hw + e];
        ref.push_back(s / static_cast<double>(c * hw));
      }
  Tensor gm = gram(x);
  EXPECT_EQ(gm.shape(), (Shape{n, c, c}));
  expect_close(gm.to_vector<double>(), ref, 1e-14, 1e-14, "gram");
}

TEST(Loss, MmdImqMatchesNaive) {
  Generator g(8);
  const int64_t n = 6, d = 3;
  Tensor z = randn({n, d}, g, DType::Float64);
  Tensor p = randn({n, d}, g, DType::Float64) * 1.5;
  const std::vector<double> scales = {0.1, 1.0, 10.0};
  const double sigma2 = 2.0;
  std::vector<double> zv = z.to_vector<double>(), pv = p.to_vector<double>();
  auto k = [&](const std::vector<double>& u, int64_t i, const std::vector<double>& v, int64_t j, double cc) {
    double dist = 0;
    for (int64_t e = 0; e < d; ++e) dist += (u[i * d + e] - v[j * d + e]) * (u[i * d + e] - v[j * d + e]);
    return cc / (cc + dist);
  };
  double ref = 0;
  for (double s : scales) {
    const double cc = 2.0 * d * sigma2 * s;
    double within = 0, across = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        if (i != j) within += k(zv, i, zv, j, cc) + k(pv, i, pv, j, cc);
        across += k(zv, i, pv, j, cc);
      }
    ref += within / (n * (n - 1)) - 2 * across / (n * n);
  }
  EXPECT_NEAR(mmd_imq(z, p, sigma2, scales).item(), ref, 1e-13);
  // the same distribution sample against itself: k_zz terms cancel k_zp ones
  // except the diagonal: sum_s [2 S/(n(n-1)) - 2 (S + n)/n^2] with S = sum_{i!=j}
  EXPECT_LT(mmd_imq(z, z).item(), 0.0);
}

TEST(Loss, BadInputGivesClearErrors) {
  Tensor a = Tensor::zeros({2, 3}, DType::Float64), b = Tensor::zeros({3, 2}, DType::Float64);
  expect_error([&] { mse_loss(a, b); }, {"mse_loss", "[2, 3]", "[3, 2]"});
  expect_error([&] { l1_loss(a, b); }, {"l1_loss", "[2, 3]", "[3, 2]"});
  expect_error([&] { bce(a, b); }, {"bce", "[2, 3]", "[3, 2]"});
  expect_error([&] { bce_with_logits(a, b); }, {"bce_with_logits", "[2, 3]", "[3, 2]"});
  expect_error([&] { dice_loss(a, b); }, {"dice_loss", "[2, 3]", "[3, 2]"});
  expect_error([&] { mse_loss(a, a.to(DType::Float32)); }, {"mse_loss", "float"});
  expect_error([&] { mse_loss(a, Tensor::zeros({2, 3}, DType::Int64)); }, {"mse_loss", "int64"});
  // cross_entropy: target shape, dtype and range
  Tensor logits = Tensor::zeros({2, 4, 3}, DType::Float64);
  expect_error([&] { cross_entropy(logits, Tensor::zeros({2, 4}, DType::Int64)); },
               {"cross_entropy", "[2, 4]", "[2, 4, 3]", "[2, 3]"});
  expect_error([&] { cross_entropy(logits, Tensor::zeros({2, 3}, DType::Float64)); }, {"cross_entropy", "int64"});
  expect_error([&] { cross_entropy(logits, Tensor::full({2, 3}, 4, DType::Int64)); }, {"cross_entropy", "class 4"});
  expect_error([&] { cross_entropy(logits, Tensor::full({2, 3}, -1, DType::Int64)); }, {"cross_entropy", "class -1"});
  // ssim: rank and window size
  expect_error([&] { ssim(Tensor::zeros({1, 1, 8, 8}), Tensor::zeros({1, 1, 8, 8})); }, {"ssim", "11x11", "[1, 1, 8, 8]"});
  expect_error([&] { ssim(Tensor::zeros({1, 16, 16}), Tensor::zeros({1, 16, 16})); }, {"ssim", "[1, 16, 16]"});
  expect_error([&] { ssim(Tensor::zeros({1, 1, 16, 16}), Tensor::zeros({1, 1, 16, 15})); },
               {"ssim", "[1, 1, 16, 16]", "[1, 1, 16, 15]"});
  // gram and mmd
  expect_error([&] { gram(Tensor::zeros({2, 3, 4})); }, {"gram", "[2, 3, 4]"});
  expect_error([&] { mmd_imq(Tensor::zeros({4, 2}), Tensor::zeros({4, 3})); }, {"mmd_imq", "[4, 2]", "[4, 3]"});
  expect_error([&] { mmd_imq(Tensor::zeros({1, 2}), Tensor::zeros({1, 2})); }, {"mmd_imq", "at least 2"});
  expect_error([&] { dice_loss(Tensor::zeros({4}), Tensor::zeros({4})); }, {"dice_loss", "[4]"});
}
