// train_test_util.h: helpers of the trainer tests: a fresh temporary folder,
// a file's bytes, running `loom train X` in-process, and comparing every
// tensor of two checkpoints bit for bit.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tensor/safetensors.h"
#include "trainers/settings.h"

namespace loom::train::test {

inline std::filesystem::path fresh_dir(const std::string& suite, const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / (suite + "_" + std::to_string(::getpid())) / name;
  std::filesystem::remove_all(dir);
  return dir;
}

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Parses `args` into `options` with `add_options` and runs `train`, as
// `loom train X args` would.
template <class Options, class Add, class Train>
std::filesystem::path run_trainer(Add add_options, Train train, const std::vector<std::string>& args) {
  CLI::App app;
  Options options;
  SettingsBinder binder(&app);
  add_options(binder, options);
  app.parse(std::vector<std::string>(args.rbegin(), args.rend()));
  return train(binder, options);
}

// Every tensor of checkpoint a equals b's bitwise; returns how many were compared.
inline int expect_same_tensors(const std::filesystem::path& a, const std::filesystem::path& b) {
  const SafeTensors fa = load_safetensors(a.string()), fb = load_safetensors(b.string());
  EXPECT_EQ(fa.tensors.size(), fb.tensors.size());
  int compared = 0;
  for (const auto& [name, ta] : fa.tensors) {
    if (!fb.tensors.count(name)) {
      ADD_FAILURE() << name << " missing";
      continue;
    }
    const Tensor& tb = fb.tensors.at(name);
    EXPECT_EQ(ta.shape(), tb.shape()) << name;
    EXPECT_EQ(ta.dtype(), tb.dtype()) << name;
    if (ta.shape() != tb.shape() || ta.dtype() != tb.dtype()) continue;
    EXPECT_EQ(0, std::memcmp(ta.raw_data(), tb.raw_data(), static_cast<size_t>(ta.numel()) * dtype_size(ta.dtype())))
        << name << " differs";
    ++compared;
  }
  return compared;
}

}  // namespace loom::train::test
