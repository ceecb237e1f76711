// test_optim.cpp: the fused optimizer kernels on CUDA (kernels/cuda/optim.cu)
// against the CPU op (kernels/cpu/optim.cpp, itself checked against the
// composite nn::Adam / nn::SGD in tests/nn/test_fused_optim.cpp):
//   - ops::adam_update / sgd_update with both kernel versions forced
//     (LOOM_CUDA_OPTIM=v1, v2) over several steps, on many parameters of odd
//     sizes (1, 3, ..., 1000003; more parameters than one v2 launch takes),
//     float32 and float64 in the same call, parameters skipping steps, every
//     option combination;
//   - a parameter with more chunks than one v2 launch holds;
//   - strided views updated in place;
//   - nn::Adam, nn::AdamW and nn::SGD on CUDA parameters against the same
//     optimizers on CPU parameters (fused vs composite), the saved state's
//     names, shapes, dtypes and devices included.
// Every test needs a GPU and is skipped without one.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "autograd/functions.h"  // cuda_test_util.h's uniform() needs the Tensor operators
#include "tests/cuda/cuda_test_util.h"
#include "tests/nn/fused_optim_util.h"

using namespace loom;
using namespace loom::fused_test;
using cuda_test::close_to_reference;

namespace {

double tolerance(DType dt) { return dt == DType::Float64 ? 1e-12 : 1e-6; }

// Sets LOOM_CUDA_OPTIM for a scope.
struct ForceKernel {
  explicit ForceKernel(const char* version) { setenv("LOOM_CUDA_OPTIM", version, 1); }
  ~ForceKernel() { unsetenv("LOOM_CUDA_OPTIM"); }
};

// Many parameters: odd sizes, 1-element ones, one of 1000003 elements and one
// just over a v2 chunk, more than the 36 one v2 launch takes, and float64
// ones among the float32 ones.
struct MixedParams {
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  MixedParams() {
    const std::vector<Shape> small = {{1}, {3}, {7, 1}, {33}, {2, 5, 5}, {257}, {4, 3}, {1}};
    for (int r = 0; r < 6; ++r) {
      for (const Shape& s : small) shapes.push_back(s);
      if (r == 1) shapes.push_back({1000003});
      if (r == 4) shapes.push_back({65537});
    }
    for (size_t k = 0; k < shapes.size(); ++k) dtypes.push_back(k % 3 == 2 ? DType::Float64 : DType::Float32);
  }
  std::vector<Tensor> random(Generator& gen) const {
    std::vector<Tensor> out;
    for (size_t k = 0; k < shapes.size(); ++k) out.push_back(randn(shapes[k], gen, dtypes[k]));
    return out;
  }
  // Random gradients, none for parameter k when (k + step) % 4 == 3.
  std::vector<Tensor> grads(int step, Generator& gen) const {
    std::vector<Tensor> g = random(gen);
    for (size_t k = 0; k < g.size(); ++k)
      if ((static_cast<int>(k) + step) % 4 == 3) g[k] = Tensor();
    return g;
  }
};

void expect_lists_match(const std::vector<Tensor>& cuda, const std::vector<Tensor>& cpu, const char* what) {
  ASSERT_EQ(cuda.size(), cpu.size()) << what;
  for (size_t k = 0; k < cuda.size(); ++k) {
    const double tol = tolerance(cpu[k].dtype());
    EXPECT_TRUE(close_to_reference(cuda[k], cpu[k], tol, tol)) << what << "[" << k << "] shape "
                                                                << shape_str(cpu[k].shape());
  }
}

void run_adam(const char* version, const AdamUpdateOptions& o) {
  SCOPED_TRACE(std::string(version) + (o.decoupled_weight_decay ? " AdamW" : " Adam") + " wd " +
               std::to_string(o.weight_decay) + (o.amsgrad ? " amsgrad" : ""));
  ForceKernel force(version);
  const MixedParams mp;
  Generator gen(2024);
  const std::vector<Tensor> start = mp.random(gen);
  AdamLists cpu(clones(start), o.amsgrad);
  AdamLists gpu(on_device(start, cuda_test::gpu()), o.amsgrad);
  for (int step = 0; step < 3; ++step) {
    const std::vector<Tensor> grads = mp.grads(step, gen);
    cpu.step(grads, o);
    cuda_test::PoisonGuard poison;
    gpu.step(on_device(grads, cuda_test::gpu()), o);
  }
  expect_lists_match(gpu.params, cpu.params, "params");
  expect_lists_match(gpu.exp_avgs, cpu.exp_avgs, "exp_avgs");
  expect_lists_match(gpu.exp_avg_sqs, cpu.exp_avg_sqs, "exp_avg_sqs");
  expect_lists_match(gpu.max_exp_avg_sqs, cpu.max_exp_avg_sqs, "max_exp_avg_sqs");
}

void run_sgd(const char* version, const SgdUpdateOptions& o) {
  SCOPED_TRACE(std::string(version) + " SGD momentum " + std::to_string(o.momentum) + " dampening " +
               std::to_string(o.dampening) + " wd " + std::to_string(o.weight_decay) +
               (o.nesterov ? " nesterov" : ""));
  ForceKernel force(version);
  const MixedParams mp;
  Generator gen(77);
  const std::vector<Tensor> start = mp.random(gen);
  SgdLists cpu(clones(start), o.momentum != 0);
  SgdLists gpu(on_device(start, cuda_test::gpu()), o.momentum != 0);
  for (int step = 0; step < 3; ++step) {
    const std::vector<Tensor> grads = mp.grads(step, gen);
    cpu.step(grads, o);
    cuda_test::PoisonGuard poison;
    gpu.step(on_device(grads, cuda_test::gpu()), o);
  }
  expect_lists_match(gpu.params, cpu.params, "params");
  expect_lists_match(gpu.momentum_buffers, cpu.momentum_buffers, "momentum_buffers");
}

}  // namespace

