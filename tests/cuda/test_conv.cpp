// test_conv.cpp: the CUDA convolutions (kernels/cuda/conv*.cu, conv_algo.h)
// against the float64 CPU reference, every algorithm (direct, im2col, implicit,
// auto, and cudnn when built) x forward (bias on/off, every fused activation) /
// backward-input / backward-weight / conv_transpose2d, on odd shapes (N 1..3,
// C 1/3/5, OC 1/7/16, non-square H, W from 1 to 13, kernels 1/3/4, stride 1/2,
// padding 0/1/2, dilation 1/2, output_padding), float32 and float64, with every
// CUDA allocation poisoned (NaN) so unwritten outputs fail. Error measure:
// ||out - ref|| / ||ref|| (a NaN anywhere fails), tolerances per precision:
// fp32 1e-5, tf32 5e-4, bf16 1e-2, float64 1e-12. Also the conv cases of
// ../shared/golden (PyTorch) on CUDA with every algorithm, through autograd.
// Without a GPU those SKIP; the algorithm-name and LOOM_CONV parsing tests run anywhere.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "kernels/ops.h"
#include "tensor/safetensors.h"
#include "tests/cuda/cuda_test_util.h"
#ifdef LOOM_WITH_CUDA
#include "kernels/cuda/conv_algo.h"
#include "kernels/vendor/backend.h"
#endif

using namespace loom;
using cuda_test::gpu;
using cuda_test::PoisonGuard;
using cuda_test::to_cpu;
using cuda_test::to_gpu;

#ifndef LOOM_WITH_CUDA
TEST(CudaConv, NeedsCuda) { GTEST_SKIP() << "loom was built without CUDA (LOOM_CUDA=OFF or no nvcc)"; }
#else

namespace conv = loom::cuda::conv;
using conv::Activation;
using conv::Algo;
using Precision = loom::cuda::gemm::Precision;

