// test_optim.cpp: the optimizers (SGD, Adam, AdamW), their saved state, the
// learning-rate schedules and clip_grad_norm_.
//
// The optimizers are checked against scalar re-implementations in double
// written here from the update rules of the PyTorch documentation (for amsgrad:
// from PyTorch 1.13's code, which takes the maximum of the raw second moments
// before the bias correction). PyTorch itself is the oracle of
// test_golden_optimizers.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <numbers>

#include "nn/adam.h"
#include "nn/clip.h"
#include "nn/schedule.h"
#include "nn/sgd.h"
#include "tensor/safetensors.h"
#include "tests/test_util.h"

using namespace loom;
using namespace loom::nn;
using loom::testing::expect_bitwise_equal;
using loom::testing::expect_close;
using loom::testing::expect_error_containing;

namespace loom {
void PrintTo(DType dtype, std::ostream* os) { *os << dtype_name(dtype); }  // names in test failure messages
}  // namespace loom

namespace {

constexpr int kElements = 7;

// Deterministic, varied values: parameter i starts at start(i), its gradient
// at step t is gradient(t, i) (signs and magnitudes vary over two decades).
double start_value(int tensor, int i) { return 0.8 * std::sin(1.3 * i + 0.4 * tensor) + 0.1 * tensor; }
double gradient_value(int tensor, int step, int i) {
  return std::cos(0.9 * i + 1.7 * step + tensor) * std::pow(10.0, (i % 3) - 1.0) + 0.05 * step;
}
std::vector<double> values(const std::function<double(int)>& f) {
  std::vector<double> v(kElements);
  for (int i = 0; i < kElements; ++i) v[i] = f(i);
  return v;
}

Tensor leaf(const std::vector<double>& v, DType dtype) {
  Tensor t = Tensor::from_vector(v, {static_cast<int64_t>(v.size())}).to(dtype).clone();
  t.requires_grad_();
  return t;
}
void set_gradient(Tensor& p, const std::vector<double>& g) {
  p.set_grad(Tensor::from_vector(g, {static_cast<int64_t>(g.size())}).to(p.dtype()).clone());
}

// ---- scalar references in double (PyTorch documentation formulas) ----

struct ReferenceSGD {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  std::vector<double> buffer = {};  // empty until the first step
  void step(std::vector<double>& p, std::vector<double> g) {
    for (size_t i = 0; i < p.size(); ++i) g[i] += weight_decay * p[i];
    if (momentum != 0) {
      if (buffer.empty()) {
        buffer = g;
      } else {
        for (size_t i = 0; i < p.size(); ++i) buffer[i] = momentum * buffer[i] + (1 - dampening) * g[i];
      }
      for (size_t i = 0; i < p.size(); ++i) g[i] = nesterov ? g[i] + momentum * buffer[i] : buffer[i];
    }
    for (size_t i = 0; i < p.size(); ++i) p[i] -= lr * g[i];
  }
};

struct ReferenceAdam {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled, amsgrad;
  std::vector<double> m = std::vector<double>(kElements), v = m, v_max = m;
  int t = 0;
  void step(std::vector<double>& p, std::vector<double> g) {
    ++t;
    for (size_t i = 0; i < p.size(); ++i) {
      if (decoupled)
        p[i] *= 1 - lr * weight_decay;
      else
        g[i] += weight_decay * p[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      v_max[i] = std::max(v_max[i], v[i]);
      const double m_hat = m[i] / (1 - std::pow(beta1, t));
      const double v_hat = (amsgrad ? v_max[i] : v[i]) / (1 - std::pow(beta2, t));
      p[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
};

// Runs `steps` steps of `optimizer` over two parameters and of one reference
// per parameter, and compares the parameters after every step.
template <class Reference>
void expect_matches_reference(const std::function<std::unique_ptr<Optimizer>(NamedTensors)>& make,
                              const Reference& reference_template, DType dtype, double rtol, int steps = 6) {
  std::vector<std::vector<double>> ref_params;
  std::vector<Reference> refs;
  NamedTensors params;
  for (int k = 0; k < 2; ++k) {
    ref_params.push_back(values([&](int i) { return start_value(k, i); }));
    refs.push_back(reference_template);
    params.emplace_back(std::string("p").append(std::to_string(k)), leaf(ref_params.back(), dtype));
  }
  std::unique_ptr<Optimizer> optimizer = make(params);
  for (int t = 0; t < steps; ++t) {
    for (int k = 0; k < 2; ++k) {
      const std::vector<double> g = values([&](int i) { return gradient_value(k, t, i); });
      set_gradient(params[k].second, g);
      refs[k].step(ref_params[k], g);
    }
    optimizer->step();
    for (int k = 0; k < 2; ++k)
      expect_close(params[k].second, ref_params[k], 0, rtol, (optimizer->type_name() + " step " + std::to_string(t)).c_str());
  }
}

double tolerance(DType dtype) { return dtype == DType::Float64 ? 1e-12 : 2e-5; }

class OptimizerDTypes : public ::testing::TestWithParam<DType> {};

TEST_P(OptimizerDTypes, SGDPlainMatchesReference) {
  const DType dtype = GetParam();
  expect_matches_reference(
      [](NamedTensors p) { return std::make_unique<SGD>(std::move(p), 0.1); }, ReferenceSGD{0.1, 0, 0, 0, false},
      dtype, tolerance(dtype));
}

TEST_P(OptimizerDTypes, SGDMomentumDampeningWeightDecayMatchesReference) {
  const DType dtype = GetParam();
  expect_matches_reference(
      [](NamedTensors p) {
        return std::make_unique<SGD>(std::move(p), 0.05,
                                     SGDOptions{.momentum = 0.9, .dampening = 0.3, .weight_decay = 1e-2});
      },
      ReferenceSGD{0.05, 0.9, 0.3, 1e-2, false}, dtype, tolerance(dtype));
}

TEST_P(OptimizerDTypes, SGDNesterovMatchesReference) {
  const DType dtype = GetParam();
  expect_matches_reference(
      [](NamedTensors p) {
        return std::make_unique<SGD>(std::move(p), 0.05,
                                     SGDOptions{.momentum = 0.8, .weight_decay = 1e-3, .nesterov = true});
      },
      ReferenceSGD{0.05, 0.8, 0, 1e-3, true}, dtype, tolerance(dtype));
}

TEST_P(OptimizerDTypes, AdamMatchesReference) {
  const DType dtype = GetParam();
  expect_matches_reference(
      [](NamedTensors p) {
        return std::make_unique<Adam>(std::move(p), AdamOptions{.lr = 2e-3, .beta1 = 0.5, .beta2 = 0.99});
      },
      ReferenceAdam{2e-3, 0.5, 0.99, 1e-8, 0, false, false}, dtype, tolerance(dtype));
}

TEST_P(OptimizerDTypes, AdamL2WeightDecayMatchesReference) {
  const DType dtype = GetParam();
  expect_matches_reference(
      [](NamedTensors p) {
        return std::make_unique<Adam>(std::move(p), AdamOptions{.lr = 1e-2, .eps = 1e-6, .weight_decay = 0.1});
      },
      ReferenceAdam{1e-2, 0.9, 0.999, 1e-6, 0.1, false, false}, dtype, tolerance(dtype));
}

TEST_P(OptimizerDTypes, AdamWMatchesReference) {
  const DType dtype = GetParam();
  expect_matches_reference(
      [](NamedTensors p) {
        return std::make_unique<AdamW>(std::move(p), AdamWOptions{.lr = 1e-2, .weight_decay = 0.1});
      },
      ReferenceAdam{1e-2, 0.9, 0.999, 1e-8, 0.1, true, false}, dtype, tolerance(dtype));
}

TEST_P(OptimizerDTypes, AdamAmsgradMatchesReference) {
  const DType dtype = GetParam();
  expect_matches_reference(
      [](NamedTensors p) {
        return std::make_unique<Adam>(std::move(p), AdamOptions{.lr = 1e-2, .beta2 = 0.9, .amsgrad = true});
      },
      ReferenceAdam{1e-2, 0.9, 0.9, 1e-8, 0, false, true}, dtype, tolerance(dtype), 8);
}

INSTANTIATE_TEST_SUITE_P(Optim, OptimizerDTypes, ::testing::Values(DType::Float32, DType::Float64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(Optim, AdamSkipsParametersWithoutGradientAndKeepsTheirOwnStepCount) {
  // p1 has no gradient at the second step: it must not move then, and its own
  // bias correction continues from its own count afterwards.
  Tensor p0 = leaf(values([](int i) { return start_value(0, i); }), DType::Float64);
  Tensor p1 = leaf(values([](int i) { return start_value(1, i); }), DType::Float64);
  Adam adam({{"p0", p0}, {"p1", p1}}, {.lr = 1e-2});
  std::vector<double> r0 = p0.to_vector<double>(), r1 = p1.to_vector<double>();
  ReferenceAdam ref0{1e-2, 0.9, 0.999, 1e-8, 0, false, false}, ref1 = ref0;
  for (int t = 0; t < 3; ++t) {
    const auto g0 = values([&](int i) { return gradient_value(0, t, i); });
    const auto g1 = values([&](int i) { return gradient_value(1, t, i); });
    set_gradient(p0, g0);
    ref0.step(r0, g0);
    if (t == 1) {
      p1.set_grad(Tensor());
    } else {
      set_gradient(p1, g1);
      ref1.step(r1, g1);
    }
    adam.step();
    expect_close(p0, r0, 0, 1e-12, "p0");
    expect_close(p1, r1, 0, 1e-12, "p1");
  }
  std::map<std::string, double> steps;
  for (const auto& [name, t] : adam.state())
    if (name.ends_with(".step")) steps[name] = t.item();
  EXPECT_EQ(steps, (std::map<std::string, double>{{"p0.step", 3}, {"p1.step", 2}}));
}

TEST(Optim, StateNamesShapesAndDTypes) {
  Tensor w = leaf(values([](int i) { return start_value(0, i); }), DType::Float32);
  Adam adam({{"0.weight", w}}, {.amsgrad = true});
  EXPECT_TRUE(adam.state().empty());
  set_gradient(w, values([](int i) { return gradient_value(0, 0, i); }));
  adam.step();
  const NamedTensors state = adam.state();
  std::vector<std::string> names;
  for (const auto& [name, t] : state) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"0.weight.exp_avg", "0.weight.exp_avg_sq", "0.weight.max_exp_avg_sq",
                                             "0.weight.step"}));
  EXPECT_EQ(state[0].second.shape(), w.shape());
  EXPECT_EQ(state[0].second.dtype(), DType::Float32);
  EXPECT_EQ(state[3].second.dtype(), DType::Int64);
  EXPECT_EQ(state[3].second.dim(), 0);

  SGD plain({{"0.weight", w}}, 0.1);
  plain.step();
  EXPECT_TRUE(plain.state().empty());  // no momentum: no state
  SGD heavy({{"0.weight", w}}, 0.1, {.momentum = 0.9});
  heavy.step();
  ASSERT_EQ(heavy.state().size(), 1u);
  EXPECT_EQ(heavy.state()[0].first, "0.weight.momentum_buffer");
}

// Three steps, then a checkpoint (parameters + optimizer state through a
// safetensors file), then three more steps: a fresh optimizer restored from the
// checkpoint must give bit-identical parameters and state.
void expect_resume_is_bit_identical(const std::function<std::unique_ptr<Optimizer>(NamedTensors)>& make) {
  auto make_params = [] {
    return NamedTensors{{"a", leaf(values([](int i) { return start_value(0, i); }), DType::Float32)},
                        {"b.weight", leaf(values([](int i) { return start_value(1, i); }), DType::Float32)}};
  };
  auto run_steps = [](Optimizer& opt, int from, int to) {
    for (int t = from; t < to; ++t) {
      for (size_t k = 0; k < opt.named_parameters().size(); ++k) {
        Tensor p = opt.named_parameters()[k].second;
        set_gradient(p, values([&](int i) { return gradient_value(static_cast<int>(k), t, i); }));
      }
      opt.step();
    }
  };
  NamedTensors params = make_params();
  std::unique_ptr<Optimizer> original = make(params);
  run_steps(*original, 0, 3);

  std::map<std::string, Tensor> checkpoint;
  for (const auto& [name, t] : original->state()) checkpoint["optim." + name] = t;
  for (const auto& [name, t] : params) checkpoint["model." + name] = t.detach();
  // One file per test: CTest runs the three resume tests at the same time.
  const std::string test_name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const std::string path =
      (std::filesystem::temp_directory_path() / ("loom_test_optim_" + test_name + ".safetensors")).string();
  save_safetensors(path, checkpoint);
  const SafeTensors loaded = load_safetensors(path);
  std::filesystem::remove(path);

  run_steps(*original, 3, 6);

  NamedTensors resumed_params = make_params();
  std::map<std::string, Tensor> optim_state;
  for (const auto& [name, t] : loaded.tensors)
    if (name.starts_with("optim.")) optim_state[name.substr(6)] = t;
  for (auto& [name, p] : resumed_params) p.detach().copy_(loaded.tensors.at("model." + name));
  std::unique_ptr<Optimizer> resumed = make(resumed_params);
  resumed->load_state(optim_state);
  run_steps(*resumed, 3, 6);

  for (size_t k = 0; k < params.size(); ++k) expect_bitwise_equal(params[k].second, resumed_params[k].second, "param");
  const NamedTensors a = original->state(), b = resumed->state();
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].first, b[k].first);
    expect_bitwise_equal(a[k].second, b[k].second, a[k].first.c_str());
  }
}

TEST(Optim, AdamResumeFromStateIsBitIdentical) {
  expect_resume_is_bit_identical([](NamedTensors p) {
    return std::make_unique<Adam>(std::move(p), AdamOptions{.lr = 1e-2, .weight_decay = 1e-2, .amsgrad = true});
  });
}
TEST(Optim, AdamWResumeFromStateIsBitIdentical) {
  expect_resume_is_bit_identical([](NamedTensors p) {
    return std::make_unique<AdamW>(std::move(p), AdamWOptions{.lr = 1e-2, .weight_decay = 1e-2});
  });
}
TEST(Optim, SGDResumeFromStateIsBitIdentical) {
  expect_resume_is_bit_identical([](NamedTensors p) {
    return std::make_unique<SGD>(std::move(p), 0.05, SGDOptions{.momentum = 0.9, .nesterov = true});
  });
}

TEST(Optim, StateIsASnapshot) {
  Tensor w = leaf(values([](int i) { return start_value(0, i); }), DType::Float32);
  Adam adam({{"w", w}}, {});
  set_gradient(w, values([](int i) { return gradient_value(0, 0, i); }));
  adam.step();
  const NamedTensors before = adam.state();
  const std::vector<double> exp_avg = before[0].second.to_vector<double>();
  adam.step();
  expect_bitwise_equal(before[0].second, Tensor::from_vector(exp_avg, before[0].second.shape()).to(DType::Float32),
                       "state() taken before a step");
}

// Any defect in a state must be refused with a message naming the entry, and
// leave the optimizer exactly as it was: its next step equals that of an
// untouched twin.
void expect_refused_unchanged(const std::function<void(std::map<std::string, Tensor>&)>& spoil,
                              const std::string& message) {
  auto make = [](NamedTensors p) { return Adam(std::move(p), {.lr = 1e-2}); };
  NamedTensors params = {{"w", leaf(values([](int i) { return start_value(0, i); }), DType::Float32)}};
  NamedTensors twin_params = {{"w", leaf(values([](int i) { return start_value(0, i); }), DType::Float32)}};
  Adam adam = make(params), twin = make(twin_params);
  for (int t = 0; t < 2; ++t) {
    set_gradient(params[0].second, values([&](int i) { return gradient_value(0, t, i); }));
    set_gradient(twin_params[0].second, values([&](int i) { return gradient_value(0, t, i); }));
    adam.step();
    twin.step();
  }
  std::map<std::string, Tensor> state;
  for (const auto& [name, t] : adam.state()) state[name] = t;
  spoil(state);
  expect_error_containing([&] { adam.load_state(state); }, message);
  adam.step();  // same gradients as the twin's
  twin.step();
  expect_bitwise_equal(params[0].second, twin_params[0].second, "param after a refused load_state");
  const NamedTensors a = adam.state(), b = twin.state();
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) expect_bitwise_equal(a[k].second, b[k].second, a[k].first.c_str());
}

