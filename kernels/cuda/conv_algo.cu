// conv_algo.cu: the choice among the CUDA convolution algorithms (conv_algo.h):
// names, LOOM_CONV / LOOM_CONV_PRECISION, Auto's per-pass rule, the shape
// checks (kernels/conv_geometry.h, the CPU op's messages), and the one place
// where each pass allocates its output and calls the algorithm chosen. Also the
// in-place bias + activation epilogue pass used where a GEMM cannot fuse it.
//
// Auto (not yet measured on a GPU; the rule is the tile arithmetic): the
// implicit GEMM computes 64-row tiles of C, so when a pass's GEMM has fewer
// than kDirectMaxRows rows (forward: OC; backward-input: C) most of each tile
// is wasted, and with a short reduction (<= kDirectMaxK terms) one thread per
// output element (direct) does less work. backward-weight always uses implicit
// (direct gives only OC C KH KW threads, each summing N OH OW terms).
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>

#include "kernels/cuda/conv_common.cuh"
#include "kernels/vendor/backend.h"
#include "kernels/vendor/cudnn.h"

namespace loom::cuda::conv {

namespace {

constexpr int64_t kDirectMaxRows = 8, kDirectMaxK = 512;

std::mutex g_mutex;
std::optional<Algo> g_algo;                  // set_algo
std::optional<gemm::Precision> g_precision;  // set_precision

const char* const kAlgoNames = "auto, im2col, implicit, direct, cudnn";

gemm::Precision parse_precision(const std::string& name) {
  if (name == "fp32") return gemm::Precision::FP32;
  if (name == "tf32") return gemm::Precision::TF32;
  if (name == "bf16") return gemm::Precision::BF16;
  ::loom::detail::throw_error("LOOM_CONV_PRECISION: unknown precision \"", name,
                              "\"; expected one of fp32, tf32, bf16");
}

template <class T>
__global__ void conv_epilogue_inplace_v1(T* y, int64_t OC, int64_t L, detail::Epilogue<T> epi, int64_t total) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = epi(y[i], (i / L) % OC);  // i = (n OC + oc) L + l
}

}  // namespace

const char* algo_name(Algo a) {
  switch (a) {
    case Algo::Auto: return "auto";
    case Algo::Im2colGemm: return "im2col";
    case Algo::ImplicitGemm: return "implicit";
    case Algo::Direct: return "direct";
    case Algo::Cudnn: return "cudnn";
  }
  return "?";
}

Algo parse_algo(const std::string& name) {
  for (Algo a : {Algo::Auto, Algo::Im2colGemm, Algo::ImplicitGemm, Algo::Direct, Algo::Cudnn})
    if (name == algo_name(a)) return a;
  ::loom::detail::throw_error("conv algorithm: unknown name \"", name, "\"; expected one of ", kAlgoNames);
}

void set_algo(Algo a) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_algo = a;
}

Algo current_algo() {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_algo) return *g_algo;
  }
  const char* env = std::getenv("LOOM_CONV");
  if (env == nullptr || *env == '\0') return Algo::Auto;
  try {
    return parse_algo(env);
  } catch (const Error& e) {
    ::loom::detail::throw_error("LOOM_CONV=", env, ": ", e.what());
  }
}

void set_precision(gemm::Precision p) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_precision = p;
}

gemm::Precision current_precision() {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_precision) return *g_precision;
  }
  const char* env = std::getenv("LOOM_CONV_PRECISION");
  if (env == nullptr || *env == '\0') return gemm::Precision::FP32;
  return parse_precision(env);
}

