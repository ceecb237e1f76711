// test_optim_pytorch.cpp: the optimizers, schedules and clip_grad_norm_
// against PyTorch itself, for the settings the golden cases do not cover
// (Nesterov, dampening, amsgrad, AdamW with amsgrad, every schedule). The test
// writes random inputs to a safetensors file, runs
// tests/nn/optim_pytorch_reference.py with /usr/bin/python3 (PyTorch 1.13), and
// compares loom's float64 results with PyTorch's float64 results. Skipped when
// that interpreter or torch is missing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "autograd/functions.h"
#include "nn/adam.h"
#include "nn/clip.h"
#include "nn/schedule.h"
#include "nn/sgd.h"
#include "tensor/random.h"
#include "tensor/safetensors.h"
#include "tests/test_util.h"

#ifndef LOOM_SOURCE_DIR
#error "LOOM_SOURCE_DIR must be defined (the project root)"
#endif

using namespace loom;
using namespace loom::nn;
using loom::testing::expect_close;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr int64_t kElements = 11, kSteps = 8;
const char* kPython = "/usr/bin/python3";

struct OptimizerCase {
  std::string name;
  json torch_spec;  // {"optimizer": ..., "kwargs": {...}} for torch.optim
  std::function<std::unique_ptr<Optimizer>(NamedTensors)> make;
};

std::vector<OptimizerCase> optimizer_cases() {
  return {
      {"sgd_nesterov",
       {{"optimizer", "SGD"}, {"kwargs", {{"lr", 0.05}, {"momentum", 0.9}, {"nesterov", true}, {"weight_decay", 1e-3}}}},
       [](NamedTensors p) {
         return std::make_unique<SGD>(std::move(p), 0.05,
                                      SGDOptions{.momentum = 0.9, .weight_decay = 1e-3, .nesterov = true});
       }},
      {"sgd_dampening",
       {{"optimizer", "SGD"}, {"kwargs", {{"lr", 0.1}, {"momentum", 0.5}, {"dampening", 0.5}}}},
       [](NamedTensors p) {
         return std::make_unique<SGD>(std::move(p), 0.1, SGDOptions{.momentum = 0.5, .dampening = 0.5});
       }},
      {"adam_amsgrad_l2",
       {{"optimizer", "Adam"},
        {"kwargs", {{"lr", 1e-2}, {"betas", {0.9, 0.95}}, {"weight_decay", 1e-2}, {"amsgrad", true}}}},
       [](NamedTensors p) {
         return std::make_unique<Adam>(std::move(p),
                                       AdamOptions{.lr = 1e-2, .beta2 = 0.95, .weight_decay = 1e-2, .amsgrad = true});
       }},
      {"adamw_amsgrad",
       {{"optimizer", "AdamW"},
        {"kwargs", {{"lr", 1e-2}, {"eps", 1e-6}, {"weight_decay", 0.1}, {"amsgrad", true}}}},
       [](NamedTensors p) {
         return std::make_unique<AdamW>(std::move(p),
                                        AdamWOptions{.lr = 1e-2, .eps = 1e-6, .weight_decay = 0.1, .amsgrad = true});
       }},
  };
}

struct ScheduleCase {
  std::string name;
  json torch_spec;  // {"name", "kind", "base_lr", "kwargs", "steps"}
  std::shared_ptr<LRSchedule> schedule;
};

std::vector<ScheduleCase> schedule_cases() {
  auto spec = [](const char* name, const char* kind, json kwargs, int steps) {
    return json{{"name", name}, {"kind", kind}, {"base_lr", 0.1}, {"kwargs", kwargs}, {"steps", steps}};
  };
  return {
      {"step", spec("step", "StepLR", {{"step_size", 3}, {"gamma", 0.5}}, 12), std::make_shared<StepLR>(0.1, 3, 0.5)},
      {"multistep", spec("multistep", "MultiStepLR", {{"milestones", {2, 5, 9}}, {"gamma", 0.3}}, 12),
       std::make_shared<MultiStepLR>(0.1, std::vector<int64_t>{2, 5, 9}, 0.3)},
      // PyTorch's recursive cosine form agrees with the closed form up to step T only.
      {"cosine", spec("cosine", "CosineAnnealingLR", {{"T_max", 10}, {"eta_min", 1e-3}}, 11),
       std::make_shared<CosineAnnealingLR>(0.1, 10, 1e-3)},
      // pix2pix's rule goes negative after step n_const + n_decay (its training
      // has ended by then), where loom holds 0: compared up to that step.
      {"linear", spec("linear", "linear", {{"n_const", 4}, {"n_decay", 5}}, 10),
       std::make_shared<LinearDecayLR>(0.1, 4, 5)},
  };
}