TEST(Optim, LoadStateRefusesAMismatchedShapeWithoutChangingAnything) {
  expect_refused_unchanged([](auto& s) { s["w.exp_avg_sq"] = Tensor::zeros({kElements + 1}); },
                           "'w.exp_avg_sq' is [8] float32");
}
TEST(Optim, LoadStateRefusesAWrongDType) {
  expect_refused_unchanged([](auto& s) { s["w.exp_avg"] = Tensor::zeros({kElements}, DType::Float64); },
                           "'w.exp_avg' is [7] float64");
}
TEST(Optim, LoadStateRefusesAMissingEntry) {
  expect_refused_unchanged([](auto& s) { s.erase("w.exp_avg"); }, "missing 'w.exp_avg'");
}
TEST(Optim, LoadStateRefusesAnUnexpectedEntry) {
  expect_refused_unchanged([](auto& s) { s["v.exp_avg"] = Tensor::zeros({kElements}); }, "unexpected 'v.exp_avg'");
}
TEST(Optim, LoadStateRefusesAZeroStepCount) {
  expect_refused_unchanged([](auto& s) { s["w.step"] = Tensor::scalar(0, DType::Int64); }, "'w.step' is 0");
}
TEST(Optim, LoadStateOfAnEmptyStateResets) {
  Tensor w = leaf(values([](int i) { return start_value(0, i); }), DType::Float32);
  SGD sgd({{"w", w}}, 0.1, {.momentum = 0.9});
  set_gradient(w, values([](int i) { return gradient_value(0, 0, i); }));
  sgd.step();
  EXPECT_EQ(sgd.state().size(), 1u);
  sgd.load_state({});
  EXPECT_TRUE(sgd.state().empty());
}

