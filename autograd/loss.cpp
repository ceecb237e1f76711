// loss.cpp: the differentiable losses and statistics declared in
// autograd/functions.h: bce_with_logits, bce, l1_loss, mse_loss,
// cross_entropy, dice_loss, ssim, gram and mmd_imq.
//
// Each is composed from the differentiable functions (elementwise maps,
// reductions, views, conv2d, matmul), so its gradient comes from the tape and
// no new kernel is written here. The one exception is bce's backward, recorded
// as one node with PyTorch's formula (see bce below for why).
// The exact semantics are pinned by the PyTorch reference cases in
// ../shared/golden (049-057); each formula sits in a comment beside its code.
#include <cmath>
#include <limits>

#include "autograd/functions.h"
#include "autograd/node.h"
#include "kernels/ops.h"

namespace loom {

using autograd::record;
using Grads = std::vector<Tensor>;

namespace {

// Mean: mean over every element; Sum: sum of every element; None: elementwise.
Tensor reduce(const Tensor& per_element, Reduction reduction) {
  switch (reduction) {
    case Reduction::Mean: return mean(per_element);
    case Reduction::Sum: return sum(per_element);
    case Reduction::None: return per_element;
  }
  detail::throw_error("loss: unknown reduction ", static_cast<int>(reduction));
}

void check_floating(const char* loss, const Tensor& t, const char* what) {
  LOOM_CHECK(t.defined(), loss, ": ", what, " is undefined");
  LOOM_CHECK(is_floating(t.dtype()), loss, ": ", what, " must be float32 or float64, got ", dtype_name(t.dtype()),
             " (shape ", shape_str(t.shape()), ")");
}

// Both floating, same dtype and device, and the same shape (losses do not
// broadcast: a mismatch is almost always a bug in the caller).
void check_pair(const char* loss, const Tensor& a, const char* a_name, const Tensor& b, const char* b_name) {
  check_floating(loss, a, a_name);
  check_floating(loss, b, b_name);
  LOOM_CHECK(a.shape() == b.shape(), loss, ": ", a_name, " shape ", shape_str(a.shape()), " and ", b_name, " shape ",
             shape_str(b.shape()), " must be equal");
  check_same_dtype_device(a, b, loss);
}

}  // namespace

// ---- bce_with_logits ------------------------------------------------------
// PyTorch BCEWithLogitsLoss, the log-sum-exp-stable form:
//   l(x, t) = max(x, 0) - x t + log(1 + exp(-|x|))
// -|x| is written x - 2 relu(x) (exact in floating point) so that the tape's
// gradient is sigmoid(x) - t everywhere, x = 0 included: with relu'(0) = 0 the
// softplus part differentiates to 0 + 1/2 (1 - 0) = sigmoid(0), whereas
// abs'(0) = 0 would give 0 there. d/dt = -x, as in PyTorch.
Tensor bce_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction) {
  check_pair("bce_with_logits", logits, "logits", target, "target");
  Tensor relu_x = relu(logits);                            // max(x, 0)
  Tensor minus_abs_x = logits - relu_x * 2.0;              // -|x|
  Tensor softplus_tail = log(exp(minus_abs_x) + 1.0);      // log(1 + exp(-|x|))
  Tensor per_element = relu_x - logits * target + softplus_tail;
  return reduce(per_element, reduction);
}