TEST(CudaFusedOptim, AdamV1AndV2MatchTheCpuOp) {
  REQUIRE_GPU();
  for (const char* version : {"v1", "v2"})
    for (double wd : {0.0, 0.1})
      for (bool decoupled : {false, true})
        for (bool amsgrad : {false, true}) {
          AdamUpdateOptions o;
          o.lr = 0.01;
          o.beta1 = 0.8;
          o.beta2 = 0.95;
          o.eps = 1e-6;
          o.weight_decay = wd;
          o.decoupled_weight_decay = decoupled;
          o.amsgrad = amsgrad;
          run_adam(version, o);
        }
}

TEST(CudaFusedOptim, SgdV1AndV2MatchTheCpuOp) {
  REQUIRE_GPU();
  for (const char* version : {"v1", "v2"})
    for (double wd : {0.0, 0.05})
      for (double momentum : {0.0, 0.9})
        for (double dampening : {0.0, 0.3})
          for (bool nesterov : {false, true}) {
            if (nesterov && (momentum == 0 || dampening != 0)) continue;
            run_sgd(version, SgdUpdateOptions{0.05, momentum, dampening, wd, nesterov});
          }
}

// More chunks (65536 elements each) than one v2 launch's 320 blocks: the
// parameter continues in the next launch; small ones before and after it.
TEST(CudaFusedOptim, ParameterSpanningSeveralV2Launches) {
  REQUIRE_GPU();
  ForceKernel force("v2");
  Generator gen(5);
  const std::vector<Shape> shapes = {{3}, {320 * 65536 + 12345}, {1}, {70000}};
  const std::vector<Tensor> start = random_tensors(shapes, gen, DType::Float32);
  AdamUpdateOptions o;
  o.lr = 0.01;
  o.amsgrad = true;
  AdamLists cpu(clones(start), true);
  AdamLists gpu(on_device(start, cuda_test::gpu()), true);
  for (int step = 0; step < 2; ++step) {
    const std::vector<Tensor> grads = random_tensors(shapes, gen, DType::Float32);
    cpu.step(grads, o);
    gpu.step(on_device(grads, cuda_test::gpu()), o);
  }
  expect_lists_match(gpu.params, cpu.params, "params");
  expect_lists_match(gpu.max_exp_avg_sqs, cpu.max_exp_avg_sqs, "max_exp_avg_sqs");
}

