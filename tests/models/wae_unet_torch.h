// wae_unet_torch.h: what test_wae and test_unet share to compare a loom model
// with its PyTorch restatement (tests/models/wae_unet_torch.py): perturb the
// 1-dim state (so batch norm's modes differ and a misplaced bias shows), save
// the state dict and the input, run the script, read its outputs back.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "autograd/grad_mode.h"
#include "nn/init.h"
#include "nn/module.h"
#include "tensor/safetensors.h"
#include "tests/models/gan_test_util.h"

namespace loom::testing {

// Every 1-dim tensor off its default: weights and running_var in U(0.5, 1.5),
// biases and running_mean in U(-0.3, 0.3).
inline void perturb_vectors(nn::Module& m, Generator& gen) {
  NoGradGuard no_grad;
  for (auto& [name, t] : m.state_dict()) {
    if (t.dim() != 1) continue;
    Tensor v = t;
    const bool scale = name.ends_with("weight") || name.ends_with("running_var");
    nn::init::uniform_(v, scale ? 0.5 : -0.3, scale ? 1.5 : 0.3, gen);
  }
}

// Runs `wae_unet_torch.py <args> MODELS IO OUT` on model's state dict and x;
// returns the script's outputs, or an empty map after GTEST_SKIP when
// /usr/bin/python3 has no torch (the caller returns when it is empty).
inline std::map<std::string, Tensor> run_torch_restatement(const nn::Module& model, const Tensor& x,
                                                           const std::string& args) {
  TempDir dir;
  std::map<std::string, Tensor> state;
  for (const auto& [name, t] : model.state_dict()) state[name] = t;
  save_safetensors(dir.file("models.safetensors"), state);
  save_safetensors(dir.file("io.safetensors"), {{"x", x}});
  const std::string script = std::string(LOOM_SOURCE_DIR) + "/tests/models/wae_unet_torch.py";
  std::string log;
  const int status = run_python("'" + script + "' " + args + " '" + dir.file("models.safetensors") + "' '" +
                                    dir.file("io.safetensors") + "' '" + dir.file("out.safetensors") + "'",
                                log);
  if (status != 0 && log.find("No module named 'torch'") != std::string::npos) {
    [&] { GTEST_SKIP() << "/usr/bin/python3 cannot import torch: " << log; }();
    return {};
  }
  EXPECT_EQ(status, 0) << log;
  if (!std::filesystem::exists(dir.file("out.safetensors"))) return {};
  return load_safetensors(dir.file("out.safetensors")).tensors;
}

// |a - b| <= atol + rtol |b| element-wise (NaN never passes).
inline void expect_close_to(const Tensor& actual, const Tensor& expected, double atol, double rtol,
                            const std::string& what) {
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  const std::vector<double> a = actual.to_vector<double>(), b = expected.to_vector<double>();
  int64_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::abs(a[i] - b[i]) <= atol + rtol * std::abs(b[i])) continue;
    if (bad++ < 5) ADD_FAILURE() << what << ": element " << i << " is " << a[i] << ", PyTorch " << b[i];
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << a.size() << " elements differ";
}

}  // namespace loom::testing
