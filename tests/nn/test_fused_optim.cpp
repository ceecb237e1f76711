// test_fused_optim.cpp: the fused optimizer ops on the CPU (ops::adam_update,
// ops::sgd_update, kernels/cpu/optim.cpp) against the composite steps of
// nn::Adam / nn::AdamW / nn::SGD on CPU parameters (nn/adam.cpp, nn/sgd.cpp,
// written with loom's elementwise ops), over several steps with fresh random
// parameters and gradients of odd shapes, in every option combination,
// float32 and float64, with parameters that skip steps (each keeps its own
// step count); strided views updated in place; and the argument errors.
#include <gtest/gtest.h>

#include <map>

#include "tests/nn/fused_optim_util.h"
#include "tests/test_util.h"

using namespace loom;
using namespace loom::fused_test;
using loom::testing::expect_close;
using loom::testing::expect_error_containing;

namespace {

const std::vector<Shape> kShapes = {{1}, {3}, {7}, {5, 4}, {33}, {2, 3, 5}, {257}};
constexpr int kSteps = 5;

double tolerance(DType dt) { return dt == DType::Float64 ? 1e-12 : 1e-6; }

// `got` against the composite's tensor, |d| <= tol (1 + |ref|).
void expect_matches(const Tensor& got, const Tensor& composite, DType dt, const std::string& what) {
  ASSERT_TRUE(got.defined() && composite.defined()) << what;
  ASSERT_EQ(got.shape(), composite.shape()) << what;
  expect_close(got, composite.to_vector<double>(), tolerance(dt), tolerance(dt), what.c_str());
}

std::map<std::string, Tensor> state_map(const nn::Optimizer& opt) {
  std::map<std::string, Tensor> m;
  for (const auto& [name, t] : opt.state()) m[name] = t;
  return m;
}

struct AdamCase {
  double weight_decay;
  bool decoupled, amsgrad;
  DType dtype;
};

void check_adam(const AdamCase& c) {
  SCOPED_TRACE(std::string(c.decoupled ? "AdamW" : "Adam") + " wd " + std::to_string(c.weight_decay) +
               (c.amsgrad ? " amsgrad " : " ") + dtype_name(c.dtype));
  Generator gen(1234);
  const std::vector<Tensor> start = random_tensors(kShapes, gen, c.dtype);
  AdamUpdateOptions o;
  o.lr = 0.01;
  o.beta1 = 0.8;
  o.beta2 = 0.95;
  o.eps = 1e-6;
  o.weight_decay = c.weight_decay;
  o.decoupled_weight_decay = c.decoupled;
  o.amsgrad = c.amsgrad;

  const nn::NamedTensors named = named_leaves(start);
  std::unique_ptr<nn::Optimizer> opt;
  const nn::AdamOptions adam{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.amsgrad};
  if (c.decoupled)
    opt = std::make_unique<nn::AdamW>(named, nn::AdamWOptions{adam.lr, adam.beta1, adam.beta2, adam.eps,
                                                              adam.weight_decay, adam.amsgrad});
  else
    opt = std::make_unique<nn::Adam>(named, adam);
  AdamLists fused(clones(start), c.amsgrad);

  for (int step = 0; step < kSteps; ++step) {
    const std::vector<Tensor> grads = random_grads(kShapes, step, gen, c.dtype);
    set_grads(*opt, named, grads);
    opt->step();
    fused.step(grads, o);
  }
  const std::map<std::string, Tensor> state = state_map(*opt);
  for (size_t k = 0; k < kShapes.size(); ++k) {
    const std::string name = named[k].first;
    expect_matches(fused.params[k], named[k].second, c.dtype, name);
    expect_matches(fused.exp_avgs[k], state.at(name + ".exp_avg"), c.dtype, name + ".exp_avg");
    expect_matches(fused.exp_avg_sqs[k], state.at(name + ".exp_avg_sq"), c.dtype, name + ".exp_avg_sq");
    if (c.amsgrad)
      expect_matches(fused.max_exp_avg_sqs[k], state.at(name + ".max_exp_avg_sq"), c.dtype, name + ".max_exp_avg_sq");
    EXPECT_EQ(static_cast<double>(fused.steps[k]), state.at(name + ".step").item()) << name;
    // The parameter moved: the test compares an update, not two copies of the start.
    EXPECT_NE(fused.params[k].to_vector<double>(), start[k].to_vector<double>()) << name;
  }
}

struct SgdCase {
  double momentum, dampening, weight_decay;
  bool nesterov;
  DType dtype;
};

void check_sgd(const SgdCase& c) {
  SCOPED_TRACE("SGD momentum " + std::to_string(c.momentum) + " dampening " + std::to_string(c.dampening) + " wd " +
               std::to_string(c.weight_decay) + (c.nesterov ? " nesterov " : " ") + dtype_name(c.dtype));
  Generator gen(99);
  const std::vector<Tensor> start = random_tensors(kShapes, gen, c.dtype);
  const SgdUpdateOptions o{0.05, c.momentum, c.dampening, c.weight_decay, c.nesterov};
  const nn::NamedTensors named = named_leaves(start);
  nn::SGD opt(named, o.lr, nn::SGDOptions{c.momentum, c.dampening, c.weight_decay, c.nesterov});
  SgdLists fused(clones(start), c.momentum != 0);
  for (int step = 0; step < kSteps; ++step) {
    const std::vector<Tensor> grads = random_grads(kShapes, step, gen, c.dtype);
    set_grads(opt, named, grads);
    opt.step();
    fused.step(grads, o);
  }
  const std::map<std::string, Tensor> state = state_map(opt);
  for (size_t k = 0; k < kShapes.size(); ++k) {
    const std::string name = named[k].first;
    expect_matches(fused.params[k], named[k].second, c.dtype, name);
    if (c.momentum != 0)
      expect_matches(fused.momentum_buffers[k], state.at(name + ".momentum_buffer"), c.dtype,
                     name + ".momentum_buffer");
    EXPECT_NE(fused.params[k].to_vector<double>(), start[k].to_vector<double>()) << name;
  }
}

}  // namespace

