// init.h: parameter initialisers, in place and under no-grad, with the rules
// of torch.nn.init, drawing from a loom::Generator:
//   uniform_, normal_, constant_, zeros_, ones_
//   xavier_uniform_  U(-b, b),  b   = gain sqrt(6 / (fan_in + fan_out))
//   xavier_normal_   N(0, s^2), s   = gain sqrt(2 / (fan_in + fan_out))
//   kaiming_uniform_ U(-b, b),  b   = sqrt(3) gain / sqrt(fan)
//   kaiming_normal_  N(0, s^2), s   = gain / sqrt(fan)
// with fan = fan_in or fan_out (FanMode) and gain = calculate_gain(nonlinearity, a).
//
// Fans follow PyTorch: for a weight of shape (d0, d1, k...), receptive = prod(k),
// fan_in = d1 * receptive, fan_out = d0 * receptive. So a Linear weight
// (out, in) has fan_in = in; a Conv2d weight (out, in, kH, kW) has fan_in =
// in kH kW; and a ConvTranspose2d weight (in, out, kH, kW) has "fan_in" =
// out kH kW, exactly as PyTorch computes it.
//
// dcgan_init_ is the DCGAN paper's rule (Radford et al. 2016, PyTorch's
// dcgan example): every Conv2d/ConvTranspose2d weight N(0, 0.02^2), every
// BatchNorm2d weight N(1, 0.02^2) and bias 0.
#pragma once
#include <cstdint>

#include "nn/module.h"
#include "tensor/random.h"

namespace loom::nn {

namespace init {

enum class FanMode { FanIn, FanOut };
enum class Nonlinearity { Linear, Conv, Sigmoid, Tanh, ReLU, LeakyReLU, SELU };

struct Fans {
  int64_t fan_in = 0;
  int64_t fan_out = 0;
};
// Throws for tensors with fewer than 2 dims (PyTorch's rule).
Fans calculate_fan_in_and_fan_out(const Tensor& t);

// Linear, Conv, Sigmoid: 1;  Tanh: 5/3;  ReLU: sqrt(2);
// LeakyReLU: sqrt(2 / (1 + slope^2));  SELU: 3/4.
double calculate_gain(Nonlinearity nonlinearity, double negative_slope = 0.01);

// The defaults of torch.nn.init.kaiming_*_: a = 0, fan_in, leaky_relu.
struct KaimingOptions {
  double a = 0.0;  // the negative slope of the rectifier after this layer (LeakyReLU only)
  FanMode mode = FanMode::FanIn;
  Nonlinearity nonlinearity = Nonlinearity::LeakyReLU;
};

Tensor& uniform_(Tensor& t, double lo = 0.0, double hi = 1.0, Generator& gen = default_generator());
Tensor& normal_(Tensor& t, double mean = 0.0, double std = 1.0, Generator& gen = default_generator());
Tensor& constant_(Tensor& t, double value);
Tensor& zeros_(Tensor& t);
Tensor& ones_(Tensor& t);
Tensor& xavier_uniform_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());
Tensor& xavier_normal_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());
Tensor& kaiming_uniform_(Tensor& t, const KaimingOptions& options = {}, Generator& gen = default_generator());
Tensor& kaiming_normal_(Tensor& t, const KaimingOptions& options = {}, Generator& gen = default_generator());

// PyTorch's reset_parameters of Linear, Conv2d and ConvTranspose2d:
//   weight: kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in))
//   bias:   U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the weight's fan_in (if defined)
void default_affine_init_(Tensor& weight, Tensor& bias, Generator& gen);

}  // namespace init

// The DCGAN rule (see the top of this file) on `model` and every module below it.
void dcgan_init_(Module& model, Generator& gen = default_generator());

}  // namespace loom::nn