TEST(Optim, BadHyperParametersAreRefused) {
  auto params = [] { return NamedTensors{{"w", leaf({1.0, 2.0}, DType::Float32)}}; };
  expect_error_containing([&] { SGD(params(), -0.1); }, "learning rate");
  expect_error_containing([&] { SGD(params(), NAN); }, "learning rate");
  expect_error_containing([&] { SGD(params(), 0.1, {.momentum = -1}); }, "SGD: momentum = -1");
  expect_error_containing([&] { SGD(params(), 0.1, {.dampening = 1.5}); }, "SGD: dampening = 1.5");
  expect_error_containing([&] { SGD(params(), 0.1, {.weight_decay = -1}); }, "SGD: weight_decay");
  expect_error_containing([&] { SGD(params(), 0.1, {.nesterov = true}); }, "nesterov");
  expect_error_containing([&] { SGD(params(), 0.1, {.momentum = 0.9, .dampening = 0.1, .nesterov = true}); },
                          "nesterov");
  expect_error_containing([&] { Adam(params(), {.lr = -1}); }, "learning rate");
  expect_error_containing([&] { Adam(params(), {.beta1 = 1}); }, "Adam: beta1 = 1 is outside [0, 1)");
  expect_error_containing([&] { Adam(params(), {.beta2 = -0.1}); }, "Adam: beta2");
  expect_error_containing([&] { AdamW(params(), {.eps = -1e-8}); }, "AdamW: eps");
  expect_error_containing([&] { AdamW(params(), {.weight_decay = INFINITY}); }, "AdamW: weight_decay");
  Tensor w = leaf({1.0}, DType::Float32);
  expect_error_containing([&] { SGD({{"w", w}, {"w", leaf({1.0}, DType::Float32)}}, 0.1); }, "'w' appears twice");
  expect_error_containing([&] { SGD({{"a", w}, {"b", w}}, 0.1); }, "same tensor");
  SGD ok(params(), 0.1);
  expect_error_containing([&] { ok.set_lr(-1); }, "learning rate");
}