namespace {

// Sets an environment variable for one scope, restoring the old value after.
struct EnvGuard {
  std::string name;
  std::string old;
  bool had = false;
  EnvGuard(const std::string& n, const std::string& value) : name(n) {
    if (const char* v = std::getenv(n.c_str())) had = true, old = v;
    setenv(n.c_str(), value.c_str(), 1);
  }
  ~EnvGuard() {
    if (had)
      setenv(name.c_str(), old.c_str(), 1);
    else
      unsetenv(name.c_str());
  }
};

std::vector<Algo> algorithms() {
  std::vector<Algo> a{Algo::Direct, Algo::Im2colGemm, Algo::ImplicitGemm, Algo::Auto};
  if (vendor::cudnn_built()) a.push_back(Algo::Cudnn);
  return a;
}

// ||got - ref|| / ||ref|| <= tol, got on CUDA, ref float64 on the CPU; NaN fails.
::testing::AssertionResult rel_close(const Tensor& got, const Tensor& ref, double tol) {
  if (!got.defined()) return ::testing::AssertionFailure() << "undefined result";
  if (!got.device().is_cuda()) return ::testing::AssertionFailure() << "the result is not on CUDA";
  if (got.shape() != ref.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(got.shape()) << " vs reference "
                                         << shape_str(ref.shape());
  const std::vector<double> g = to_cpu(got).to_vector<double>(), r = ref.to_vector<double>();
  double diff = 0, norm = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    if (!std::isfinite(g[i])) return ::testing::AssertionFailure() << "non-finite value at flat index " << i;
    diff += (g[i] - r[i]) * (g[i] - r[i]);
    norm += r[i] * r[i];
  }
  const double rel = norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
  if (rel <= tol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "relative error " << rel << " > " << tol;
}

double tol_for(DType dt, Precision p) {
  if (dt == DType::Float64) return 1e-12;
  switch (p) {
    case Precision::TF32: return 5e-4;
    case Precision::BF16: return 1e-2;
    default: return 1e-5;
  }
}

// The activation applied to a float64 CPU tensor, elementwise (the reference epilogue).
Tensor activate_reference(const Tensor& y, Activation act, double slope) {
  std::vector<double> v = y.to_vector<double>();
  for (double& e : v) {
    switch (act) {
      case Activation::ReLU: e = e > 0 ? e : 0; break;
      case Activation::LeakyReLU: e = e > 0 ? e : slope * e; break;
      case Activation::Tanh: e = std::tanh(e); break;
      case Activation::Sigmoid: e = 1 / (1 + std::exp(-e)); break;
      default: break;
    }
  }
  return Tensor::from_vector<double>(v, y.shape());
}

struct ConvCase {
  int64_t N, C, OC, H, W, KH, KW;
  Pair stride, padding, dilation, output_padding;  // output_padding: conv_transpose2d only
  std::string name() const {
    std::ostringstream s;
    s << "N" << N << " C" << C << " OC" << OC << " " << H << "x" << W << " k" << KH << "x" << KW << " s"
      << stride[0] << "," << stride[1] << " p" << padding[0] << "," << padding[1] << " d" << dilation[0] << ","
      << dilation[1] << " op" << output_padding[0] << "," << output_padding[1];
    return s.str();
  }
  Conv2dOptions options(bool transposed) const {
    Conv2dOptions o;
    o.stride = stride, o.padding = padding, o.dilation = dilation;
    if (transposed) o.output_padding = output_padding;
    return o;
  }
};

// Odd shapes; each is a valid conv2d and a valid conv_transpose2d.
std::vector<ConvCase> cases() {
  return {
      {1, 1, 1, 1, 1, 1, 1, {1, 1}, {0, 0}, {1, 1}, {0, 0}},     // the smallest
      {2, 3, 7, 5, 7, 3, 3, {1, 1}, {1, 1}, {1, 1}, {0, 0}},     // same padding, non-square
      {3, 5, 16, 13, 9, 4, 4, {2, 2}, {1, 1}, {1, 1}, {1, 1}},   // DCGAN-style k4 s2 p1
      {1, 3, 16, 11, 12, 3, 3, {2, 1}, {2, 0}, {2, 1}, {1, 0}},  // mixed stride/pad/dilation
      {2, 1, 7, 8, 13, 1, 1, {1, 1}, {0, 0}, {1, 1}, {0, 0}},    // 1x1 kernel
      {2, 5, 1, 9, 6, 3, 4, {1, 2}, {0, 2}, {2, 1}, {1, 1}},     // OC 1, dilation 2, output_padding < dilation
      {3, 3, 7, 4, 4, 4, 4, {1, 1}, {0, 0}, {1, 1}, {0, 0}},     // kernel covers the image (fully connected)
      {1, 16, 16, 7, 5, 3, 3, {2, 2}, {1, 2}, {1, 1}, {1, 0}},   // wider channels
      {2, 7, 3, 13, 13, 4, 3, {2, 2}, {2, 1}, {2, 2}, {1, 1}},   // dilation 2 both dims
      {1, 2, 5, 1, 9, 1, 3, {1, 2}, {0, 1}, {1, 1}, {0, 1}},     // H = 1
  };
}

struct ConvData {
  Tensor x, w, bias, dy;  // CPU float of dtype
};

ConvData make_data(const ConvCase& c, DType dt, Generator& gen) {
  ConvData d;
  d.x = cuda_test::uniform({c.N, c.C, c.H, c.W}, gen, -1, 1, dt);
  d.w = cuda_test::uniform({c.OC, c.C, c.KH, c.KW}, gen, -1, 1, dt);
  d.bias = cuda_test::uniform({c.OC}, gen, -1, 1, dt);
  const Tensor y = ops::conv2d(d.x, d.w, Tensor(), c.options(false));
  d.dy = cuda_test::uniform(y.shape(), gen, -1, 1, dt);
  return d;
}

Tensor f64(const Tensor& t) { return t.defined() ? t.to(DType::Float64) : t; }

const Activation kActivations[] = {Activation::None, Activation::ReLU, Activation::LeakyReLU, Activation::Tanh,
                                   Activation::Sigmoid};

}  // namespace

// ---- tests that run anywhere -------------------------------------------------------------------

TEST(CudaConvAlgo, NamesRoundTrip) {
  for (Algo a : {Algo::Auto, Algo::Im2colGemm, Algo::ImplicitGemm, Algo::Direct, Algo::Cudnn})
    EXPECT_EQ(conv::parse_algo(conv::algo_name(a)), a) << conv::algo_name(a);
  EXPECT_STREQ(conv::algo_name(Algo::Im2colGemm), "im2col");
  EXPECT_STREQ(conv::algo_name(Algo::ImplicitGemm), "implicit");
}

TEST(CudaConvAlgo, UnknownNameListsTheNames) {
  try {
    conv::parse_algo("winograd");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("winograd"), std::string::npos) << m;
    for (const char* n : {"auto", "im2col", "implicit", "direct", "cudnn"})
      EXPECT_NE(m.find(n), std::string::npos) << m;
  }
  EXPECT_THROW(conv::parse_algo(""), Error);
  EXPECT_THROW(conv::parse_algo("Implicit"), Error);  // names are exact
}

