// op_list.h: THE list of raw (non-differentiable) ops, written once. Each
// LOOM_OP(return_type, name, (parameters), (argument names)) line is expanded
// into a declaration in loom::ops (kernels/ops.h, the public entry that
// dispatches on the device), in loom::cpu (kernels/cpu/cpu.h, implemented in
// kernels/cpu/*.cpp) and, in CUDA builds, in loom::cuda.
//
// Conventions: results are new dense tensors; inputs may be any strided view;
// float32 and float64 unless noted; broadcasting follows NumPy.
// (No include guard: it is expanded several times with different LOOM_OP.)

// ---- elementwise unary (kernels/cpu/unary.cpp) ----
LOOM_OP(Tensor, neg, (const Tensor& x), (x))
LOOM_OP(Tensor, exp, (const Tensor& x), (x))
LOOM_OP(Tensor, log, (const Tensor& x), (x))
LOOM_OP(Tensor, sqrt, (const Tensor& x), (x))
LOOM_OP(Tensor, tanh, (const Tensor& x), (x))
LOOM_OP(Tensor, sigmoid, (const Tensor& x), (x))
LOOM_OP(Tensor, relu, (const Tensor& x), (x))
LOOM_OP(Tensor, abs, (const Tensor& x), (x))
LOOM_OP(Tensor, sign, (const Tensor& x), (x))
LOOM_OP(Tensor, leaky_relu, (const Tensor& x, double slope), (x, slope))
LOOM_OP(Tensor, pow, (const Tensor& x, double exponent), (x, exponent))
LOOM_OP(Tensor, clamp, (const Tensor& x, double lo, double hi), (x, lo, hi))
// backward rules that are one fused pass
LOOM_OP(Tensor, relu_backward, (const Tensor& grad, const Tensor& x), (grad, x))  // grad * (x > 0)
LOOM_OP(Tensor, leaky_relu_backward, (const Tensor& grad, const Tensor& x, double slope), (grad, x, slope))
LOOM_OP(Tensor, clamp_backward, (const Tensor& grad, const Tensor& x, double lo, double hi), (grad, x, lo, hi))  // grad * (lo <= x <= hi)
LOOM_OP(Tensor, sigmoid_backward, (const Tensor& grad, const Tensor& y), (grad, y))  // grad * y (1 - y)
LOOM_OP(Tensor, tanh_backward, (const Tensor& grad, const Tensor& y), (grad, y))     // grad * (1 - y^2)
LOOM_OP(Tensor, pow_backward, (const Tensor& grad, const Tensor& x, double exponent), (grad, x, exponent))  // grad * e x^(e-1)

// ---- elementwise binary with broadcasting (kernels/cpu/binary.cpp) ----
LOOM_OP(Tensor, add, (const Tensor& a, const Tensor& b), (a, b))
LOOM_OP(Tensor, sub, (const Tensor& a, const Tensor& b), (a, b))
LOOM_OP(Tensor, mul, (const Tensor& a, const Tensor& b), (a, b))
LOOM_OP(Tensor, div, (const Tensor& a, const Tensor& b), (a, b))
LOOM_OP(Tensor, maximum, (const Tensor& a, const Tensor& b), (a, b))
LOOM_OP(Tensor, minimum, (const Tensor& a, const Tensor& b), (a, b))
// comparisons: uint8 results (1 true, 0 false); any dtype, both the same
LOOM_OP(Tensor, eq, (const Tensor& a, const Tensor& b), (a, b))
LOOM_OP(Tensor, ne, (const Tensor& a, const Tensor& b), (a, b))
LOOM_OP(Tensor, lt, (const Tensor& a, const Tensor& b), (a, b))
LOOM_OP(Tensor, le, (const Tensor& a, const Tensor& b), (a, b))
LOOM_OP(Tensor, gt, (const Tensor& a, const Tensor& b), (a, b))
LOOM_OP(Tensor, ge, (const Tensor& a, const Tensor& b), (a, b))
// scalar variants: x + s, x * s, s - x, s / x
LOOM_OP(Tensor, add_scalar, (const Tensor& x, double s), (x, s))
LOOM_OP(Tensor, mul_scalar, (const Tensor& x, double s), (x, s))
LOOM_OP(Tensor, rsub_scalar, (const Tensor& x, double s), (x, s))
LOOM_OP(Tensor, rdiv_scalar, (const Tensor& x, double s), (x, s))
// cond ? a : b, cond uint8, all three broadcast together
LOOM_OP(Tensor, where, (const Tensor& cond, const Tensor& a, const Tensor& b), (cond, a, b))