TEST(Optim, StepRefusesStateOfAnotherDType) {
  // A parameter converted after the optimizer's first step (as Module::to
  // does, in place) no longer fits its float32 moments.
  Tensor w = leaf({1.0, 2.0}, DType::Float32);
  Adam adam({{"w", w}}, {});
  set_gradient(w, {0.5, -0.5});
  adam.step();
  replace_tensor_data(w, w.detach().to(DType::Float64));
  set_gradient(w, {0.5, -0.5});
  expect_error_containing([&] { adam.step(); }, "Adam::step: the state 'w.exp_avg' is [2] float32 on cpu");
}

TEST(Optim, ZeroGradDropsGradients) {
  Tensor w = leaf({1.0, 2.0}, DType::Float32);
  SGD sgd({{"w", w}}, 0.1);
  set_gradient(w, {1.0, 1.0});
  sgd.zero_grad();
  EXPECT_FALSE(w.grad().defined());
  sgd.step();  // nothing to do
  expect_close(w, {1.0, 2.0}, 0, 0, "w after a step without gradient");
}

// ---- schedules: values against the closed forms, written out by hand ----

TEST(Schedule, StepLR) {
  StepLR s(0.1, 3, 0.5);
  const std::vector<std::pair<int64_t, double>> expected = {{0, 0.1},   {2, 0.1},    {3, 0.05},
                                                            {5, 0.05},  {6, 0.025},  {10, 0.0125}};
  for (auto [step, lr] : expected) EXPECT_DOUBLE_EQ(s.lr_at(step), lr) << "step " << step;
}

