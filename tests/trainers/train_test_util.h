// train_test_util.h: helpers of the trainer tests: a fresh temporary folder,
// a file's bytes and lines, a run's metrics.csv, running `loom train X`
// in-process, and comparing two checkpoints (every tensor bit for bit, chosen
// metadata) and two run folders' metrics and sample sheets.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tensor/safetensors.h"
#include "trainers/progress.h"
#include "trainers/run_trainer.h"
#include "trainers/settings.h"

namespace loom::train::test {

// `loom train X args` in this process (trainers/run_trainer.h).
using loom::train::run_trainer;

// <temp>/<suite>_<pid>/<name>, removed if it exists (the run creates it).
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

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The header line of <run_dir>/metrics.csv ("" when there is none).
inline std::string metrics_header(const std::filesystem::path& run_dir) {
  const auto lines = lines_of(read_bytes(run_dir / "metrics.csv"));
  return lines.empty() ? std::string() : lines.front();
}

// The rows of <run_dir>/metrics.csv without the header.
inline std::vector<std::string> metric_rows(const std::filesystem::path& run_dir) {
  auto lines = lines_of(read_bytes(run_dir / "metrics.csv"));
  if (!lines.empty()) lines.erase(lines.begin());
  return lines;
}

// The options `loom train X args` would train with (X's `add_options`).
template <class Options, class Add>
Options parse_options(Add add_options, const std::vector<std::string>& args) {
  CLI::App app;
  Options options;
  SettingsBinder binder(&app);
  add_options(binder, options);
  app.parse(std::vector<std::string>(args.rbegin(), args.rend()));
  return options;
}

// A step's metrics by name.
inline std::map<std::string, double> metrics_map(const Metrics& metrics) { return {metrics.begin(), metrics.end()}; }

// `front` followed by `back`.
inline std::vector<std::string> concat(std::vector<std::string> front, const std::vector<std::string>& back) {
  front.insert(front.end(), back.begin(), back.end());
  return front;
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
    const size_t bytes = static_cast<size_t>(ta.numel()) * dtype_size(ta.dtype());
    EXPECT_EQ(0, std::memcmp(ta.contiguous().raw_data(), tb.contiguous().raw_data(), bytes)) << name << " differs";
    ++compared;
  }
  return compared;
}

// The metadata entries `keys` of checkpoints a and b are equal (and present).
inline void expect_same_metadata(const std::filesystem::path& a, const std::filesystem::path& b,
                                 std::initializer_list<const char*> keys) {
  const SafeTensors fa = load_safetensors(a.string()), fb = load_safetensors(b.string());
  for (const char* key : keys) {
    if (!fa.metadata.count(key) || !fb.metadata.count(key)) {
      ADD_FAILURE() << key << " missing";
      continue;
    }
    EXPECT_EQ(fa.metadata.at(key), fb.metadata.at(key)) << key;
  }
}

// Two run folders wrote the same metrics.csv and the same sample sheet `sheet`
// (relative to the folder, e.g. "samples/step_0000006.png"), byte for byte.
inline void expect_same_run_files(const std::filesystem::path& whole, const std::filesystem::path& split,
                                  const std::string& sheet) {
  EXPECT_EQ(read_bytes(whole / "metrics.csv"), read_bytes(split / "metrics.csv"));
  EXPECT_FALSE(read_bytes(whole / sheet).empty()) << whole / sheet;
  EXPECT_EQ(read_bytes(whole / sheet), read_bytes(split / sheet)) << sheet;
}

}  // namespace loom::train::test
