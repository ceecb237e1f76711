// conv_algo.h: the CUDA convolution algorithms (kernels/cuda/conv*.cu), which
// the conv ops choose among and which benchmarks and tests can force by name.
// conv_transpose2d is conv2d's backward-input with the roles of the shapes
// swapped, so each algorithm provides three passes: forward, backward-input
// (= transposed-conv forward) and backward-weight.
#pragma once
#include <string>

#include "kernels/cuda/gemm.h"
#include "kernels/options.h"
#include "tensor/tensor.h"

namespace loom::cuda::conv {

enum class Algo {
  Auto,          // per shape: Direct for tiny channel counts, else ImplicitGemm
  Im2colGemm,    // "im2col":   unfold into a buffer, then gemm::run (simple, memory-hungry)
  ImplicitGemm,  // "implicit": GEMM tiles that gather the unfolded operand on the fly (default)
  Direct,        // "direct":   one thread per output element (wins for tiny C and OC)
  Cudnn,         // "cudnn":    the vendor library, for comparison (LOOM_WITH_CUDNN builds)
};
const char* algo_name(Algo a);
// "auto", "im2col", "implicit", "direct", "cudnn"; throws listing the names otherwise.
Algo parse_algo(const std::string& name);

// The algorithm the conv ops use: set_algo() if called, else the environment
// variable LOOM_CONV=<name>, else Auto. Precision likewise: set_precision(),
// else LOOM_CONV_PRECISION=fp32|tf32|bf16, else FP32.
void set_algo(Algo a);
Algo current_algo();
void set_precision(gemm::Precision p);
gemm::Precision current_precision();

enum class Activation { None, ReLU, LeakyReLU, Tanh, Sigmoid };

// The three passes with the algorithm and precision forced (Auto resolves per
// shape). Shapes and errors as the conv ops (kernels/op_list.h). forward fuses
// bias and activation into the epilogue (slope: LeakyReLU's negative slope).
Tensor forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt, Algo algo,
               gemm::Precision precision = gemm::Precision::FP32, Activation act = Activation::None,
               double slope = 0.2);
Tensor backward_input(const Tensor& grad_out, const Tensor& weight, const Shape& input_shape,
                      const Conv2dOptions& opt, Algo algo, gemm::Precision precision = gemm::Precision::FP32);
Tensor backward_weight(const Tensor& grad_out, const Tensor& x, const Shape& weight_shape, const Conv2dOptions& opt,
                       Algo algo, gemm::Precision precision = gemm::Precision::FP32);

}  // namespace loom::cuda::conv