TEST(Schedule, MultiStepLR) {
  MultiStepLR s(1.0, {2, 5, 6}, 0.1);
  const std::vector<std::pair<int64_t, double>> expected = {{0, 1.0}, {1, 1.0},  {2, 0.1},
                                                            {4, 0.1}, {5, 0.01}, {6, 0.001}, {100, 0.001}};
  for (auto [step, lr] : expected) EXPECT_DOUBLE_EQ(s.lr_at(step), lr) << "step " << step;
  MultiStepLR none(0.3, {}, 0.1);
  EXPECT_DOUBLE_EQ(none.lr_at(1000), 0.3);
}

TEST(Schedule, LinearDecayIsThePix2PixRule) {
  // pix2pix: lr_l = 1 - max(0, epoch + epoch_count - n_epochs) / (n_epochs_decay + 1), epoch_count 1
  LinearDecayLR s(2e-4, 3, 4);
  const std::vector<std::pair<int64_t, double>> expected = {{0, 2e-4},       {2, 2e-4},       {3, 2e-4 * 0.8},
                                                            {4, 2e-4 * 0.6}, {6, 2e-4 * 0.2}, {7, 0},
                                                            {50, 0}};
  for (auto [step, lr] : expected) EXPECT_NEAR(s.lr_at(step), lr, 1e-18) << "step " << step;
  LinearDecayLR no_constant(1.0, 0, 1);
  EXPECT_DOUBLE_EQ(no_constant.lr_at(0), 0.5);
  EXPECT_DOUBLE_EQ(no_constant.lr_at(1), 0.0);
}