// A transposed slice is updated in place through its storage on both devices.
TEST(CudaFusedOptim, StridedViewsUpdateInPlace) {
  REQUIRE_GPU();
  Generator gen(11);
  for (const char* version : {"v1", "v2"})
    for (DType dt : {DType::Float32, DType::Float64}) {
      ForceKernel force(version);
      const Tensor base = randn({9, 7}, gen, dt), grad_base = randn({9, 7}, gen, dt);
      auto view = [](const Tensor& t) { return t.slice(1, 2, 6).transpose(0, 1); };  // (4, 9), strided
      Tensor p_cpu = base.clone(), p_gpu = cuda_test::to_gpu(base).clone();
      Tensor m_cpu = Tensor::zeros({9, 7}, dt), v_cpu = Tensor::zeros({9, 7}, dt);
      Tensor m_gpu = cuda_test::to_gpu(m_cpu).clone(), v_gpu = cuda_test::to_gpu(v_cpu).clone();
      const Tensor g_gpu = cuda_test::to_gpu(grad_base);
      AdamUpdateOptions o;
      o.lr = 0.1;
      o.weight_decay = 0.01;
      o.decoupled_weight_decay = true;
      for (int64_t t = 1; t <= 3; ++t) {
        ops::adam_update({view(p_cpu)}, {view(grad_base)}, {view(m_cpu)}, {view(v_cpu)}, {}, {t}, o);
        cuda_test::PoisonGuard poison;
        ops::adam_update({view(p_gpu)}, {view(g_gpu)}, {view(m_gpu)}, {view(v_gpu)}, {}, {t}, o);
      }
      const double tol = tolerance(dt);
      EXPECT_TRUE(close_to_reference(p_gpu, p_cpu, tol, tol)) << version << " param storage";
      EXPECT_TRUE(close_to_reference(m_gpu, m_cpu, tol, tol)) << version << " exp_avg storage";
      EXPECT_TRUE(close_to_reference(v_gpu, v_cpu, tol, tol)) << version << " exp_avg_sq storage";
    }
}

namespace {

// The same optimizer on CPU parameters (composite) and on CUDA copies (fused):
// parameters and every state entry agree after several steps, and the state
// has the same names, shapes and dtypes (moments on the parameter's device,
// step counts on the CPU).
template <class MakeOptimizer>
void compare_nn_optimizer(const MakeOptimizer& make, DType dt, const char* what) {
  SCOPED_TRACE(std::string(what) + " " + dtype_name(dt));
  const std::vector<Shape> shapes = {{1}, {3}, {16, 3, 3, 3}, {16}, {1000003}, {7, 5}};
  Generator gen(31);
  const std::vector<Tensor> start = random_tensors(shapes, gen, dt);
  const nn::NamedTensors cpu_params = named_leaves(start);
  const nn::NamedTensors gpu_params = named_leaves(on_device(start, cuda_test::gpu()));
  std::unique_ptr<nn::Optimizer> cpu_opt = make(cpu_params), gpu_opt = make(gpu_params);
  for (int step = 0; step < 4; ++step) {
    const std::vector<Tensor> grads = random_grads(shapes, step, gen, dt);
    set_grads(*cpu_opt, cpu_params, grads);
    set_grads(*gpu_opt, gpu_params, on_device(grads, cuda_test::gpu()));
    cpu_opt->step();
    cuda_test::PoisonGuard poison;
    gpu_opt->step();
  }
  const double tol = tolerance(dt);
  for (size_t k = 0; k < shapes.size(); ++k)
    EXPECT_TRUE(close_to_reference(gpu_params[k].second, cpu_params[k].second, tol, tol)) << cpu_params[k].first;
  const nn::NamedTensors cpu_state = cpu_opt->state(), gpu_state = gpu_opt->state();
  ASSERT_EQ(gpu_state.size(), cpu_state.size());
  for (size_t i = 0; i < cpu_state.size(); ++i) {
    const auto& [name, ref] = cpu_state[i];
    const Tensor& got = gpu_state[i].second;
    EXPECT_EQ(gpu_state[i].first, name);
    EXPECT_EQ(got.dtype(), ref.dtype()) << name;
    if (ref.dtype() == DType::Int64) {  // step counts stay 0-dim int64 CPU tensors
      EXPECT_FALSE(got.device().is_cuda()) << name;
      EXPECT_EQ(got.item(), ref.item()) << name;
    } else {
      EXPECT_TRUE(close_to_reference(got, ref, tol, tol)) << name;
    }
  }
}

}  // namespace