// current_algo() reads LOOM_CONV at each call while set_algo() was never called
// (this file never calls it, so the environment decides).
TEST(CudaConvAlgo, EnvironmentSelectsTheAlgorithm) {
  {
    EnvGuard env("LOOM_CONV", "");
    EXPECT_EQ(conv::current_algo(), Algo::Auto);
  }
  for (const char* n : {"direct", "im2col", "implicit", "auto", "cudnn"}) {
    EnvGuard env("LOOM_CONV", n);
    EXPECT_EQ(conv::current_algo(), conv::parse_algo(n)) << n;
  }
  EnvGuard env("LOOM_CONV", "fastest");
  try {
    conv::current_algo();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("LOOM_CONV=fastest"), std::string::npos) << m;
    EXPECT_NE(m.find("implicit"), std::string::npos) << m;
  }
}

TEST(CudaConvAlgo, EnvironmentSelectsThePrecision) {
  {
    EnvGuard env("LOOM_CONV_PRECISION", "");
    EXPECT_EQ(conv::current_precision(), Precision::FP32);
  }
  const std::pair<const char*, Precision> names[] = {
      {"fp32", Precision::FP32}, {"tf32", Precision::TF32}, {"bf16", Precision::BF16}};
  for (const auto& [n, p] : names) {
    EnvGuard env("LOOM_CONV_PRECISION", n);
    EXPECT_EQ(conv::current_precision(), p) << n;
  }
  EnvGuard env("LOOM_CONV_PRECISION", "fp16");
  EXPECT_THROW(conv::current_precision(), Error);
}

// The passes refuse CPU tensors before touching a GPU.
TEST(CudaConvAlgo, CpuTensorsAreRefused) {
  const Tensor x = Tensor::zeros({1, 1, 3, 3}, DType::Float32), w = Tensor::zeros({1, 1, 2, 2}, DType::Float32);
  EXPECT_THROW(conv::forward(x, w, Tensor(), Conv2dOptions{}, Algo::ImplicitGemm), Error);
  EXPECT_THROW(conv::backward_input(x, w, {1, 1, 4, 4}, Conv2dOptions{}, Algo::Direct), Error);
  EXPECT_THROW(conv::backward_weight(x, x, {1, 1, 2, 2}, Conv2dOptions{}, Algo::Im2colGemm), Error);
}

// ---- GPU tests ---------------------------------------------------------------------------------

// Forward of every algorithm, bias on/off, every activation, float32 and float64.
TEST(CudaConv, ForwardEveryAlgorithm) {
  REQUIRE_GPU();
  Generator gen(101);
  for (DType dt : {DType::Float32, DType::Float64})
    for (const ConvCase& c : cases()) {
      const ConvData d = make_data(c, dt, gen);
      const Conv2dOptions opt = c.options(false);
      const Tensor plain = ops::conv2d(f64(d.x), f64(d.w), Tensor(), opt);  // float64 reference
      const Tensor biased = ops::conv2d(f64(d.x), f64(d.w), f64(d.bias), opt);
      const Tensor xg = to_gpu(d.x), wg = to_gpu(d.w), bg = to_gpu(d.bias);
      for (Algo a : algorithms())
        for (int ai = 0; ai < 5; ++ai)
          for (bool with_bias : {false, true}) {
            const Activation act = kActivations[ai];
            const Tensor ref = activate_reference(with_bias ? biased : plain, act, 0.2);
            Tensor got;
            {
              PoisonGuard poison;
              got = conv::forward(xg, wg, with_bias ? bg : Tensor(), opt, a, Precision::FP32, act, 0.2);
            }
            EXPECT_EQ(got.dtype(), dt);
            EXPECT_TRUE(rel_close(got, ref, tol_for(dt, Precision::FP32)))
                << conv::algo_name(a) << " " << dtype_name(dt) << " " << c.name() << " act " << ai << " bias "
                << with_bias;
          }
    }
}

