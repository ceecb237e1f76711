// init.cpp: the initialisers of init.h. Each writes into the tensor's storage
// in place (every handle sees the new values) under no-grad.
#include "nn/init.h"

#include <cmath>
#include <vector>

#include "autograd/grad_mode.h"
#include "nn/conv.h"
#include "nn/norm.h"
#include "tensor/error.h"

namespace loom::nn {

namespace init {

Fans calculate_fan_in_and_fan_out(const Tensor& t) {
  LOOM_CHECK(t.defined() && t.dim() >= 2,
             "calculate_fan_in_and_fan_out: needs a tensor with at least 2 dims (out, in, *), got ",
             t.defined() ? shape_str(t.shape()) : std::string("an undefined tensor"));
  int64_t receptive = 1;  // prod of the kernel dims
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

double calculate_gain(Nonlinearity nonlinearity, double negative_slope) {
  switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Conv:
    case Nonlinearity::Sigmoid: return 1.0;
    case Nonlinearity::Tanh: return 5.0 / 3.0;
    case Nonlinearity::ReLU: return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU: return std::sqrt(2.0 / (1.0 + negative_slope * negative_slope));
    case Nonlinearity::SELU: return 3.0 / 4.0;
  }
  return 1.0;
}

namespace {

void check_floating(const Tensor& t, const char* op) {
  LOOM_CHECK(t.defined(), "init::", op, ": the tensor is undefined");
  LOOM_CHECK(is_floating(t.dtype()), "init::", op, ": needs a floating tensor, got ", dtype_name(t.dtype()));
}

// gain / sqrt(fan): the standard deviation of both Kaiming initialisers.
double kaiming_std(const Tensor& t, const KaimingOptions& o, const char* op) {
  check_floating(t, op);
  const Fans fans = calculate_fan_in_and_fan_out(t);
  const int64_t fan = o.mode == FanMode::FanIn ? fans.fan_in : fans.fan_out;
  LOOM_CHECK(fan > 0, "init::", op, ": fan is 0 for a tensor of shape ", shape_str(t.shape()));
  return calculate_gain(o.nonlinearity, o.a) / std::sqrt(static_cast<double>(fan));
}

// gain sqrt(2 / (fan_in + fan_out)): the standard deviation of both Xavier initialisers.
double xavier_std(const Tensor& t, double gain, const char* op) {
  check_floating(t, op);
  const Fans fans = calculate_fan_in_and_fan_out(t);
  LOOM_CHECK(fans.fan_in + fans.fan_out > 0, "init::", op, ": empty tensor of shape ", shape_str(t.shape()));
  return gain * std::sqrt(2.0 / static_cast<double>(fans.fan_in + fans.fan_out));
}

}  // namespace

Tensor& uniform_(Tensor& t, double lo, double hi, Generator& gen) {
  check_floating(t, "uniform_");
  NoGradGuard no_grad;
  loom::uniform_(t, lo, hi, gen);
  return t;
}

Tensor& normal_(Tensor& t, double mean, double std, Generator& gen) {
  check_floating(t, "normal_");
  NoGradGuard no_grad;
  loom::normal_(t, mean, std, gen);
  return t;
}

Tensor& constant_(Tensor& t, double value) {
  LOOM_CHECK(t.defined(), "init::constant_: the tensor is undefined");
  NoGradGuard no_grad;
  t.fill_(value);
  return t;
}

Tensor& zeros_(Tensor& t) { return constant_(t, 0.0); }
Tensor& ones_(Tensor& t) { return constant_(t, 1.0); }

// U(-b, b) has standard deviation b / sqrt(3), so b = sqrt(3) std.
Tensor& xavier_uniform_(Tensor& t, double gain, Generator& gen) {
  const double bound = std::sqrt(3.0) * xavier_std(t, gain, "xavier_uniform_");
  return init::uniform_(t, -bound, bound, gen);
}

Tensor& xavier_normal_(Tensor& t, double gain, Generator& gen) {
  return init::normal_(t, 0.0, xavier_std(t, gain, "xavier_normal_"), gen);
}

Tensor& kaiming_uniform_(Tensor& t, const KaimingOptions& options, Generator& gen) {
  const double bound = std::sqrt(3.0) * kaiming_std(t, options, "kaiming_uniform_");
  return init::uniform_(t, -bound, bound, gen);
}

Tensor& kaiming_normal_(Tensor& t, const KaimingOptions& options, Generator& gen) {
  return init::normal_(t, 0.0, kaiming_std(t, options, "kaiming_normal_"), gen);
}

void default_affine_init_(Tensor& weight, Tensor& bias, Generator& gen) {
  kaiming_uniform_(weight, {.a = std::sqrt(5.0)}, gen);
  if (!bias.defined()) return;
  const int64_t fan_in = calculate_fan_in_and_fan_out(weight).fan_in;
  const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
  init::uniform_(bias, -bound, bound, gen);
}

}  // namespace init

void dcgan_init_(Module& model, Generator& gen) {
  std::vector<Module*> modules{&model};
  for (auto& [path, m] : model.named_modules()) modules.push_back(m);
  for (Module* m : modules) {
    if (auto* conv = dynamic_cast<Conv2d*>(m)) {
      init::normal_(conv->weight, 0.0, 0.02, gen);
    } else if (auto* deconv = dynamic_cast<ConvTranspose2d*>(m)) {
      init::normal_(deconv->weight, 0.0, 0.02, gen);
    } else if (auto* bn = dynamic_cast<BatchNorm2d*>(m); bn != nullptr && bn->weight.defined()) {
      init::normal_(bn->weight, 1.0, 0.02, gen);
      init::zeros_(bn->bias);
    }
  }
}

}  // namespace loom::nn
