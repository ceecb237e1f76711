// gan_metrics.cpp: discriminator statistics for the GAN trainers (see gan_metrics.h).
#include "trainers/gan_metrics.h"

#include <algorithm>
#include <vector>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"

namespace loom::train {
namespace {

std::vector<double> probabilities(const Tensor& d, models::DOutput output) {
  NoGradGuard no_grad;
  return (output == models::DOutput::Logits ? sigmoid(d) : d).contiguous().to_vector<double>();
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

double share(const std::vector<double>& v, bool above_half) {
  const auto n = std::count_if(v.begin(), v.end(), [&](double p) { return above_half ? p > 0.5 : p < 0.5; });
  return v.empty() ? 0 : static_cast<double>(n) / static_cast<double>(v.size());
}

}  // namespace

Metrics discriminator_metrics(const Tensor& d_real, const Tensor& d_fake, models::DOutput output) {
  const std::vector<double> p_real = probabilities(d_real, output), p_fake = probabilities(d_fake, output);
  const double acc_real = share(p_real, true), acc_fake = share(p_fake, false);
  return {{"D_x", mean_of(p_real)}, {"D_G_z", mean_of(p_fake)}, {"acc_real", acc_real},
          {"acc_fake", acc_fake},   {"acc", (acc_real + acc_fake) / 2}};
}

}  // namespace loom::train