TEST(FusedOptimCpu, AdamMatchesCompositeInEveryCombination) {
  for (DType dt : {DType::Float32, DType::Float64})
    for (double wd : {0.0, 0.1})
      for (bool decoupled : {false, true})
        for (bool amsgrad : {false, true}) check_adam({wd, decoupled, amsgrad, dt});
}

TEST(FusedOptimCpu, SgdMatchesCompositeInEveryCombination) {
  for (DType dt : {DType::Float32, DType::Float64})
    for (double wd : {0.0, 0.05})
      for (double momentum : {0.0, 0.9})
        for (double dampening : {0.0, 0.3})
          for (bool nesterov : {false, true}) {
            if (nesterov && (momentum == 0 || dampening != 0)) continue;  // refused by nn::SGD
            check_sgd({momentum, dampening, wd, nesterov, dt});
          }
}

// Views that are not dense are updated in place (through a copy written
// back) exactly as their dense copies are; the rest of the storage is untouched.
TEST(FusedOptimCpu, StridedViewsUpdateInPlace) {
  Generator gen(7);
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor base = randn({6, 5}, gen, dt);  // the parameter is base[:, 1:4] transposed: (3, 6)
    const Tensor grad_base = randn({6, 5}, gen, dt);
    AdamUpdateOptions o;
    o.lr = 0.1;
    o.amsgrad = true;
    o.weight_decay = 0.01;
    Tensor p_storage = base.clone();
    Tensor p_view = p_storage.slice(1, 1, 4).transpose(0, 1);
    const Tensor g_view = grad_base.slice(1, 1, 4).transpose(0, 1);
    Tensor m_storage = Tensor::zeros({6, 5}, dt), v_storage = Tensor::zeros({6, 5}, dt),
           vm_storage = Tensor::zeros({6, 5}, dt);
    std::vector<Tensor> m = {m_storage.slice(1, 1, 4).transpose(0, 1)}, v = {v_storage.slice(1, 1, 4).transpose(0, 1)},
                        vm = {vm_storage.slice(1, 1, 4).transpose(0, 1)};
    ASSERT_FALSE(p_view.is_contiguous());

    AdamLists dense({p_view.contiguous().clone()}, true);
    for (int64_t t = 1; t <= 3; ++t) {
      ops::adam_update({p_view}, {g_view}, m, v, vm, {t}, o);
      dense.step({g_view.contiguous()}, o);
    }
    expect_matches(p_view, dense.params[0], dt, "strided param");
    expect_matches(m[0], dense.exp_avgs[0], dt, "strided exp_avg");
    expect_matches(v[0], dense.exp_avg_sqs[0], dt, "strided exp_avg_sq");
    expect_matches(vm[0], dense.max_exp_avg_sqs[0], dt, "strided max_exp_avg_sq");
    // Columns 0 and 4 of the storage are not part of the view.
    for (int64_t col : {0, 4})
      expect_matches(p_storage.select(1, col), base.select(1, col), dt, "storage outside the view");

    Tensor q_storage = base.clone();
    Tensor q_view = q_storage.slice(1, 1, 4).transpose(0, 1);
    SgdLists sgd_dense({q_view.contiguous().clone()}, true);
    Tensor b_storage = Tensor::zeros({6, 5}, dt);
    std::vector<Tensor> b = {b_storage.slice(1, 1, 4).transpose(0, 1)};
    const SgdUpdateOptions so{0.1, 0.9, 0.1, 0.01, false};
    for (int step = 0; step < 3; ++step) {
      ops::sgd_update({q_view}, {g_view}, b, {static_cast<uint8_t>(step == 0)}, so);
      sgd_dense.step({g_view.contiguous()}, so);
    }
    expect_matches(q_view, sgd_dense.params[0], dt, "strided SGD param");
    expect_matches(b[0], sgd_dense.momentum_buffers[0], dt, "strided momentum buffer");
  }
}