TEST(CudaConv, BackwardInputAndWeightEveryAlgorithm) {
  REQUIRE_GPU();
  Generator gen(202);
  for (DType dt : {DType::Float32, DType::Float64})
    for (const ConvCase& c : cases()) {
      const ConvData d = make_data(c, dt, gen);
      const Conv2dOptions opt = c.options(false);
      const Tensor ref_dx = ops::conv2d_backward_input(f64(d.dy), f64(d.w), d.x.shape(), opt);
      const Tensor ref_dw = ops::conv2d_backward_weight(f64(d.dy), f64(d.x), d.w.shape(), opt);
      const Tensor xg = to_gpu(d.x), wg = to_gpu(d.w), dyg = to_gpu(d.dy);
      for (Algo a : algorithms()) {
        Tensor dx, dw;
        {
          PoisonGuard poison;
          dx = conv::backward_input(dyg, wg, d.x.shape(), opt, a);
          dw = conv::backward_weight(dyg, xg, d.w.shape(), opt, a);
        }
        const double tol = tol_for(dt, Precision::FP32);
        EXPECT_TRUE(rel_close(dx, ref_dx, tol)) << "dx " << conv::algo_name(a) << " " << dtype_name(dt) << " "
                                                << c.name();
        EXPECT_TRUE(rel_close(dw, ref_dw, tol)) << "dw " << conv::algo_name(a) << " " << dtype_name(dt) << " "
                                                << c.name();
      }
    }
}

// The four ops through ops:: (dispatch on the device), algorithm chosen by LOOM_CONV;
// conv_transpose2d with output_padding and bias; non-contiguous inputs.
TEST(CudaConv, OpsAndTransposedEveryAlgorithm) {
  REQUIRE_GPU();
  Generator gen(303);
  for (Algo a : algorithms()) {
    EnvGuard env("LOOM_CONV", conv::algo_name(a));
    for (DType dt : {DType::Float32, DType::Float64})
      for (const ConvCase& c : cases()) {
        const ConvData d = make_data(c, dt, gen);
        const double tol = tol_for(dt, Precision::FP32);
        const std::string what = std::string(conv::algo_name(a)) + " " + dtype_name(dt) + " " + c.name();
        // conv2d on a non-contiguous x: a dense (N, C, W, H) CUDA tensor viewed as (N, C, H, W)
        const Tensor x_t = d.x.transpose(2, 3).contiguous().transpose(2, 3);
        const Conv2dOptions opt = c.options(false);
        // conv_transpose2d: x2 (N, OC, OH, OW) with weight (OC, C, KH, KW): output (N, C, H', W')
        const Conv2dOptions topt = c.options(true);
        const Tensor tx = d.dy;                       // (N, OC, OH, OW)
        const Tensor tbias = cuda_test::uniform({c.C}, gen, -1, 1, dt);
        Tensor ref_y = ops::conv2d(f64(x_t), f64(d.w), f64(d.bias), opt);
        Tensor ref_t = ops::conv_transpose2d(f64(tx), f64(d.w), f64(tbias), topt);
        Tensor ref_dx = ops::conv2d_backward_input(f64(d.dy), f64(d.w), d.x.shape(), opt);
        Tensor ref_dw = ops::conv2d_backward_weight(f64(d.dy), f64(d.x), d.w.shape(), opt);
        Tensor y, t, dx, dw;
        {
          const Tensor xg = to_gpu(d.x.transpose(2, 3).contiguous()).transpose(2, 3);  // non-contiguous
          const Tensor wg = to_gpu(d.w), bg = to_gpu(d.bias), dyg = to_gpu(d.dy), tbg = to_gpu(tbias);
          const Tensor xdg = to_gpu(d.x);
          PoisonGuard poison;
          y = ops::conv2d(xg, wg, bg, opt);
          t = ops::conv_transpose2d(dyg, wg, tbg, topt);
          dx = ops::conv2d_backward_input(dyg, wg, d.x.shape(), opt);
          dw = ops::conv2d_backward_weight(dyg, xdg, d.w.shape(), opt);
        }
        EXPECT_TRUE(rel_close(y, ref_y, tol)) << "conv2d " << what;
        EXPECT_TRUE(rel_close(t, ref_t, tol)) << "conv_transpose2d " << what;
        EXPECT_TRUE(rel_close(dx, ref_dx, tol)) << "conv2d_backward_input " << what;
        EXPECT_TRUE(rel_close(dw, ref_dw, tol)) << "conv2d_backward_weight " << what;
      }
  }
}