// ---- reductions (kernels/cpu/reduce.cpp); dims empty = all dims ----
// Fixed summation order (blocks of fixed size, combined in order), accumulated
// in double: the same bits for any thread count.
LOOM_OP(Tensor, sum, (const Tensor& x, const std::vector<int64_t>& dims, bool keepdim), (x, dims, keepdim))
LOOM_OP(Tensor, mean, (const Tensor& x, const std::vector<int64_t>& dims, bool keepdim), (x, dims, keepdim))
LOOM_OP(Tensor, amax, (const Tensor& x, const std::vector<int64_t>& dims, bool keepdim), (x, dims, keepdim))
LOOM_OP(Tensor, amin, (const Tensor& x, const std::vector<int64_t>& dims, bool keepdim), (x, dims, keepdim))
// variance with `correction` (1: unbiased, 0: biased)
LOOM_OP(Tensor, var, (const Tensor& x, const std::vector<int64_t>& dims, int64_t correction, bool keepdim), (x, dims, correction, keepdim))
// index of the first maximum along dim (int64)
LOOM_OP(Tensor, argmax, (const Tensor& x, int64_t dim, bool keepdim), (x, dim, keepdim))
LOOM_OP(Tensor, softmax, (const Tensor& x, int64_t dim), (x, dim))
LOOM_OP(Tensor, log_softmax, (const Tensor& x, int64_t dim), (x, dim))
LOOM_OP(Tensor, softmax_backward, (const Tensor& grad, const Tensor& y, int64_t dim), (grad, y, dim))      // y (g - sum(g y))
LOOM_OP(Tensor, log_softmax_backward, (const Tensor& grad, const Tensor& y, int64_t dim), (grad, y, dim))  // g - exp(y) sum(g)

// ---- matrix products (kernels/cpu/matmul.cpp over kernels/cpu/gemm.h) ----
// (M,K)@(K,N); (B,M,K)@(B,K,N); (B,M,K)@(K,N). Transposed views are read in
// place, not copied.
LOOM_OP(Tensor, matmul, (const Tensor& a, const Tensor& b), (a, b))

// ---- convolution (kernels/cpu/conv.cpp) ----
// x (N,C,H,W), weight (OC,C,KH,KW), bias (OC) or undefined -> (N,OC,OH,OW)
LOOM_OP(Tensor, conv2d, (const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt), (x, weight, bias, opt))
// d loss / d x, given d loss / d output
LOOM_OP(Tensor, conv2d_backward_input, (const Tensor& grad_out, const Tensor& weight, const Shape& input_shape, const Conv2dOptions& opt), (grad_out, weight, input_shape, opt))
// d loss / d weight
LOOM_OP(Tensor, conv2d_backward_weight, (const Tensor& grad_out, const Tensor& x, const Shape& weight_shape, const Conv2dOptions& opt), (grad_out, x, weight_shape, opt))
// x (N,IC,H,W), weight (IC,OC,KH,KW) -> (N,OC,OH,OW) with
// OH = (H-1) stride - 2 pad + dil (KH-1) + output_padding + 1: conv2d's backward-input.
LOOM_OP(Tensor, conv_transpose2d, (const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt), (x, weight, bias, opt))