TEST(Schedule, CosineAnnealing) {
  CosineAnnealingLR s(1.0, 4, 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 1.0);
  EXPECT_DOUBLE_EQ(s.lr_at(1), 0.1 + 0.9 * (1 + std::sqrt(0.5)) / 2);
  EXPECT_DOUBLE_EQ(s.lr_at(2), 0.55);
  EXPECT_NEAR(s.lr_at(3), 0.1 + 0.9 * (1 - std::sqrt(0.5)) / 2, 1e-15);
  EXPECT_DOUBLE_EQ(s.lr_at(4), 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(9), 0.1);  // held at eta_min
}

TEST(Schedule, ApplySetsTheOptimizerRateAndBadArgumentsAreRefused) {
  Tensor w = leaf({1.0}, DType::Float32);
  Adam adam({{"w", w}}, {.lr = 1.0});
  StepLR s(0.2, 2, 0.5);
  s.apply(adam, 5);
  EXPECT_DOUBLE_EQ(adam.lr(), 0.05);
  expect_error_containing([&] { s.lr_at(-1); }, "StepLR(base_lr=0.2, step_size=2, gamma=0.5): step must be >= 0");
  expect_error_containing([] { StepLR(0.1, 0); }, "step_size");
  expect_error_containing([] { StepLR(-0.1, 1); }, "base learning rate");
  expect_error_containing([] { MultiStepLR(0.1, {3, 3}); }, "strictly increasing");
  expect_error_containing([] { MultiStepLR(0.1, {0}); }, "milestone 0");
  expect_error_containing([] { LinearDecayLR(0.1, -1, 3); }, "n_const");
  expect_error_containing([] { CosineAnnealingLR(0.1, 0); }, "T must be");
}