// Errors on CUDA tensors: the same checks as the CPU op.
TEST(CudaConv, ShapeErrorsAsOnTheCpu) {
  REQUIRE_GPU();
  const Tensor x = Tensor::zeros({1, 3, 5, 5}, DType::Float32, gpu());
  const Tensor w4 = Tensor::zeros({2, 4, 3, 3}, DType::Float32, gpu());
  try {
    ops::conv2d(x, w4, Tensor(), Conv2dOptions{});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input has 3 channels, weight expects 4"), std::string::npos) << e.what();
  }
  Conv2dOptions op;
  op.output_padding = {1, 1};
  EXPECT_THROW(ops::conv2d(x, Tensor::zeros({2, 3, 3, 3}, DType::Float32, gpu()), Tensor(), op), Error);
  const Tensor wbig = Tensor::zeros({2, 3, 7, 7}, DType::Float32, gpu());
  EXPECT_THROW(ops::conv2d(x, wbig, Tensor(), Conv2dOptions{}), Error);  // kernel larger than the input
  EXPECT_THROW(ops::conv2d(x, Tensor::zeros({2, 3, 3, 3}, DType::Float32, gpu()),
                           Tensor::zeros({3}, DType::Float32, gpu()), Conv2dOptions{}),
               Error);  // bias of the wrong length
}

// TF32 and BF16 through im2col (gemm::run's tensor-core versions), TF32 through
// the implicit GEMM's mma.sync version and cuDNN; what an algorithm cannot run
// (implicit bf16, direct tf32) is refused naming the algorithm.
TEST(CudaConv, ReducedPrecision) {
  REQUIRE_GPU();
  Generator gen(404);
  const ConvCase c{2, 16, 32, 13, 11, 3, 3, {1, 1}, {1, 1}, {1, 1}, {0, 0}};
  const ConvData d = make_data(c, DType::Float32, gen);
  const Conv2dOptions opt = c.options(false);
  const Tensor ref_y = ops::conv2d(f64(d.x), f64(d.w), f64(d.bias), opt);
  const Tensor ref_dx = ops::conv2d_backward_input(f64(d.dy), f64(d.w), d.x.shape(), opt);
  const Tensor ref_dw = ops::conv2d_backward_weight(f64(d.dy), f64(d.x), d.w.shape(), opt);
  const Tensor xg = to_gpu(d.x), wg = to_gpu(d.w), bg = to_gpu(d.bias), dyg = to_gpu(d.dy);
  std::vector<std::pair<Algo, Precision>> runs{{Algo::Im2colGemm, Precision::TF32},
                                               {Algo::Im2colGemm, Precision::BF16},
                                               {Algo::ImplicitGemm, Precision::TF32}};
  if (vendor::cudnn_built()) runs.push_back({Algo::Cudnn, Precision::TF32});
  for (const auto& [a, p] : runs) {
    Tensor y, dx, dw;
    {
      PoisonGuard poison;
      y = conv::forward(xg, wg, bg, opt, a, p);
      dx = conv::backward_input(dyg, wg, d.x.shape(), opt, a, p);
      dw = conv::backward_weight(dyg, xg, d.w.shape(), opt, a, p);
    }
    const double tol = tol_for(DType::Float32, p);
    const std::string what = std::string(conv::algo_name(a)) + " " + loom::cuda::gemm::precision_name(p);
    EXPECT_TRUE(rel_close(y, ref_y, tol)) << "forward " << what;
    EXPECT_TRUE(rel_close(dx, ref_dx, tol)) << "backward_input " << what;
    EXPECT_TRUE(rel_close(dw, ref_dw, tol)) << "backward_weight " << what;
  }
  const std::pair<Algo, Precision> refused[] = {{Algo::ImplicitGemm, Precision::BF16},
                                                {Algo::Direct, Precision::TF32}};
  for (const auto& [a, p] : refused) {
    try {
      conv::forward(xg, wg, bg, opt, a, p);
      FAIL() << "expected an error from " << conv::algo_name(a);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not supported by this algorithm"), std::string::npos) << e.what();
    }
  }
}

