// checkpoint_test_util.h: what the checkpoint and PyTorch-interop tests share:
// a scratch directory removed afterwards, bit-exact tensor comparison,
// snapshots of a model's state, and the message of an expected loom::Error.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>

#include "nn/module.h"
#include "tensor/error.h"

namespace loom::testing {

// A fresh directory under the system temp dir, named by pid and a counter,
// removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("loom_ckpt_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Same shape, dtype and bytes (so -0.0 differs from 0.0, and NaN can match NaN).
inline bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor da = a.detach().to(Device::cpu()).contiguous(), db = b.detach().to(Device::cpu()).contiguous();
  return std::memcmp(da.raw_data(), db.raw_data(), static_cast<size_t>(da.numel()) * dtype_size(da.dtype())) == 0;
}

inline void expect_same_bits(const Tensor& a, const Tensor& b, const std::string& what) {
  EXPECT_TRUE(same_bits(a, b)) << what << ": tensors differ (shapes " << shape_str(a.shape()) << " and "
                               << shape_str(b.shape()) << ")";
}

// Deep copies of a model's state dict, by name.
inline std::map<std::string, Tensor> snapshot(const nn::Module& model) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : model.state_dict()) out.emplace(name, t.detach().clone());
  return out;
}

// Every tensor of `model` still has the bits of `before`.
inline void expect_unchanged(const nn::Module& model, const std::map<std::string, Tensor>& before,
                             const std::string& what) {
  for (const auto& [name, t] : model.state_dict()) {
    const auto it = before.find(name);
    ASSERT_NE(it, before.end()) << what << ": " << name;
    EXPECT_TRUE(same_bits(t, it->second)) << what << ": '" << name << "' changed";
  }
}

// Runs f, expects a loom::Error, returns its message ("" and a failure if none).
template <class F>
std::string error_message(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a loom::Error";
  return "";
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace loom::testing
