// functions.h: loom's differentiable functions: what models are written in.
// Each computes its value with the raw ops of kernels/ops.h and, when grad mode
// is on and an input requires grad, records its gradient formula on the tape.
// The formulas live in autograd/, one file per op family:
//   elementwise.cpp  unary and binary maps, where, operators
//   reduce.cpp       sum, mean, max, var, softmax, log_softmax
//   linalg.cpp       matmul, linear
//   conv.cpp         conv2d, conv_transpose2d
//   norm.cpp         batch_norm, instance_norm
//   pool.cpp         pooling and upsampling
//   shape.cpp        cat, stack, pad
//   loss.cpp         losses and statistics (bce, ssim, gram, mmd, ...)
//   views.cpp        the Tensor view methods (reshape, permute, slice, ...)
#pragma once
#include <vector>

#include "kernels/options.h"
#include "tensor/tensor.h"

namespace loom {

// ---- elementwise: unary -------------------------------------------------
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor pow(const Tensor& x, double exponent);
Tensor clamp(const Tensor& x, double lo, double hi);  // +-infinity for one side

// ---- elementwise: binary, NumPy broadcasting ----------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);  // ties split the gradient in half, as PyTorch
Tensor minimum(const Tensor& a, const Tensor& b);
// cond (uint8) ? a : b; differentiable in a and b
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// comparisons: uint8 masks, not differentiable
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);

Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double s);
Tensor operator-(const Tensor& a, double s);
Tensor operator*(const Tensor& a, double s);
Tensor operator/(const Tensor& a, double s);
Tensor operator+(double s, const Tensor& a);
Tensor operator-(double s, const Tensor& a);
Tensor operator*(double s, const Tensor& a);
Tensor operator/(double s, const Tensor& a);

// ---- reductions (dims empty = all) ---------------------------------------
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Maximum over dims; the gradient is shared equally by tied maxima (torch.amax).
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Maximum along one dim (torch.max(x, dim).values).
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);  // int64, not differentiable
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
// Sums `grad` over broadcast dims so that it has `shape` (the adjoint of expand).
Tensor sum_to(const Tensor& grad, const Shape& shape);

// ---- linear algebra --------------------------------------------------------
Tensor matmul(const Tensor& a, const Tensor& b);
// x (*, in) @ weight (out, in)^T + bias (out)
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- convolution -----------------------------------------------------------
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt);
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), int64_t stride = 1,
              int64_t padding = 0, int64_t dilation = 1);
// weight (IC, OC, KH, KW), as PyTorch's ConvTranspose2d
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt);
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), int64_t stride = 1,
                        int64_t padding = 0, int64_t output_padding = 0, int64_t dilation = 1);

// ---- normalisation ---------------------------------------------------------
// x (N, C, *). In training mode normalises with the batch statistics and, when
// running_mean/running_var are defined, updates them in place:
//   running = (1 - momentum) running + momentum batch   (unbiased batch var)
// In eval mode normalises with the running statistics. weight/bias optional.
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);
// Normalises each (n, c) plane over its spatial dims; weight/bias (C) optional.
Tensor instance_norm(const Tensor& x, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                     double eps = 1e-5);

// ---- pooling and resampling (x (N, C, H, W)) -------------------------------
Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride = -1, int64_t padding = 0);  // stride -1: = kernel
Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride = -1, int64_t padding = 0,
                  bool count_include_pad = true);
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t output_size);  // output_size 1 (global) for now
Tensor upsample_nearest(const Tensor& x, int64_t out_h, int64_t out_w);
Tensor upsample_bilinear(const Tensor& x, int64_t out_h, int64_t out_w, bool align_corners = false);

// ---- shape ops -------------------------------------------------------------
Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
Tensor pad2d(const Tensor& x, const Pad2d& pad, PadMode mode = PadMode::Zero);

// ---- losses and statistics ---------------------------------------------------
enum class Reduction { Mean, Sum, None };
// mean(max(l,0) - l t + log(1 + exp(-|l|)))
Tensor bce_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::Mean);
// mean(-(t log p + (1-t) log(1-p))), each log clamped at -100 as PyTorch
Tensor bce(const Tensor& p, const Tensor& target, Reduction reduction = Reduction::Mean);
Tensor l1_loss(const Tensor& a, const Tensor& b, Reduction reduction = Reduction::Mean);
Tensor mse_loss(const Tensor& a, const Tensor& b, Reduction reduction = Reduction::Mean);
// logits (N, C, *), target int64 (N, *): mean over N and * of -log_softmax(logits)[target]
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::Mean);
// mean_n (1 - (2 sum(sigmoid(l) t) + eps) / (sum(sigmoid(l)) + sum(t) + eps)), sums per sample
Tensor dice_loss(const Tensor& logits, const Tensor& target, double eps = 1.0);
// Mean SSIM over channels and valid positions, Gaussian window (size, sigma).
Tensor ssim(const Tensor& a, const Tensor& b, int64_t window = 11, double sigma = 1.5, double c1 = 1e-4,
            double c2 = 9e-4);
// x (N, C, H, W) -> G (N, C, C) = psi psi^T / (C H W), psi = x.view(N, C, H W)
Tensor gram(const Tensor& x);
// WAE-MMD with the inverse multiquadratics kernel k(a,b) = c / (c + |a-b|^2),
// c = 2 d sigma2 s, summed over scales s (see the golden case for the formula).
Tensor mmd_imq(const Tensor& z, const Tensor& prior, double sigma2 = 1.0,
               const std::vector<double>& scales = {0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0});

}  // namespace loom