// ---- bce ----------------------------------------------------------------------
// PyTorch BCELoss on probabilities p:
//   l(p, t) = -(t max(log p, -100) + (1 - t) max(log(1 - p), -100))
// The backward is PyTorch's, recorded as one node:
//   dl/dp = (p - t) / max(p (1 - p), 1e-12)
//   dl/dt = max(log(1 - p), -100) - max(log p, -100)
// A composition of log and clamp would give 0 * (1/0) = NaN at p = 0 or p = 1,
// which a saturated sigmoid reaches in float32 (sigmoid(x) == 1 for x > 17):
// the DCGAN discriminator would poison its whole update with one NaN.
Tensor bce(const Tensor& p, const Tensor& target, Reduction reduction) {
  check_pair("bce", p, "p", target, "target");
  constexpr double kLogFloor = -100.0;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Tensor p_value = p.detach(), t_value = target.detach();
  Tensor log_p = ops::clamp(ops::log(p_value), kLogFloor, kInf);                          // max(log p, -100)
  Tensor log_1mp = ops::clamp(ops::log(ops::rsub_scalar(p_value, 1.0)), kLogFloor, kInf);  // max(log(1-p), -100)
  // -(t log p + (1 - t) log(1 - p)) = -(log(1-p) + t (log p - log(1-p)))
  Tensor per_element = ops::neg(ops::add(log_1mp, ops::mul(t_value, ops::sub(log_p, log_1mp))));
  Tensor out = record("bce", per_element, {p, target},
                      [p_value, t_value, log_p, log_1mp, gp = p.requires_grad(), gt = target.requires_grad()](
                          const Tensor& g) {
                        Tensor grad_p, grad_t;
                        if (gp) {
                          // g (p - t) / max(p (1 - p), 1e-12)
                          Tensor p_1mp = ops::mul(p_value, ops::rsub_scalar(p_value, 1.0));
                          Tensor denom = ops::clamp(p_1mp, 1e-12, std::numeric_limits<double>::infinity());
                          grad_p = ops::div(ops::mul(g, ops::sub(p_value, t_value)), denom);
                        }
                        if (gt) grad_t = ops::mul(g, ops::sub(log_1mp, log_p));  // g (log(1-p) - log p)
                        return Grads{grad_p, grad_t};
                      });
  return reduce(out, reduction);
}

// ---- l1_loss, mse_loss ----------------------------------------------------------
// PyTorch L1Loss: l = |a - b| (gradient sign(a - b), 0 where a == b).
Tensor l1_loss(const Tensor& a, const Tensor& b, Reduction reduction) {
  check_pair("l1_loss", a, "a", b, "b");
  return reduce(abs(a - b), reduction);
}

// PyTorch MSELoss: l = (a - b)^2.
Tensor mse_loss(const Tensor& a, const Tensor& b, Reduction reduction) {
  check_pair("mse_loss", a, "a", b, "b");
  Tensor diff = a - b;
  return reduce(diff * diff, reduction);
}

// ---- cross_entropy ----------------------------------------------------------------
// PyTorch CrossEntropyLoss with class dim 1 (no weights, no ignore_index, no
// label smoothing): logits x (N, C, *), target y (N, *) int64 in [0, C):
//   l[n, *] = -log_softmax(x, dim 1)[n, y[n, *], *]
// picked as sum_c(log_softmax * one_hot(y)) over the class dim; Mean divides by
// N * prod(*).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction) {
  check_floating("cross_entropy", logits, "logits");
  LOOM_CHECK(target.defined() && target.dtype() == DType::Int64, "cross_entropy: target must be int64 class indices, got ",
             target.defined() ? dtype_name(target.dtype()) : "undefined", target.defined() ? " of shape " : "",
             target.defined() ? shape_str(target.shape()) : "");
  LOOM_CHECK(logits.dim() >= 2, "cross_entropy: logits must be (N, C, *), got shape ", shape_str(logits.shape()));
  const int64_t num_classes = logits.size(1);
  Shape expected = logits.shape();
  expected.erase(expected.begin() + 1);  // (N, *)
  LOOM_CHECK(target.shape() == expected, "cross_entropy: target shape ", shape_str(target.shape()),
             " does not match logits shape ", shape_str(logits.shape()), " (expected target ", shape_str(expected),
             ": logits without the class dim 1)");
  LOOM_CHECK(target.device() == logits.device(), "cross_entropy: logits on ", logits.device().str(), ", target on ",
             target.device().str());
  for (int64_t label : target.to_vector<int64_t>())
    LOOM_CHECK(label >= 0 && label < num_classes, "cross_entropy: target holds class ", label, " outside [0, ",
               num_classes, ") for logits of shape ", shape_str(logits.shape()));

  Tensor log_probs = log_softmax(logits, 1);                             // (N, C, *)
  Tensor hot_last = ops::one_hot(target, num_classes, logits.dtype());  // (N, *, C)
  std::vector<int64_t> class_to_dim1{0, hot_last.dim() - 1};           // (N, *, C) -> (N, C, *)
  for (int64_t d = 1; d < hot_last.dim() - 1; ++d) class_to_dim1.push_back(d);
  Tensor hot = hot_last.permute(class_to_dim1);                          // (N, C, *)
  Tensor picked = sum(log_probs * hot, {1});                             // (N, *): log_softmax[n, y, *]
  return reduce(-picked, reduction);
}

