// test_module.cpp: the nn::Module API through real layers: state_dict names of
// nested Sequentials, parameter counts, train/eval propagation, zero_grad and
// gradient accumulation, dtype conversion keeping handles, summary() and
// registration errors.
#include <gtest/gtest.h>

#include <algorithm>

#include "autograd/functions.h"
#include "nn/nn.h"
#include "tensor/cuda_runtime.h"
#include "tests/test_util.h"

namespace loom::nn {
namespace {

using testing::expect_close;
using testing::expect_error_containing;

// A small DCGAN-style discriminator: child "main" is a Sequential, "head" a Linear.
//   main: 0 Conv2d(3, 8, k4 s2 p1, no bias)  1 LeakyReLU  2 Conv2d(8, 16, k4 s2 p1, no bias)
//         3 BatchNorm2d(16)  4 LeakyReLU  5 Flatten
//   head: Linear(16 * 2 * 2, 1)
class Discriminator : public Module {
 public:
  explicit Discriminator(Generator& gen) {
    main = register_module(
        "main", make<Sequential>(make<Conv2d>({.in = 3, .out = 8, .kernel = 4, .stride = 2, .padding = 1, .bias = false}, gen),
                                 make<LeakyReLU>(0.2),
                                 make<Conv2d>({.in = 8, .out = 16, .kernel = 4, .stride = 2, .padding = 1, .bias = false}, gen),
                                 make<BatchNorm2d>({.features = 16}), make<LeakyReLU>(0.2), make<Flatten>()));
    head = register_module("head", make<Linear>({.in = 64, .out = 1}, gen));
  }
  Tensor forward(const Tensor& x) override { return (*head)((*main)(x)); }
  std::string type_name() const override { return "Discriminator"; }

  std::shared_ptr<Sequential> main;
  std::shared_ptr<Linear> head;
};

std::vector<std::string> names_of(const NamedTensors& list) {
  std::vector<std::string> names;
  for (const auto& [name, t] : list) names.push_back(name);
  return names;
}

TEST(Module, StateDictNamesOfNestedSequential) {
  Generator gen(1);
  Discriminator d(gen);
  std::vector<std::string> names = names_of(d.state_dict());
  // PyTorch's order: each module's parameters, then its buffers, then its children.
  std::vector<std::string> expected{"main.0.weight",       "main.2.weight",
                                    "main.3.weight",       "main.3.bias",
                                    "main.3.running_mean", "main.3.running_var",
                                    "main.3.num_batches_tracked", "head.weight",
                                    "head.bias"};
  EXPECT_EQ(names, expected);
  EXPECT_EQ(names_of(d.named_buffers()),
            (std::vector<std::string>{"main.3.running_mean", "main.3.running_var", "main.3.num_batches_tracked"}));
  for (const auto& [name, t] : d.state_dict()) {
    if (name != "main.3.num_batches_tracked") continue;
    EXPECT_EQ(t.dtype(), DType::Int64);
    EXPECT_EQ(t.dim(), 0);
  }
}

// A module with its own parameter and buffer as well as a child: the case in
// which PyTorch's state_dict order (own parameters, own buffers, then each
// child's) differs from "parameters first" or "children first".
class ScaledLinear : public Module {
 public:
  explicit ScaledLinear(Generator& gen) {
    scale = register_parameter("scale", Tensor::ones({2}));
    calls = register_buffer("calls", Tensor::zeros({}, DType::Int64));
    body = register_module("body", make<Linear>({.in = 3, .out = 2}, gen));
  }
  Tensor forward(const Tensor& x) override { return (*body)(x) * scale; }
  std::string type_name() const override { return "ScaledLinear"; }

