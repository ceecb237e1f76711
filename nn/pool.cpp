// pool.cpp: the pooling layers of pool.h.
#include "nn/pool.h"

#include "autograd/functions.h"

namespace loom::nn {

namespace {

void check_window(const char* layer, int64_t kernel, const std::optional<int64_t>& stride, int64_t padding) {
  LOOM_CHECK(kernel > 0, layer, ": kernel must be positive, got ", kernel);
  LOOM_CHECK(!stride || *stride > 0, layer, ": stride must be positive, got ", stride.value_or(0));
  LOOM_CHECK(padding >= 0 && 2 * padding <= kernel, layer, ": padding must be in [0, kernel / 2], got ", padding,
             " for kernel ", kernel);
}

// "kernel_size=2, stride=2, padding=0"
std::string window_repr(int64_t kernel, const std::optional<int64_t>& stride, int64_t padding) {
  return "kernel_size=" + std::to_string(kernel) + ", stride=" + std::to_string(stride.value_or(kernel)) +
         ", padding=" + std::to_string(padding);
}

}  // namespace

MaxPool2d::MaxPool2d(const Options& options) : options(options) {
  check_window("MaxPool2d", options.kernel, options.stride, options.padding);
}

Tensor MaxPool2d::forward(const Tensor& x) {
  check_input_dims(*this, x, 4, "(N, C, H, W)");
  return max_pool2d(x, options.kernel, options.stride.value_or(options.kernel), options.padding);
}

std::string MaxPool2d::extra_repr() const { return window_repr(options.kernel, options.stride, options.padding); }

AvgPool2d::AvgPool2d(const Options& options) : options(options) {
  check_window("AvgPool2d", options.kernel, options.stride, options.padding);
}

Tensor AvgPool2d::forward(const Tensor& x) {
  check_input_dims(*this, x, 4, "(N, C, H, W)");
  return avg_pool2d(x, options.kernel, options.stride.value_or(options.kernel), options.padding,
                    options.count_include_pad);
}

std::string AvgPool2d::extra_repr() const {
  std::string s = window_repr(options.kernel, options.stride, options.padding);
  if (!options.count_include_pad) s += ", count_include_pad=false";
  return s;
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) {
  check_input_dims(*this, x, 4, "(N, C, H, W)");
  return adaptive_avg_pool2d(x, output_size);
}

}  // namespace loom::nn