bool pytorch_available() {
  if (!fs::exists(kPython)) return false;
  return std::system((std::string(kPython) + " -c 'import torch' > /dev/null 2>&1").c_str()) == 0;
}

TEST(OptimPyTorch, OptimizersSchedulesAndClipMatchPyTorch) {
  if (!pytorch_available()) GTEST_SKIP() << kPython << " with torch is not available";
  Generator gen(20240);
  std::map<std::string, Tensor> inputs;
  std::map<std::string, std::string> metadata;
  const std::vector<OptimizerCase> optimizers = optimizer_cases();
  for (const OptimizerCase& c : optimizers) {
    inputs[c.name + ".param"] = randn({kElements}, gen, DType::Float64);
    // gradients over two decades of scale, so sqrt(v) and eps both matter
    inputs[c.name + ".grads"] = randn({kSteps, kElements}, gen, DType::Float64) *
                                exp(uniform({kSteps, kElements}, -2.3, 2.3, gen, DType::Float64));
    metadata[c.name] = c.torch_spec.dump();
  }
  const std::vector<ScheduleCase> schedules = schedule_cases();
  json schedule_specs = json::array();
  for (const ScheduleCase& s : schedules) schedule_specs.push_back(s.torch_spec);
  metadata["schedules"] = schedule_specs.dump();
  const double max_norm = 1.5;
  metadata["clip_max_norm"] = std::to_string(max_norm);
  inputs["clip.0"] = randn({3, 4}, gen, DType::Float64);
  inputs["clip.1"] = randn({5}, gen, DType::Float64);

  const fs::path dir = fs::temp_directory_path() / ("loom_optim_pytorch_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string in = (dir / "in.safetensors").string(), out = (dir / "out.safetensors").string();
  save_safetensors(in, inputs, metadata);
  const std::string script = std::string(LOOM_SOURCE_DIR) + "/tests/nn/optim_pytorch_reference.py";
  const int rc = std::system((std::string(kPython) + " " + script + " " + in + " " + out).c_str());
  ASSERT_EQ(rc, 0) << "the PyTorch reference script failed";
  const SafeTensors torch_results = load_safetensors(out);
  fs::remove_all(dir);
  const auto& ref = torch_results.tensors;

  for (const OptimizerCase& c : optimizers) {
    Tensor param = inputs.at(c.name + ".param").clone();
    param.requires_grad_();
    std::unique_ptr<Optimizer> optimizer = c.make({{"p", param}});
    const Tensor p0 = param.detach().clone();
    for (int64_t t = 0; t < kSteps; ++t) {
      param.set_grad(inputs.at(c.name + ".grads").select(0, t).clone());
      optimizer->step();
      const Tensor torch_after = ref.at(c.name + ".after").select(0, t);
      // the displacement from the start, which is what the optimizer computes
      expect_close(param.detach() - p0, (torch_after - p0).to_vector<double>(), 1e-15, 1e-11,
                   (c.name + " step " + std::to_string(t)).c_str());
    }
  }
  for (const ScheduleCase& s : schedules) {
    const std::vector<double> torch_lrs = ref.at(s.name + ".lr").to_vector<double>();
    for (size_t step = 0; step < torch_lrs.size(); ++step)
      EXPECT_NEAR(s.schedule->lr_at(static_cast<int64_t>(step)), torch_lrs[step], 1e-15)
          << s.schedule->describe() << " step " << step;
  }
  Tensor a = Tensor::zeros({3, 4}, DType::Float64), b = Tensor::zeros({5}, DType::Float64);
  a.set_grad(inputs.at("clip.0").clone());
  b.set_grad(inputs.at("clip.1").clone());
  const double total = clip_grad_norm_(std::vector<Tensor>{a, b}, max_norm);
  EXPECT_NEAR(total, ref.at("clip.total").item(), 1e-13);
  expect_close(a.grad(), ref.at("clip.0").to_vector<double>(), 0, 1e-13, "clip.0");
  expect_close(b.grad(), ref.at("clip.1").to_vector<double>(), 0, 1e-13, "clip.1");
  EXPECT_GT(total, max_norm) << "the inputs should exercise clipping";
}

}  // namespace