namespace detail {

void require_fp32(gemm::Precision p, const char* algorithm, const char* op) {
  LOOM_CHECK(p == gemm::Precision::FP32, op, ": precision ", gemm::precision_name(p),
             " is not supported by this algorithm (", algorithm,
             " runs fp32 only); use the im2col algorithm (LOOM_CONV=im2col) for tf32/bf16");
}

void apply_epilogue_inplace(Tensor& y, const Tensor& bias, Activation act, double slope) {
  const int64_t total = y.numel();
  if (total == 0 || (!bias.defined() && act == Activation::None)) return;
  const int64_t OC = y.shape()[1], L = y.shape()[2] * y.shape()[3];
  LOOM_DISPATCH_FLOATING(y.dtype(), "conv epilogue", [&] {
    Epilogue<scalar_t> epi;
    epi.bias = bias.defined() ? bias.data<scalar_t>() : nullptr;
    epi.act = act, epi.slope = scalar_t(slope);
    conv_epilogue_inplace_v1<scalar_t><<<blocks_for(total), kThreads, 0, stream_of(y)>>>(
        y.data<scalar_t>(), OC, L, epi, total);
    LOOM_CUDA_CHECK_LAUNCH("conv_epilogue_inplace_v1");
  });
}

Algo resolve_auto(const ConvShape& s, const char* pass, gemm::Precision precision) {
  // Only im2col runs bf16, and direct runs fp32 only: the opt-in precisions pick by that first.
  if (precision == gemm::Precision::BF16) return Algo::Im2colGemm;
  if (precision != gemm::Precision::FP32) return Algo::ImplicitGemm;
  const std::string p = pass;
  if (p == "forward" && s.OC < kDirectMaxRows && s.R() <= kDirectMaxK) return Algo::Direct;
  if (p == "backward_input" && s.C < kDirectMaxRows && s.OC * s.KH * s.KW <= kDirectMaxK) return Algo::Direct;
  return Algo::ImplicitGemm;
}

namespace {

Algo resolve(Algo algo, const ConvShape& s, const char* pass, gemm::Precision precision) {
  if (algo == Algo::Auto && vendor::use_cudnn()) return Algo::Cudnn;
  return algo == Algo::Auto ? resolve_auto(s, pass, precision) : algo;
}

#ifndef LOOM_WITH_CUDNN
[[noreturn]] void no_cudnn(const char* op) {
  ::loom::detail::throw_error(op, ": the cudnn conv algorithm needs a build with cuDNN (LOOM_WITH_CUDNN); "
                          "loom was built without it");
}
#endif

}  // namespace

Tensor run_forward(const ConvShape& s, const Tensor& x, const Tensor& w, const Tensor& bias, Algo algo,
                   gemm::Precision precision, Activation act, double slope) {
  set_device_of(x);
  Tensor y = Tensor::empty({s.N, s.OC, s.OH, s.OW}, x.dtype(), x.device());  // (N, OC, OH, OW)
  switch (resolve(algo, s, "forward", precision)) {
    case Algo::Direct: direct_forward(s, x, w, bias, y, precision, act, slope); break;
    case Algo::Im2colGemm: im2col_forward(s, x, w, bias, y, precision, act, slope); break;
    case Algo::Cudnn:
#ifdef LOOM_WITH_CUDNN
      vendor::cudnn::conv_forward(s, x, w, y, precision);
      apply_epilogue_inplace(y, bias, act, slope);
      break;
#else
      no_cudnn("conv2d");
#endif
    default: implicit_forward(s, x, w, bias, y, precision, act, slope); break;
  }
  return y;
}

Tensor run_backward_input(const ConvShape& s, const Tensor& dy, const Tensor& w, Algo algo,
                          gemm::Precision precision) {
  set_device_of(dy);
  Tensor dx = Tensor::empty({s.N, s.C, s.H, s.W}, dy.dtype(), dy.device());  // (N, C, H, W)
  switch (resolve(algo, s, "backward_input", precision)) {
    case Algo::Direct: direct_backward_input(s, dy, w, dx, precision); break;
    case Algo::Im2colGemm: im2col_backward_input(s, dy, w, dx, precision); break;
    case Algo::Cudnn:
#ifdef LOOM_WITH_CUDNN
      vendor::cudnn::conv_backward_data(s, dy, w, dx, precision);
      break;
#else
      no_cudnn("conv2d_backward_input");
#endif
    default: implicit_backward_input(s, dy, w, dx, precision); break;
  }
  return dx;
}

Tensor run_backward_weight(const ConvShape& s, const Tensor& dy, const Tensor& x, Algo algo,
                           gemm::Precision precision) {
  set_device_of(x);
  Tensor dw = Tensor::empty({s.OC, s.C, s.KH, s.KW}, x.dtype(), x.device());  // (OC, C, KH, KW)
  switch (resolve(algo, s, "backward_weight", precision)) {
    case Algo::Direct: direct_backward_weight(s, dy, x, dw, precision); break;
    case Algo::Im2colGemm: im2col_backward_weight(s, dy, x, dw, precision); break;
    case Algo::Cudnn:
#ifdef LOOM_WITH_CUDNN
      vendor::cudnn::conv_backward_filter(s, dy, x, dw, precision);
      break;
#else
      no_cudnn("conv2d_backward_weight");
#endif
    default: implicit_backward_weight(s, dy, x, dw, precision); break;
  }
  return dw;
}

}  // namespace detail

