// golden_support.h: what the nn golden tests (test_golden_*.cpp) share: where
// the PyTorch reference cases are, which of them have a given op, strict
// parsing of their string metadata with a record of the keys read, and the
// relative error used to compare with a reference.
//
// The directory: the environment variable LOOM_GOLDEN_DIR, else
// ../shared/golden relative to the project root (LOOM_SOURCE_DIR), as the op
// runner tests/golden/golden_main.cpp finds it. Format: ../shared/golden/README.md.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tensor/error.h"
#include "tensor/safetensors.h"
#include "tensor/tensor.h"

#ifndef LOOM_SOURCE_DIR
#error "LOOM_SOURCE_DIR must be defined (the project root, for ../shared/golden)"
#endif

namespace loom::golden_test {

inline std::filesystem::path golden_dir() {
  if (const char* env = std::getenv("LOOM_GOLDEN_DIR"); env && *env) return env;
  return std::filesystem::path(LOOM_SOURCE_DIR) / ".." / "shared" / "golden";
}

struct GoldenCase {
  std::string name;  // file name, e.g. "058_adam_dcgan.safetensors"
  SafeTensors data;
};

// Every *.safetensors file of golden_dir() whose metadata "op" is in `ops`, by
// file name. Throws when the directory does not exist or a file does not load
// (its op cannot be known, so the run cannot say it checked every case).
inline std::vector<GoldenCase> cases_with_op(const std::set<std::string>& ops) {
  const std::filesystem::path dir = golden_dir();
  LOOM_CHECK(std::filesystem::is_directory(dir), "golden: no directory '", dir.string(),
             "' (set LOOM_GOLDEN_DIR to the reference cases)");
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".safetensors") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::vector<GoldenCase> cases;
  for (const auto& file : files) {
    SafeTensors data = load_safetensors(file.string());
    auto op = data.metadata.find("op");
    if (op != data.metadata.end() && ops.count(op->second))
      cases.push_back({file.filename().string(), std::move(data)});
  }
  return cases;
}

// ||got - ref|| / ||ref|| over all elements, in double (||got - ref|| when
// ref is all zeros). NaN when anything is not finite, so no tolerance passes.
inline double relative_error(const Tensor& got, const Tensor& ref) {
  LOOM_CHECK(got.shape() == ref.shape(), "shape ", shape_str(got.shape()), " but the reference has ",
             shape_str(ref.shape()));
  const std::vector<double> g = got.to_vector<double>(), r = ref.to_vector<double>();
  double diff2 = 0, ref2 = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    diff2 += (g[i] - r[i]) * (g[i] - r[i]);
    ref2 += r[i] * r[i];
  }
  if (!std::isfinite(diff2) || !std::isfinite(ref2)) return std::numeric_limits<double>::quiet_NaN();
  return ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
}

// A case's string metadata with strict typed getters: a value that does not
// parse completely throws naming the key. Every key read is remembered;
// unused() lists the others, which a test must treat as not understood.
class Metadata {
 public:
  explicit Metadata(std::map<std::string, std::string> values) : values_(std::move(values)) {}

  bool has(const std::string& key) const { return values_.count(key) > 0; }
  const std::string& str(const std::string& key) {
    auto it = values_.find(key);
    LOOM_CHECK(it != values_.end(), "metadata has no '", key, "'");
    used_.insert(key);
    return it->second;
  }
  double real(const std::string& key) { return parse_real(key, str(key)); }
  double real(const std::string& key, double fallback) { return has(key) ? real(key) : fallback; }
  int64_t integer(const std::string& key) {
    const std::string& s = str(key);
    size_t end = 0;
    int64_t v = 0;
    try {
      v = std::stoll(s, &end);
    } catch (const std::exception&) {
      end = 0;
    }
    LOOM_CHECK(end == s.size() && !s.empty(), "metadata '", key, "' = '", s, "' is not an integer");
    return v;
  }
  bool flag(const std::string& key, bool fallback) {
    if (!has(key)) return fallback;
    const std::string& s = str(key);
    if (s == "0" || s == "false" || s == "False") return false;
    if (s == "1" || s == "true" || s == "True") return true;
    detail::throw_error("metadata '", key, "' = '", s, "' is not a boolean (0, 1, true, false)");
  }
  std::vector<std::string> unused() const {
    std::vector<std::string> keys;
    for (const auto& [key, value] : values_)
      if (!used_.count(key)) keys.push_back(key);
    return keys;
  }

  // A whole string as a double ("2e-4", "0.5"); throws naming `what`.
  static double parse_real(const std::string& what, const std::string& s) {
    size_t end = 0;
    double v = 0;
    try {
      v = std::stod(s, &end);
    } catch (const std::exception&) {
      end = 0;
    }
    LOOM_CHECK(end == s.size() && !s.empty(), "metadata '", what, "' = '", s, "' is not a number");
    return v;
  }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> used_;
};

inline std::string sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2e", v);
  return buf;
}

}  // namespace loom::golden_test
