// test_golden_optimizers.cpp: the optimizers against PyTorch's, on every
// golden case whose op is adam, adamw or sgd (../shared/golden, or
// $LOOM_GOLDEN_DIR; format in its README). A case: `param`, `grads` (five
// successive gradients, [5, ...param]), hyper-parameters as metadata strings,
// and `param_after_5_steps` computed by PyTorch 1.13 in float64.
//
// Each case runs in float32 and in float64 and prints one line. It is compared
// twice: the parameter (||out - ref|| / ||ref||) and the displacement over the
// five steps (||(out - p0) - (ref - p0)|| / ||ref - p0||), which is what the
// optimizer computes and so the sharper check: a small step with a wrong bias
// correction hides in the first but not in the second. float32 rounds the
// parameter at every step (6e-8 of |p| per step against displacements of
// 5 lr), hence its looser displacement tolerance.
//
// A case fails on any metadata key this test does not understand, on a file
// tensor it does not use, or when anything throws; the test fails when the
// directory holds no optimizer case at all. The Cuda* tests run the same cases
// with the parameter on cuda:0 (the fused optimizer kernels; skipped without a GPU).
#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <sstream>

#include "autograd/functions.h"
#include "nn/adam.h"
#include "nn/sgd.h"
#include "tensor/cuda_runtime.h"
#include "tests/nn/golden_support.h"

using namespace loom;
using namespace loom::nn;
using namespace loom::golden_test;

namespace {

struct Tolerances {
  double param;         // on ||out - ref|| / ||ref||
  double displacement;  // on ||(out - p0) - (ref - p0)|| / ||ref - p0||
};

Tolerances tolerances(DType dtype) { return dtype == DType::Float64 ? Tolerances{1e-14, 1e-12} : Tolerances{1e-6, 5e-4}; }

// The optimizer a case describes; every hyper-parameter key is read here (the
// ones a case leaves out take PyTorch's defaults).
std::unique_ptr<Optimizer> make_optimizer(const std::string& op, Metadata& md, NamedTensors params) {
  if (op == "adam" || op == "adamw") {
    AdamOptions o;
    o.lr = md.real("lr", 1e-3);
    o.beta1 = md.real("beta1", 0.9);
    o.beta2 = md.real("beta2", 0.999);
    o.eps = md.real("eps", 1e-8);
    o.weight_decay = md.real("weight_decay", op == "adamw" ? 1e-2 : 0.0);  // torch's defaults differ
    o.amsgrad = md.flag("amsgrad", false);
    if (op == "adamw")
      return std::make_unique<AdamW>(std::move(params),
                                     AdamWOptions{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.amsgrad});
    return std::make_unique<Adam>(std::move(params), o);
  }
  LOOM_CHECK(op == "sgd", "no optimizer for op '", op, "'");
  SGDOptions o;
  o.momentum = md.real("momentum", 0);
  o.dampening = md.real("dampening", 0);
  o.weight_decay = md.real("weight_decay", 0);
  o.nesterov = md.flag("nesterov", false);
  return std::make_unique<SGD>(std::move(params), md.real("lr"), o);
}

// Runs one case in `dtype` on `device`; returns the problems (empty: pass) and fills `line`.
std::vector<std::string> run_case(const GoldenCase& c, DType dtype, Device device, std::string& line) {
  std::vector<std::string> problems;
  const Tolerances tol = tolerances(dtype);
  double param_err = NAN, displacement_err = NAN;
  try {
    Metadata md(c.data.metadata);
    const std::string op = md.str("op");
    LOOM_CHECK(md.str("inputs") == "param", "metadata 'inputs' is '", md.str("inputs"), "', expected 'param'");
    for (const auto& [name, t] : c.data.tensors)
      LOOM_CHECK(name == "param" || name == "grads" || name == "param_after_5_steps", "file tensor '", name,
                 "' is not understood");
    const Tensor start = c.data.tensors.at("param");
    const Tensor grads = c.data.tensors.at("grads");            // (5, ...param)
    const Tensor ref = c.data.tensors.at("param_after_5_steps");  // (...param)
    Shape grads_shape = start.shape();
    grads_shape.insert(grads_shape.begin(), 5);
    LOOM_CHECK(grads.shape() == grads_shape, "grads has shape ", shape_str(grads.shape()), ", expected ",
               shape_str(grads_shape));

    Tensor param = start.to(dtype).clone().to(device);
    param.requires_grad_();
    std::unique_ptr<Optimizer> optimizer = make_optimizer(op, md, {{"param", param}});
    for (const std::string& key : md.unused()) problems.push_back("metadata key '" + key + "' is not understood");
    for (int64_t step = 0; step < 5; ++step) {
      param.set_grad(grads.select(0, step).to(dtype).clone().to(device));
      optimizer->step();
    }
    const Tensor p0 = start.to(DType::Float64);
    const Tensor out = param.detach().to(Device::cpu());
    param_err = relative_error(out, ref);
    displacement_err = relative_error(out.to(DType::Float64) - p0, ref - p0);
    if (!(param_err <= tol.param)) problems.push_back("param rel err " + sci(param_err) + " > " + sci(tol.param));
    if (!(displacement_err <= tol.displacement))
      problems.push_back("displacement rel err " + sci(displacement_err) + " > " + sci(tol.displacement));
  } catch (const Error& e) {
    problems.push_back(e.what());
  }
  std::ostringstream s;
  s << c.name << " " << dtype_name(dtype) << " " << device.str() << (problems.empty() ? " PASS" : " FAIL") << ": param rel err "
    << sci(param_err) << " (tol " << sci(tol.param) << "), displacement rel err " << sci(displacement_err)
    << " (tol " << sci(tol.displacement) << ")";
  for (const std::string& p : problems) s << "; " << p;
  line = s.str();
  return problems;
}

void run_all(DType dtype, Device device = Device::cpu()) {
  const std::vector<GoldenCase> cases = cases_with_op({"adam", "adamw", "sgd"});
  ASSERT_FALSE(cases.empty()) << "no optimizer case (op adam, adamw or sgd) in " << golden_dir().string();
  for (const GoldenCase& c : cases) {
    std::string line;
    const std::vector<std::string> problems = run_case(c, dtype, device, line);
    std::cout << "[golden] " << line << "\n";
    EXPECT_TRUE(problems.empty()) << line;
  }
}

TEST(GoldenOptimizers, Float32) { run_all(DType::Float32); }
TEST(GoldenOptimizers, Float64) { run_all(DType::Float64); }

#define REQUIRE_GPU()                                                                            \
  if (cuda_rt::device_count() == 0)                                                              \
  GTEST_SKIP() << (cuda_rt::built_with_cuda() ? "no CUDA device on this machine"                 \
                                              : "loom was built without CUDA (LOOM_CUDA=OFF or no nvcc)")

TEST(GoldenOptimizers, CudaFloat32) {
  REQUIRE_GPU();
  run_all(DType::Float32, Device::cuda(0));
}
TEST(GoldenOptimizers, CudaFloat64) {
  REQUIRE_GPU();
  run_all(DType::Float64, Device::cuda(0));
}

}  // namespace
