// options.h: the geometry parameters of convolution, pooling and padding ops,
// shared by kernels/ops.h, the CPU and CUDA implementations and autograd.
#pragma once
#include <array>
#include <cstdint>

namespace loom {

// (height, width) pairs.
using Pair = std::array<int64_t, 2>;

struct Conv2dOptions {
  Pair stride{1, 1};
  Pair padding{0, 0};
  Pair dilation{1, 1};
  Pair output_padding{0, 0};  // conv_transpose2d only
};

struct Pool2dOptions {
  Pair kernel{2, 2};
  Pair stride{2, 2};
  Pair padding{0, 0};
  bool count_include_pad = true;  // avg_pool2d: PyTorch's default
};

enum class PadMode { Zero, Reflect };

// Padding of the last two dims: left, right, top, bottom (PyTorch's F.pad order).
using Pad2d = std::array<int64_t, 4>;

// ops::adam_update: one fused Adam / AdamW step over many parameters
// (formulas in nn/adam.h).
struct AdamUpdateOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool decoupled_weight_decay = false;  // true: AdamW (p <- p (1 - lr wd)); false: Adam (g <- g + wd p)
  bool amsgrad = false;
};

// ops::sgd_update: one fused SGD step over many parameters (formulas in nn/sgd.h).
struct SgdUpdateOptions {
  double lr = 1e-2;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

}  // namespace loom