// ---- dice_loss ------------------------------------------------------------------------
// Soft Dice on logits (Milletari et al., V-Net, 2016, with the +eps smoothing
// of the common segmentation code), sums per sample over every dim but 0:
//   s = sigmoid(x)
//   loss = mean_n (1 - (2 sum(s t) + eps) / (sum(s) + sum(t) + eps))
Tensor dice_loss(const Tensor& logits, const Tensor& target, double eps) {
  check_pair("dice_loss", logits, "logits", target, "target");
  LOOM_CHECK(logits.dim() >= 2, "dice_loss: logits must be (N, ...) with at least 2 dims (sums are per sample), got ",
             shape_str(logits.shape()));
  std::vector<int64_t> per_sample;  // dims 1..D-1
  for (int64_t d = 1; d < logits.dim(); ++d) per_sample.push_back(d);
  Tensor s = sigmoid(logits);
  Tensor intersection = sum(s * target, per_sample);                           // (N)
  Tensor total = sum(s, per_sample) + sum(target, per_sample);                // (N)
  Tensor dice = (intersection * 2.0 + eps) / (total + eps);                    // (N)
  return mean(1.0 - dice);
}

// ---- ssim ---------------------------------------------------------------------------
// Structural similarity (Wang, Bovik, Sheikh, Simoncelli, IEEE TIP 2004), as
// pytorch-ssim / skimage with gaussian_weights: a Gaussian window w (size k,
// std sigma, normalised to sum 1), 'valid' positions only, per channel:
//   mu_a = w * a,  mu_b = w * b                      (* = 2-D correlation)
//   var_a = w * a^2 - mu_a^2,  var_b = w * b^2 - mu_b^2,  cov = w * (a b) - mu_a mu_b
//   ssim = (2 mu_a mu_b + C1)(2 cov + C2) / ((mu_a^2 + mu_b^2 + C1)(var_a + var_b + C2))
// and the result is the mean over N, C and every valid position.
// The 2-D window is separable, w = g g^T, so each blur is two 1-D
// convolutions (1 x k then k x 1) on x viewed as (N C, 1, H, W).
Tensor ssim(const Tensor& a, const Tensor& b, int64_t window, double sigma, double c1, double c2) {
  check_pair("ssim", a, "a", b, "b");
  LOOM_CHECK(a.dim() == 4, "ssim: inputs must be (N, C, H, W), got shape ", shape_str(a.shape()));
  LOOM_CHECK(window >= 1 && sigma > 0, "ssim: window must be >= 1 and sigma > 0, got window ", window, " sigma ",
             sigma);
  const int64_t n = a.size(0), channels = a.size(1), height = a.size(2), width = a.size(3);
  LOOM_CHECK(height >= window && width >= window, "ssim: images of shape ", shape_str(a.shape()),
             " are smaller than the ", window, "x", window, " window ('valid' positions only)");

  // g[i] = exp(-(i - (k-1)/2)^2 / (2 sigma^2)) / sum
  std::vector<double> g(window);
  double g_sum = 0;
  for (int64_t i = 0; i < window; ++i) {
    const double d = static_cast<double>(i) - static_cast<double>(window - 1) / 2.0;
    g[i] = std::exp(-d * d / (2 * sigma * sigma));
    g_sum += g[i];
  }
  for (double& v : g) v /= g_sum;
  Tensor g_row = Tensor::from_vector<double>(g, {1, 1, 1, window}).to(a.dtype()).to(a.device());  // (1, 1, 1, k)
  Tensor g_col = g_row.reshape({1, 1, window, 1});                                                   // (1, 1, k, 1)

  const int64_t out_h = height - window + 1, out_w = width - window + 1;
  auto blur = [&](const Tensor& x) {  // (N, C, H, W) -> (N, C, H-k+1, W-k+1)
    Tensor planes = x.reshape({n * channels, 1, height, width});       // (NC, 1, H, W)
    Tensor rows = conv2d(planes, g_row);                                // (NC, 1, H, W-k+1)
    return conv2d(rows, g_col).reshape({n, channels, out_h, out_w});   // (NC, 1, H-k+1, W-k+1)
  };
  Tensor mu_a = blur(a), mu_b = blur(b);
  Tensor mu_aa = mu_a * mu_a, mu_bb = mu_b * mu_b, mu_ab = mu_a * mu_b;
  Tensor var_a = blur(a * a) - mu_aa;   // w * a^2 - mu_a^2
  Tensor var_b = blur(b * b) - mu_bb;   // w * b^2 - mu_b^2
  Tensor cov = blur(a * b) - mu_ab;     // w * (a b) - mu_a mu_b
  Tensor numerator = (mu_ab * 2.0 + c1) * (cov * 2.0 + c2);
  Tensor denominator = (mu_aa + mu_bb + c1) * (var_a + var_b + c2);
  return mean(numerator / denominator);
}