// Auto with an opt-in precision must pick an algorithm that runs it, also
// where fp32 would choose direct (tiny OC or C): tf32 -> implicit, bf16 -> im2col.
TEST(CudaConv, AutoPicksAnAlgorithmThatRunsThePrecision) {
  REQUIRE_GPU();
  Generator gen(405);
  const ConvCase c{2, 3, 6, 12, 10, 5, 5, {1, 1}, {2, 2}, {1, 1}, {0, 0}};  // OC 6, C KH KW 75: direct at fp32
  const ConvData d = make_data(c, DType::Float32, gen);
  const Conv2dOptions opt = c.options(false);
  const Tensor ref_y = ops::conv2d(f64(d.x), f64(d.w), f64(d.bias), opt);
  const Tensor ref_dx = ops::conv2d_backward_input(f64(d.dy), f64(d.w), d.x.shape(), opt);
  const Tensor xg = to_gpu(d.x), wg = to_gpu(d.w), bg = to_gpu(d.bias), dyg = to_gpu(d.dy);
  for (Precision p : {Precision::TF32, Precision::BF16}) {
    const std::string what = loom::cuda::gemm::precision_name(p);
    Tensor y, dx;
    {
      PoisonGuard poison;
      ASSERT_NO_THROW(y = conv::forward(xg, wg, bg, opt, Algo::Auto, p)) << what;
      ASSERT_NO_THROW(dx = conv::backward_input(dyg, wg, d.x.shape(), opt, Algo::Auto, p)) << what;
    }
    EXPECT_TRUE(rel_close(y, ref_y, tol_for(DType::Float32, p))) << "forward " << what;
    EXPECT_TRUE(rel_close(dx, ref_dx, tol_for(DType::Float32, p))) << "backward_input " << what;
  }
}

// backward-weight over a long reduction (N OH OW = 3 * 62 * 62) into a tiny
// weight: the implicit GEMM's split-K path; deterministic (same bits twice).
TEST(CudaConv, BackwardWeightSplitKIsDeterministic) {
  REQUIRE_GPU();
  Generator gen(505);
  const ConvCase c{3, 1, 1, 64, 64, 3, 3, {1, 1}, {0, 0}, {1, 1}, {0, 0}};
  const ConvData d = make_data(c, DType::Float32, gen);
  const Conv2dOptions opt = c.options(false);
  const Tensor ref = ops::conv2d_backward_weight(f64(d.dy), f64(d.x), d.w.shape(), opt);
  const Tensor xg = to_gpu(d.x), dyg = to_gpu(d.dy);
  for (Algo a : algorithms()) {
    if (a == Algo::Cudnn) continue;  // cuDNN's determinism is its own
    Tensor first, second;
    {
      PoisonGuard poison;
      first = conv::backward_weight(dyg, xg, d.w.shape(), opt, a);
      second = conv::backward_weight(dyg, xg, d.w.shape(), opt, a);
    }
    EXPECT_TRUE(rel_close(first, ref, 1e-5)) << conv::algo_name(a);
    EXPECT_EQ(to_cpu(first).to_vector<float>(), to_cpu(second).to_vector<float>()) << conv::algo_name(a);
  }
}