  Tensor scale, calls;
  std::shared_ptr<Linear> body;
};

TEST(Module, StateDictPutsOwnBuffersBeforeChildren) {
  Generator gen(9);
  ScaledLinear m(gen);
  // torch: class M(nn.Module) registering scale, calls, body in that order:
  // list(M().state_dict()) == ['scale', 'calls', 'body.weight', 'body.bias']
  EXPECT_EQ(names_of(m.state_dict()), (std::vector<std::string>{"scale", "calls", "body.weight", "body.bias"}));
  EXPECT_EQ(names_of(m.named_parameters()), (std::vector<std::string>{"scale", "body.weight", "body.bias"}));
  EXPECT_EQ(names_of(m.named_buffers()), (std::vector<std::string>{"calls"}));
}

TEST(Module, ParameterCountMatchesHandCount) {
  Generator gen(2);
  Discriminator d(gen);
  const int64_t by_hand = 8 * 3 * 4 * 4      // main.0.weight
                          + 16 * 8 * 4 * 4   // main.2.weight
                          + 16 + 16          // main.3 weight, bias
                          + 64 * 1 + 1;      // head
  EXPECT_EQ(d.parameter_count(), by_hand);
  EXPECT_EQ(d.parameters().size(), 6u);
}

TEST(Module, NamedModulesGivesDottedPaths) {
  Generator gen(3);
  Discriminator d(gen);
  std::vector<std::string> paths;
  for (auto& [path, m] : d.named_modules()) paths.push_back(path);
  EXPECT_EQ(paths, (std::vector<std::string>{"main", "main.0", "main.1", "main.2", "main.3", "main.4", "main.5",
                                             "head"}));
}

TEST(Module, TrainEvalPropagateToEveryChild) {
  Generator gen(4);
  Discriminator d(gen);
  d.eval();
  EXPECT_FALSE(d.is_training());
  for (auto& [path, m] : d.named_modules()) EXPECT_FALSE(m->is_training()) << path;
  d.train();
  for (auto& [path, m] : d.named_modules()) EXPECT_TRUE(m->is_training()) << path;
}

TEST(Module, ZeroGradAndAccumulationAcrossTwoBackwards) {
  Generator gen(5);
  Discriminator d(gen);
  d.eval();  // batch norm with fixed statistics: both passes compute the same function
  const Tensor x = randn({2, 3, 8, 8}, gen);
  sum(d(x)).backward();
  std::vector<std::vector<double>> once;
  for (const Tensor& p : d.parameters()) {
    ASSERT_TRUE(p.grad().defined());
    once.push_back(p.grad().to_vector<double>());
  }
  sum(d(x)).backward();
  const std::vector<Tensor> params = d.parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    std::vector<double> twice = once[i];
    for (double& v : twice) v *= 2.0;
    expect_close(params[i].grad(), twice, 1e-6, 1e-5, "accumulated gradient = 2 x one pass");
  }
  d.zero_grad();
  for (const Tensor& p : d.parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(Module, ToFloat64KeepsHandlesValid) {
  Generator gen(6);
  Discriminator d(gen);
  auto conv = std::dynamic_pointer_cast<Conv2d>((*d.main)[0]);
  ASSERT_NE(conv, nullptr);
  const std::vector<double> before = conv->weight.to_vector<double>();
  d.to(DType::Float64);
  EXPECT_EQ(conv->weight.dtype(), DType::Float64);
  EXPECT_EQ(d.head->bias.dtype(), DType::Float64);
  EXPECT_TRUE(conv->weight.requires_grad());
  EXPECT_EQ(conv->weight.to_vector<double>(), before);  // float32 values are exact in float64
  bool found = false;
  for (const auto& [name, t] : d.named_parameters())
    if (name == "main.0.weight") found = t.is_same(conv->weight);
  EXPECT_TRUE(found);
  for (const auto& [name, t] : d.named_buffers()) {
    if (name != "main.3.num_batches_tracked") continue;
    EXPECT_EQ(t.dtype(), DType::Int64);
  }
  const Tensor y = d(randn({2, 3, 8, 8}, gen, DType::Float64));
  EXPECT_EQ(y.dtype(), DType::Float64);
  sum(y).backward();
  EXPECT_EQ(conv->weight.grad().dtype(), DType::Float64);
}

TEST(Module, ToConvertsAccumulatedGradientsToo) {
  // PyTorch's Module.to moves a parameter's .grad with it: a gradient
  // accumulated before the conversion is kept, in the new dtype.
  Generator gen(16);
  Linear fc({.in = 3, .out = 2}, gen);
  sum(fc(randn({4, 3}, gen))).backward();
  const std::vector<double> grad_before = fc.weight.grad().to_vector<double>();
  ASSERT_FALSE(fc.bias.grad().to_vector<double>().empty());
  fc.to(DType::Float64);
  ASSERT_TRUE(fc.weight.grad().defined());
  EXPECT_EQ(fc.weight.grad().dtype(), DType::Float64);
  EXPECT_EQ(fc.weight.grad().to_vector<double>(), grad_before);  // float32 values are exact in float64
  EXPECT_EQ(fc.bias.grad().dtype(), DType::Float64);
  sum(fc(randn({4, 3}, gen, DType::Float64))).backward();  // accumulates into the converted gradient
  EXPECT_EQ(fc.weight.grad().dtype(), DType::Float64);
}

TEST(Module, ToCudaAndBackKeepsHandlesValuesAndGradients) {
  if (cuda_rt::device_count() == 0) GTEST_SKIP() << "no CUDA device (or a CPU-only build)";
  Generator gen(17);
  Discriminator d(gen);
  auto conv = std::dynamic_pointer_cast<Conv2d>((*d.main)[0]);
  const std::map<std::string, std::vector<double>> before = [&] {
    std::map<std::string, std::vector<double>> values;
    for (const auto& [name, t] : d.state_dict()) values[name] = t.to_vector<double>();
    return values;
  }();
  conv->weight.set_grad(Tensor::ones(conv->weight.shape()));
  d.to(Device::cuda(0));
  EXPECT_TRUE(conv->weight.device().is_cuda());  // the layer's own handle moved
  EXPECT_TRUE(conv->weight.grad().device().is_cuda());
  for (const auto& [name, t] : d.state_dict()) EXPECT_TRUE(t.device().is_cuda()) << name;
  d.to(Device::cpu());
  for (const auto& [name, t] : d.state_dict()) EXPECT_EQ(t.to_vector<double>(), before.at(name)) << name;
  EXPECT_EQ(conv->weight.grad().to_vector<double>(), std::vector<double>(conv->weight.numel(), 1.0));
  EXPECT_TRUE(conv->weight.requires_grad());
}

TEST(Module, SummaryListsLayersWithOutputShapes) {
  Generator gen(7);
  Discriminator d(gen);
  const std::string s = d.summary({2, 3, 8, 8});
  // conv (k4 s2 p1): O = floor((I + 2 - 4) / 2) + 1 = I / 2
  struct Row {
    std::string path, layer, shape;
  };
  const std::vector<Row> rows{
      {"main.0", "Conv2d(3, 8, kernel_size=4, stride=2, padding=1, bias=false)", "[2, 8, 4, 4]"},
      {"main.1", "LeakyReLU(negative_slope=0.2)", "[2, 8, 4, 4]"},
      {"main.2", "Conv2d(8, 16, kernel_size=4, stride=2, padding=1, bias=false)", "[2, 16, 2, 2]"},
      {"main.3", "BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)", "[2, 16, 2, 2]"},
      {"main.5", "Flatten(start_dim=1, end_dim=-1)", "[2, 64]"},
      {"head", "Linear(in_features=64, out_features=1, bias=true)", "[2, 1]"},
  };
  for (const Row& row : rows) {
    const size_t at = s.find("\n" + row.path + " ");
    ASSERT_NE(at, std::string::npos) << row.path << " missing in\n" << s;
    const std::string line = s.substr(at + 1, s.find('\n', at + 1) - at - 1);
    EXPECT_NE(line.find(row.layer), std::string::npos) << line;
    EXPECT_NE(line.find(row.shape), std::string::npos) << line;
  }
  EXPECT_NE(s.find("total parameters: 2,529"), std::string::npos) << s;  // 384 + 2048 + 32 + 65
  EXPECT_TRUE(d.is_training());  // the mode is restored
}

// Registers what a test asks for, to provoke registration errors.
class Registrar : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "Registrar"; }
  using Module::register_buffer;
  using Module::register_parameter;
};

TEST(Module, RegistrationErrors) {
  Registrar m;
  m.register_parameter("weight", Tensor::zeros({2}));
  expect_error_containing([&] { m.register_parameter("weight", Tensor::zeros({2})); }, "'weight' is already registered");
  expect_error_containing([&] { m.register_buffer("weight", Tensor::zeros({2})); }, "'weight' is already registered");
  expect_error_containing([&] { m.register_module("weight", make<ReLU>()); }, "'weight' is already registered");
  expect_error_containing([&] { m.register_parameter("a.b", Tensor::zeros({2})); }, "invalid name 'a.b'");
  expect_error_containing([&] { m.register_parameter("steps", Tensor::zeros({2}, DType::Int64)); },
                          "must be floating point");
  EXPECT_FALSE(m.register_parameter("absent", Tensor()).defined());  // an optional bias switched off
  EXPECT_EQ(m.named_parameters().size(), 1u);
}

TEST(Sequential, BuiltFromListOrByAdding) {
  Generator gen(8);
  auto fc1 = make<Linear>({.in = 4, .out = 3}, gen);
  auto act = make<Tanh>();
  Sequential listed{fc1, act};
  EXPECT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0], fc1);
  auto added = make<Sequential>();
  added->add(fc1);
  auto fc2 = added->add(make<Linear>({.in = 3, .out = 2}, gen));
  EXPECT_EQ(names_of(added->named_parameters()),
            (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias"}));
  const Tensor x = randn({5, 4}, gen);
  testing::expect_bitwise_equal((*added)(x), linear(linear(x, fc1->weight, fc1->bias), fc2->weight, fc2->bias),
                                "Sequential applies its modules in order");
  expect_error_containing([&] { (void)listed[2]; }, "index 2 is out of range");
  expect_error_containing([&] { added->add(ModulePtr()); }, "is null");
}

}  // namespace
}  // namespace loom::nn