// ---- gram -----------------------------------------------------------------------------
// Gram matrix of feature maps (Gatys, Ecker, Bethge, style transfer, 2016),
// normalised by the feature-map size:
//   psi = x.view(N, C, H W),  G = psi psi^T / (C H W)   -> (N, C, C)
Tensor gram(const Tensor& x) {
  check_floating("gram", x, "x");
  LOOM_CHECK(x.dim() == 4, "gram: x must be (N, C, H, W), got shape ", shape_str(x.shape()));
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  Tensor psi = x.reshape({n, c, hw});                    // (N, C, HW)
  Tensor g = matmul(psi, psi.transpose(1, 2));           // (N, C, C)
  return g / static_cast<double>(c * hw);
}

// ---- mmd_imq ----------------------------------------------------------------------------
// Maximum mean discrepancy with the inverse multiquadratics kernel, as in the
// WAE-MMD objective (Tolstikhin, Bousquet, Gelly, Schoelkopf, Wasserstein
// Auto-Encoders, ICLR 2018). z, p (n, d):
//   k(a, b) = c / (c + |a - b|^2),  c = 2 d sigma2 s
//   mmd = sum_s [ (sum_{i!=j} k(z_i, z_j) + sum_{i!=j} k(p_i, p_j)) / (n (n-1))
//                 - 2 sum_{i,j} k(z_i, p_j) / n^2 ]
// Squared distances are formed from differences (not |a|^2 + |b|^2 - 2ab),
// so they are exact for equal points and never negative.
Tensor mmd_imq(const Tensor& z, const Tensor& prior, double sigma2, const std::vector<double>& scales) {
  check_pair("mmd_imq", z, "z", prior, "prior");
  LOOM_CHECK(z.dim() == 2, "mmd_imq: z and prior must be (n, d), got shape ", shape_str(z.shape()));
  const int64_t n = z.size(0), d = z.size(1);
  LOOM_CHECK(n >= 2, "mmd_imq: needs at least 2 samples (the unbiased estimate divides by n (n-1)), got shape ",
             shape_str(z.shape()));
  LOOM_CHECK(!scales.empty(), "mmd_imq: scales must not be empty");

  // |a_i - b_j|^2 -> (n, n)
  auto squared_distances = [](const Tensor& a, const Tensor& b) {
    Tensor diff = a.unsqueeze(1) - b.unsqueeze(0);  // (n, n, d)
    return sum(diff * diff, {2});                   // (n, n)
  };
  Tensor d_zz = squared_distances(z, z), d_pp = squared_distances(prior, prior), d_zp = squared_distances(z, prior);

  std::vector<double> off_diagonal_values(n * n, 1.0);  // 1 - I
  for (int64_t i = 0; i < n; ++i) off_diagonal_values[i * n + i] = 0.0;
  Tensor off_diagonal = Tensor::from_vector<double>(off_diagonal_values, {n, n}).to(z.dtype()).to(z.device());

  const double pairs_within = static_cast<double>(n * (n - 1)), pairs_across = static_cast<double>(n * n);
  Tensor total;
  for (double s : scales) {
    const double c = 2.0 * static_cast<double>(d) * sigma2 * s;
    LOOM_CHECK(c > 0, "mmd_imq: sigma2 * scale must be positive, got sigma2 ", sigma2, " scale ", s);
    Tensor k_zz = c / (d_zz + c), k_pp = c / (d_pp + c), k_zp = c / (d_zp + c);  // k = c / (c + |a-b|^2)
    Tensor within = sum((k_zz + k_pp) * off_diagonal) / pairs_within;           // sum_{i!=j} / (n (n-1))
    Tensor across = sum(k_zp) * (2.0 / pairs_across);                            // 2 sum_{i,j} / n^2
    Tensor term = within - across;
    total = total.defined() ? total + term : term;
  }
  return total;
}

}  // namespace loom