// N = 0: empty outputs, and a zero weight gradient (nothing to sum).
TEST(CudaConv, EmptyBatch) {
  REQUIRE_GPU();
  const Conv2dOptions opt;
  const Tensor x = Tensor::zeros({0, 2, 5, 5}, DType::Float32, gpu());
  const Tensor w = Tensor::ones({3, 2, 3, 3}, DType::Float32, gpu());
  const Tensor dy = Tensor::zeros({0, 3, 3, 3}, DType::Float32, gpu());
  for (Algo a : algorithms()) {
    PoisonGuard poison;
    EXPECT_EQ(conv::forward(x, w, Tensor(), opt, a).shape(), (Shape{0, 3, 3, 3})) << conv::algo_name(a);
    EXPECT_EQ(conv::backward_input(dy, w, x.shape(), opt, a).shape(), (Shape{0, 2, 5, 5})) << conv::algo_name(a);
    const Tensor dw = conv::backward_weight(dy, x, w.shape(), opt, a);
    for (float v : to_cpu(dw).to_vector<float>()) ASSERT_EQ(v, 0.0f) << conv::algo_name(a);
  }
}

// The PyTorch conv cases of ../shared/golden, forward and both gradients
// through autograd on CUDA, with every algorithm (LOOM_CONV).
TEST(CudaConv, GoldenCasesEveryAlgorithm) {
  REQUIRE_GPU();
  const char* env_dir = std::getenv("LOOM_GOLDEN_DIR");
  const std::filesystem::path dir = env_dir ? std::filesystem::path(env_dir)
                                            : std::filesystem::path(LOOM_SOURCE_DIR) / ".." / "shared" / "golden";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no golden cases at " << dir;
  int ran = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    if (entry.path().extension() != ".safetensors" || file.find("conv") == std::string::npos) continue;
    const SafeTensors st = load_safetensors(entry.path().string());
    const std::string op = st.metadata.at("op");
    if (op != "conv2d" && op != "conv_transpose2d") continue;
    auto pair_of = [&](const char* key, int64_t fallback) {
      const auto it = st.metadata.find(key);
      const int64_t v = it == st.metadata.end() ? fallback : std::stoll(it->second);
      return Pair{v, v};
    };
    Conv2dOptions opt;
    opt.stride = pair_of("stride", 1), opt.padding = pair_of("padding", 0), opt.dilation = pair_of("dilation", 1);
    if (op == "conv_transpose2d") opt.output_padding = pair_of("output_padding", 0);
    const bool has_bias = st.tensors.count("bias") > 0;
    for (Algo a : algorithms()) {
      EnvGuard env("LOOM_CONV", conv::algo_name(a));
      Tensor x = to_gpu(st.tensors.at("x")), w = to_gpu(st.tensors.at("weight"));
      Tensor b = has_bias ? to_gpu(st.tensors.at("bias")) : Tensor();
      x.requires_grad_(), w.requires_grad_();
      if (has_bias) b.requires_grad_();
      Tensor y = op == "conv2d" ? loom::conv2d(x, w, b, opt) : loom::conv_transpose2d(x, w, b, opt);
      y.backward(to_gpu(st.tensors.at("grad_output")));
      const std::string what = file + " " + conv::algo_name(a);
      EXPECT_TRUE(rel_close(y.detach(), st.tensors.at("output"), 1e-5)) << "output " << what;
      EXPECT_TRUE(rel_close(x.grad(), st.tensors.at("grad_x"), 1e-5)) << "grad_x " << what;
      EXPECT_TRUE(rel_close(w.grad(), st.tensors.at("grad_weight"), 1e-5)) << "grad_weight " << what;
      if (has_bias) {
        EXPECT_TRUE(rel_close(b.grad(), st.tensors.at("grad_bias"), 1e-5)) << "grad_bias " << what;
      }
    }
    ++ran;
  }
  EXPECT_GE(ran, 9) << "conv golden cases found in " << dir;
}

#endif  // LOOM_WITH_CUDA