TEST(CudaFusedOptim, NnOptimizersOnCudaMatchTheCpuComposite) {
  REQUIRE_GPU();
  for (DType dt : {DType::Float32, DType::Float64}) {
    using nn::NamedTensors;
    compare_nn_optimizer(
        [](NamedTensors p) {
          return std::make_unique<nn::Adam>(p, nn::AdamOptions{0.01, 0.9, 0.99, 1e-8, 0.1, false});
        },
        dt, "Adam wd");
    compare_nn_optimizer(
        [](NamedTensors p) {
          return std::make_unique<nn::AdamW>(p, nn::AdamWOptions{0.01, 0.8, 0.95, 1e-6, 0.05, true});
        },
        dt, "AdamW amsgrad");
    compare_nn_optimizer(
        [](NamedTensors p) { return std::make_unique<nn::SGD>(p, 0.05, nn::SGDOptions{0.9, 0, 0.01, true}); }, dt,
        "SGD nesterov");
    compare_nn_optimizer(
        [](NamedTensors p) { return std::make_unique<nn::SGD>(p, 0.05, nn::SGDOptions{0.5, 0.2, 0, false}); }, dt,
        "SGD dampening");
  }
}

// A CUDA optimizer's saved state loads into a CPU optimizer (and back), and
// both continue identically: the checkpoint layout does not depend on the device.
TEST(CudaFusedOptim, AdamStateMovesBetweenDevices) {
  REQUIRE_GPU();
  const std::vector<Shape> shapes = {{5}, {3, 4}};
  Generator gen(8);
  const std::vector<Tensor> start = random_tensors(shapes, gen, DType::Float32);
  const nn::NamedTensors gpu_params = named_leaves(on_device(start, cuda_test::gpu()));
  nn::Adam gpu_opt(gpu_params, nn::AdamOptions{0.01, 0.9, 0.999, 1e-8, 0, true});
  for (int step = 0; step < 2; ++step) {
    set_grads(gpu_opt, gpu_params, on_device(random_tensors(shapes, gen, DType::Float32), cuda_test::gpu()));
    gpu_opt.step();
  }
  std::vector<Tensor> now;
  for (const auto& [name, p] : gpu_params) now.push_back(cuda_test::to_cpu(p));
  const nn::NamedTensors cpu_params = named_leaves(now);
  nn::Adam cpu_opt(cpu_params, nn::AdamOptions{0.01, 0.9, 0.999, 1e-8, 0, true});
  std::map<std::string, Tensor> saved;
  for (const auto& [name, t] : gpu_opt.state()) saved[name] = t;
  cpu_opt.load_state(saved);
  const std::vector<Tensor> grads = random_tensors(shapes, gen, DType::Float32);
  set_grads(cpu_opt, cpu_params, grads);
  set_grads(gpu_opt, gpu_params, on_device(grads, cuda_test::gpu()));
  cpu_opt.step();
  gpu_opt.step();
  for (size_t k = 0; k < shapes.size(); ++k)
    EXPECT_TRUE(close_to_reference(gpu_params[k].second, cpu_params[k].second, 1e-6, 1e-6)) << k;
}

TEST(CudaFusedOptim, UnknownKernelVersionIsRefused) {
  REQUIRE_GPU();
  ForceKernel force("v9");
  const Tensor p = Tensor::ones({3}, DType::Float32, cuda_test::gpu());
  try {
    ops::sgd_update({p}, {p.clone()}, {}, {}, SgdUpdateOptions{});
    ADD_FAILURE() << "LOOM_CUDA_OPTIM=v9 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("LOOM_CUDA_OPTIM must be v1"), std::string::npos) << e.what();
  }
}

TEST(CudaFusedOptim, ArgumentErrorsOnCuda) {
  REQUIRE_GPU();
  const Tensor p = Tensor::ones({3}, DType::Float32, cuda_test::gpu());
  const Tensor q = Tensor::ones({3}, DType::Float32);
  try {
    ops::adam_update({p}, {p.clone()}, {p.clone()}, {q}, {}, {1}, AdamUpdateOptions{});
    ADD_FAILURE() << "a CPU moment with a CUDA parameter was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("adam_update"), std::string::npos) << e.what();
  }
}
