// gan_test_util.h: what the GAN model tests (test_dcgan, test_cgan_gram)
// share: a fixed tiny batch of procedural images, running /usr/bin/python3
// (torch 1.13) and statistics of a tensor's elements.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <numbers>
#include <string>
#include <vector>

#include "tensor/tensor.h"
#include "tests/nn/checkpoint_test_util.h"

namespace loom::testing {

// (n, channels, size, size) in [-0.8, 0.8]: image i is a plane wave
// 0.8 sin(2 pi (f_i h + g_i w) / size + phase_ic), a different frequency and
// direction per image and a different phase per channel. No RNG: a formula.
inline Tensor wave_images(int64_t n, int64_t channels, int64_t size) {
  std::vector<float> v;
  v.reserve(static_cast<size_t>(n * channels * size * size));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t h = 0; h < size; ++h)
        for (int64_t w = 0; w < size; ++w) {
          const double f = 1 + i % 4, g = i / 4 + (i % 2), phase = 0.7 * c + 0.3 * i;
          v.push_back(static_cast<float>(0.8 * std::sin(2 * std::numbers::pi * (f * h + g * w) / size + phase)));
        }
  return Tensor::from_vector(v, {n, channels, size, size});
}

constexpr const char* kPython = "/usr/bin/python3";

// Runs `/usr/bin/python3 <args>`; returns the exit status, stdout+stderr in `output`.
inline int run_python(const std::string& args, std::string& output) {
  TempDir dir;
  const std::string log = dir.file("python.log");
  const int status = std::system((std::string(kPython) + " " + args + " > '" + log + "' 2>&1").c_str());
  std::ifstream f(log);
  output.assign(std::istreambuf_iterator<char>(f), {});
  return status;
}

inline bool torch_available(std::string& why) { return run_python("-c 'import torch'", why) == 0; }

struct ElementStats {
  double mean = 0, std = 0;   // std: population standard deviation
  double within_one_std = 0;  // fraction of elements with |x - mean| <= std
};

inline ElementStats element_stats(const Tensor& t) {
  const std::vector<double> v = t.to_vector<double>();
  ElementStats s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.std += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(s.std / static_cast<double>(v.size()));
  for (double x : v) s.within_one_std += std::abs(x - s.mean) <= s.std ? 1 : 0;
  s.within_one_std /= static_cast<double>(v.size());
  return s;
}

}  // namespace loom::testing