// ---- the public passes: checks as the CPU op, then run_* -------------------------------------------

Tensor forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt, Algo algo,
               gemm::Precision precision, Activation act, double slope) {
  const char* op = "conv2d";
  check_float_cuda(x, op, "input");
  check_float_cuda(weight, op, "weight");
  check_same_dtype_device(x, weight, op);
  conv_geometry::check_options(opt, op, false);
  const auto g = conv_geometry::conv2d(op, x.shape(), weight.shape(), opt);
  const int64_t N = x.shape()[0], OC = weight.shape()[0];
  if (bias.defined()) {
    check_float_cuda(bias, op, "bias");
    check_same_dtype_device(x, bias, op);
    conv_geometry::check_bias_shape(bias.shape(), OC, op);
  }
  return detail::run_forward(detail::make_shape(g, N, OC), dense(x), dense(weight),
                             bias.defined() ? dense(bias) : bias, algo, precision, act, slope);
}

Tensor backward_input(const Tensor& grad_out, const Tensor& weight, const Shape& input_shape,
                      const Conv2dOptions& opt, Algo algo, gemm::Precision precision) {
  const char* op = "conv2d_backward_input";
  check_float_cuda(grad_out, op, "grad_out");
  check_float_cuda(weight, op, "weight");
  check_same_dtype_device(grad_out, weight, op);
  conv_geometry::check_options(opt, op, false);
  const auto g = conv_geometry::conv2d(op, input_shape, weight.shape(), opt);
  const int64_t N = input_shape[0], OC = weight.shape()[0];
  check_shape(grad_out, {N, OC, g.OH, g.OW}, op, "grad_out");
  return detail::run_backward_input(detail::make_shape(g, N, OC), dense(grad_out), dense(weight), algo, precision);
}

Tensor backward_weight(const Tensor& grad_out, const Tensor& x, const Shape& weight_shape, const Conv2dOptions& opt,
                       Algo algo, gemm::Precision precision) {
  const char* op = "conv2d_backward_weight";
  check_float_cuda(grad_out, op, "grad_out");
  check_float_cuda(x, op, "input");
  check_same_dtype_device(grad_out, x, op);
  conv_geometry::check_options(opt, op, false);
  const auto g = conv_geometry::conv2d(op, x.shape(), weight_shape, opt);
  const int64_t N = x.shape()[0], OC = weight_shape[0];
  check_shape(grad_out, {N, OC, g.OH, g.OW}, op, "grad_out");
  return detail::run_backward_weight(detail::make_shape(g, N, OC), dense(grad_out), dense(x), algo, precision);
}

}  // namespace loom::cuda::conv