// ---- clip_grad_norm_ ----

TEST(Clip, ScalesByMaxNormOverTotalWhenAboveAndReturnsTheTotal) {
  Tensor a = leaf({3.0, -4.0, 1.0}, DType::Float32);
  Tensor b = leaf({0.5, 2.0}, DType::Float64);
  Tensor no_grad = leaf({7.0}, DType::Float32);
  set_gradient(a, {3.0, -4.0, 1.0});
  set_gradient(b, {0.5, 2.0});
  const double total_ref = std::sqrt(9 + 16 + 1 + 0.25 + 4);
  const double total = clip_grad_norm_(NamedTensors{{"a", a}, {"b", b}, {"c", no_grad}}, 2.0);
  EXPECT_NEAR(total, total_ref, 1e-12);
  const double coef = 2.0 / (total_ref + 1e-6);
  expect_close(a.grad(), {3.0 * coef, -4.0 * coef, 1.0 * coef}, 0, 1e-6, "a.grad");
  expect_close(b.grad(), {0.5 * coef, 2.0 * coef}, 0, 1e-14, "b.grad");
  EXPECT_FALSE(no_grad.grad().defined());
}

TEST(Clip, LeavesGradientsAloneBelowMaxNorm) {
  Tensor a = leaf({1.0, 1.0}, DType::Float32);
  set_gradient(a, {0.3, -0.4});
  const Tensor before = a.grad().clone();
  EXPECT_NEAR(clip_grad_norm_(std::vector<Tensor>{a}, 0.5 + 1e-5), 0.5, 1e-7);
  expect_bitwise_equal(a.grad(), before, "gradient below max_norm");
  EXPECT_EQ(clip_grad_norm_(std::vector<Tensor>{leaf({1.0}, DType::Float32)}, 1.0), 0.0);  // no gradient at all
}

TEST(Clip, NonFiniteNormThrowsAndChangesNothing) {
  Tensor a = leaf({1.0, 1.0}, DType::Float32), b = leaf({1.0}, DType::Float32);
  set_gradient(a, {30.0, -40.0});
  set_gradient(b, {NAN});
  const Tensor before = a.grad().clone();
  expect_error_containing([&] { clip_grad_norm_(NamedTensors{{"a", a}, {"b.weight", b}}, 1.0); },
                          "gradient of 'b.weight' is not finite");
  expect_bitwise_equal(a.grad(), before, "a.grad after the refusal");
  EXPECT_TRUE(std::isnan(clip_grad_norm_(NamedTensors{{"a", a}, {"b", b}}, 1.0, false)));
  expect_bitwise_equal(a.grad(), before, "a.grad with error_if_nonfinite false");
  expect_error_containing([&] { clip_grad_norm_(std::vector<Tensor>{a}, -1.0); }, "max_norm");
}

}  // namespace

TEST(Optim, AdamWDefaultsFollowTorch) {
  // torch.optim.AdamW: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2.
  const AdamWOptions o;
  EXPECT_EQ(o.weight_decay, 1e-2);
  EXPECT_EQ(o.lr, 1e-3);
  EXPECT_EQ(AdamOptions{}.weight_decay, 0.0);  // torch.optim.Adam: 0
}
