// test_torch_interop.cpp: loom model files and PyTorch state dicts are the
// same thing. A Sequential of Conv2d, BatchNorm2d, LeakyReLU,
// ConvTranspose2d, ReLU, Tanh, Flatten, Linear and Sigmoid is built in loom
// and, by tests/nn/torch_interop.py, in PyTorch (/usr/bin/python3, torch 1.13):
//   (a) loom saves its model; PyTorch loads it with load_state_dict(strict=True)
//       (after checking every dtype and shape) and runs the same input; the
//       outputs agree to float32 rounding;
//   (b) PyTorch saves its own randomly initialised model (num_batches_tracked
//       included, int64); loom loads it strictly into a differently seeded
//       model and reproduces PyTorch's output.
// The script reads and writes safetensors itself (the safetensors package is
// not installed here). Without torch the tests are skipped, saying why.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "autograd/grad_mode.h"
#include "nn/checkpoint.h"
#include "nn/nn.h"
#include "tensor/safetensors.h"
#include "tests/nn/checkpoint_test_util.h"
#include "tests/test_util.h"

using namespace loom;
using namespace loom::testing;

namespace {

constexpr const char* kPython = "/usr/bin/python3";
// float32 forward passes through five layers, computed in different orders.
constexpr double kAtol = 1e-5, kRtol = 1e-4;

// The twin of build_model() in torch_interop.py: (N, 3, 8, 8) -> (N, 5).
std::shared_ptr<nn::Sequential> make_interop_model(Generator& gen) {
  return nn::make<nn::Sequential>(
      nn::make<nn::Conv2d>({.in = 3, .out = 8, .kernel = 4, .stride = 2, .padding = 1, .bias = false}, gen),
      nn::make<nn::BatchNorm2d>({.features = 8}), nn::make<nn::LeakyReLU>(0.2),
      nn::make<nn::ConvTranspose2d>({.in = 8, .out = 4, .kernel = 4, .stride = 2, .padding = 1}, gen),
      nn::make<nn::BatchNorm2d>({.features = 4}), nn::make<nn::ReLU>(),
      nn::make<nn::Conv2d>({.in = 4, .out = 2, .kernel = 3, .stride = 1, .padding = 1}, gen), nn::make<nn::Tanh>(),
      nn::make<nn::Flatten>(), nn::make<nn::Linear>({.in = 2 * 8 * 8, .out = 5}, gen), nn::make<nn::Sigmoid>());
}

Tensor eval_output(nn::Module& model, const Tensor& x) {
  NoGradGuard no_grad;
  model.eval();
  return model(x);
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// Runs `/usr/bin/python3 <args>` with output to a log in `dir`; returns the
// exit status and puts the log in `log`.
int run_python(const TempDir& dir, const std::string& args, std::string& log) {
  const std::string log_path = dir.file("python.log");
  const std::string command = std::string(kPython) + " " + args + " > " + quoted(log_path) + " 2>&1";
  const int status = std::system(command.c_str());
  log = read_text(log_path);
  return status;
}

std::string script() { return quoted(std::string(LOOM_SOURCE_DIR) + "/tests/nn/torch_interop.py"); }

class TorchInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string log;
    if (run_python(dir_, "-c 'import torch'", log) != 0)
      GTEST_SKIP() << kPython << " cannot import torch (install python3-torch): " << log;
  }
  TempDir dir_;
};

TEST_F(TorchInterop, PyTorchLoadsALoomModelAndComputesTheSameOutput) {
  Generator gen(11);
  auto model = make_interop_model(gen);
  {  // batch-norm affine parameters off 1/0, running statistics off 0/1
    NoGradGuard no_grad;
    for (auto& [name, t] : model->named_parameters())
      if (t.dim() == 1) uniform_(t, 0.5, 1.5, gen);
    for (int i = 0; i < 2; ++i) (*model)(randn({4, 3, 8, 8}, gen));
  }
  const Tensor x = randn({2, 3, 8, 8}, gen);  // (N, 3, 8, 8)
  nn::save_model(dir_.file("model.safetensors"), *model);
  save_safetensors(dir_.file("input.safetensors"), {{"x", x}});

  std::string log;
  ASSERT_EQ(run_python(dir_,
                       script() + " load-and-run " + quoted(dir_.file("model.safetensors")) + " " +
                           quoted(dir_.file("input.safetensors")) + " " + quoted(dir_.file("output.safetensors")),
                       log),
            0)
      << log;
  const Tensor y_torch = load_safetensors(dir_.file("output.safetensors")).tensors.at("y");
  const Tensor y = eval_output(*model, x);
  ASSERT_EQ(y.shape(), y_torch.shape());
  expect_close(y, y_torch.to_vector<double>(), kAtol, kRtol, "PyTorch output of the loom model");

  // The comparison can fail: another init gives outputs far outside the tolerance.
  Generator other(12);
  auto unrelated = make_interop_model(other);
  const std::vector<double> a = eval_output(*unrelated, x).to_vector<double>(), b = y_torch.to_vector<double>();
  double largest = 0;
  for (size_t i = 0; i < a.size(); ++i) largest = std::max(largest, std::abs(a[i] - b[i]));
  EXPECT_GT(largest, 100 * (kAtol + kRtol));
}

TEST_F(TorchInterop, LoomLoadsAPyTorchStateDictStrictlyAndComputesTheSameOutput) {
  std::string log;
  ASSERT_EQ(run_python(dir_,
                       script() + " make-and-run 1234 " + quoted(dir_.file("model.safetensors")) + " " +
                           quoted(dir_.file("io.safetensors")),
                       log),
            0)
      << log;
  const SafeTensors torch_file = load_safetensors(dir_.file("model.safetensors"));
  EXPECT_EQ(torch_file.tensors.at("1.num_batches_tracked").dtype(), DType::Int64);

  Generator gen(99);
  auto model = make_interop_model(gen);
  const nn::LoadReport report = nn::load_model(dir_.file("model.safetensors"), *model);  // strict
  EXPECT_TRUE(report.complete());
  const auto state = nn::state_dict_map(*model);
  EXPECT_EQ(state.at("1.num_batches_tracked").item(), 2.0);
  EXPECT_EQ(state.at("4.num_batches_tracked").item(), 2.0);
  for (const auto& [name, t] : torch_file.tensors) expect_same_bits(state.at(name), t, name);

  const SafeTensors io = load_safetensors(dir_.file("io.safetensors"));
  const Tensor y = eval_output(*model, io.tensors.at("x"));
  ASSERT_EQ(y.shape(), io.tensors.at("y").shape());
  expect_close(y, io.tensors.at("y").to_vector<double>(), kAtol, kRtol, "loom output of the PyTorch model");
}

}  // namespace