// ---- normalisation (kernels/cpu/norm.cpp); x (N,C,*) normalised per channel over N and * ----
LOOM_OP(BatchNormResult, batch_norm_train, (const Tensor& x, const Tensor& weight, const Tensor& bias, double eps), (x, weight, bias, eps))
LOOM_OP(Tensor, batch_norm_eval, (const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean, const Tensor& running_var, double eps), (x, weight, bias, running_mean, running_var, eps))
LOOM_OP(BatchNormGrads, batch_norm_backward_train, (const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& invstd), (grad_out, x, weight, mean, invstd))

// ---- pooling and resampling (kernels/cpu/pool.cpp, kernels/cpu/resample.cpp); x (N,C,H,W) ----
LOOM_OP(MaxPoolResult, max_pool2d, (const Tensor& x, const Pool2dOptions& opt), (x, opt))
LOOM_OP(Tensor, max_pool2d_backward, (const Tensor& grad_out, const Tensor& indices, const Shape& input_shape), (grad_out, indices, input_shape))
LOOM_OP(Tensor, avg_pool2d, (const Tensor& x, const Pool2dOptions& opt), (x, opt))
LOOM_OP(Tensor, avg_pool2d_backward, (const Tensor& grad_out, const Shape& input_shape, const Pool2dOptions& opt), (grad_out, input_shape, opt))
LOOM_OP(Tensor, upsample_nearest2d, (const Tensor& x, int64_t out_h, int64_t out_w), (x, out_h, out_w))
LOOM_OP(Tensor, upsample_nearest2d_backward, (const Tensor& grad_out, const Shape& input_shape), (grad_out, input_shape))
LOOM_OP(Tensor, upsample_bilinear2d, (const Tensor& x, int64_t out_h, int64_t out_w, bool align_corners), (x, out_h, out_w, align_corners))
LOOM_OP(Tensor, upsample_bilinear2d_backward, (const Tensor& grad_out, const Shape& input_shape, bool align_corners), (grad_out, input_shape, align_corners))

// ---- shape ops (kernels/cpu/shape_ops.cpp) ----
LOOM_OP(Tensor, cat, (const std::vector<Tensor>& xs, int64_t dim), (xs, dim))
LOOM_OP(Tensor, pad2d, (const Tensor& x, const Pad2d& pad, PadMode mode), (x, pad, mode))
LOOM_OP(Tensor, pad2d_backward, (const Tensor& grad_out, const Shape& input_shape, const Pad2d& pad, PadMode mode), (grad_out, input_shape, pad, mode))
// int64 labels (any shape) -> one-hot along a new last dim of size num_classes
LOOM_OP(Tensor, one_hot, (const Tensor& labels, int64_t num_classes, DType dtype), (labels, num_classes, dtype))

// ---- fused optimizer updates (kernels/cpu/optim.cpp), in place ----
// One pass over param, grad and the moments of every parameter in the lists
// (all the same length; tensor i of each list has parameter i's shape). The
// returned value is nothing: params and moments are updated in place.
// Adam: steps[i] is parameter i's step count t including this step (>= 1);
// max_exp_avg_sqs is empty unless opt.amsgrad.
LOOM_OP(void, adam_update, (const std::vector<Tensor>& params, const std::vector<Tensor>& grads, const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs, const std::vector<Tensor>& max_exp_avg_sqs, const std::vector<int64_t>& steps, const AdamUpdateOptions& opt), (params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, opt))
// SGD: momentum_buffers is empty when opt.momentum == 0; first_step[i] != 0
// sets buffer i to the (decayed) gradient instead of the momentum update.
LOOM_OP(void, sgd_update, (const std::vector<Tensor>& params, const std::vector<Tensor>& grads, const std::vector<Tensor>& momentum_buffers, const std::vector<uint8_t>& first_step, const SgdUpdateOptions& opt), (params, grads, momentum_buffers, first_step, opt))