TEST(FusedOptimCpu, EmptyListsAndZeroSizeParametersAreNoOps) {
  ops::adam_update({}, {}, {}, {}, {}, {}, AdamUpdateOptions{});
  ops::sgd_update({}, {}, {}, {}, SgdUpdateOptions{});
  Tensor p = Tensor::zeros({0, 3});
  ops::adam_update({p}, {p.clone()}, {p.clone()}, {p.clone()}, {}, {1}, AdamUpdateOptions{});
  EXPECT_EQ(p.numel(), 0);
}

TEST(FusedOptimCpu, AdamArgumentErrors) {
  const Tensor p = Tensor::ones({3}), q = Tensor::ones({2, 2});
  const AdamUpdateOptions o;
  AdamUpdateOptions ams;
  ams.amsgrad = true;
  auto z = [](const Tensor& t) { return Tensor::zeros(t.shape(), t.dtype()); };
  expect_error_containing([&] { ops::adam_update({p, q}, {z(p)}, {z(p), z(q)}, {z(p), z(q)}, {}, {1, 1}, o); },
                          "adam_update: grads has 1 tensors for 2 params");
  expect_error_containing([&] { ops::adam_update({p}, {z(q)}, {z(p)}, {z(p)}, {}, {1}, o); },
                          "adam_update: grads[0] has shape [2, 2], params[0] has shape [3]");
  expect_error_containing(
      [&] { ops::adam_update({p}, {z(p)}, {z(p).to(DType::Float64)}, {z(p)}, {}, {1}, o); },
      "adam_update: exp_avgs[0] is float64, params[0] is float32");
  expect_error_containing([&] { ops::adam_update({p}, {z(p)}, {z(p)}, {Tensor()}, {}, {1}, o); },
                          "adam_update: exp_avg_sqs[0] is undefined");
  expect_error_containing([&] { ops::adam_update({p}, {z(p)}, {z(p)}, {z(p)}, {}, {1}, ams); },
                          "adam_update: max_exp_avg_sqs (amsgrad) has 0 tensors for 1 params");
  expect_error_containing([&] { ops::adam_update({p}, {z(p)}, {z(p)}, {z(p)}, {z(p)}, {1}, o); },
                          "max_exp_avg_sqs has 1 tensors but amsgrad is off");
  expect_error_containing([&] { ops::adam_update({p}, {z(p)}, {z(p)}, {z(p)}, {}, {1, 2}, o); },
                          "adam_update: steps has 2 counts for 1 params");
  expect_error_containing([&] { ops::adam_update({p}, {z(p)}, {z(p)}, {z(p)}, {}, {0}, o); },
                          "adam_update: steps[0] is 0");
  const Tensor ints = Tensor::zeros({3}, DType::Int64);
  expect_error_containing([&] { ops::adam_update({ints}, {ints}, {ints}, {ints}, {}, {1}, o); },
                          "adam_update: params[0] must be float32 or float64, got int64");
  expect_error_containing([&] { ops::adam_update({Tensor()}, {z(p)}, {z(p)}, {z(p)}, {}, {1}, o); },
                          "adam_update: params[0] is undefined");
}

TEST(FusedOptimCpu, SgdArgumentErrors) {
  const Tensor p = Tensor::ones({3});
  const Tensor g = Tensor::zeros({3});
  const SgdUpdateOptions plain{0.1, 0, 0, 0, false}, momentum{0.1, 0.9, 0, 0, false};
  expect_error_containing([&] { ops::sgd_update({p}, {}, {}, {}, plain); },
                          "sgd_update: grads has 0 tensors for 1 params");
  expect_error_containing([&] { ops::sgd_update({p}, {g}, {g.clone()}, {}, plain); },
                          "sgd_update: momentum_buffers has 1 tensors but momentum is 0");
  expect_error_containing([&] { ops::sgd_update({p}, {g}, {}, {1}, momentum); },
                          "sgd_update: momentum_buffers has 0 tensors for 1 params");
  expect_error_containing([&] { ops::sgd_update({p}, {g}, {g.clone()}, {}, momentum); },
                          "sgd_update: first_step has 0 flags for 1 params");
  expect_error_containing([&] { ops::sgd_update({p}, {Tensor::zeros({4})}, {}, {}, plain); },
                          "sgd_update: grads[0] has shape [4], params[0] has shape [3]");
  // A failed check changes nothing.
  EXPECT_EQ(p.to_vector<double>(), std::vector<double>(3, 1.0));
}
