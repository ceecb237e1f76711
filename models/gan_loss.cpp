// gan_loss.cpp: the BCE forms of the GAN losses (see gan_loss.h for the math).
#include "models/gan_loss.h"

#include "autograd/functions.h"

namespace loom::models {

const char* doutput_name(DOutput output) { return output == DOutput::Probability ? "probability" : "logits"; }

Tensor gan_bce(const Tensor& d, double target, DOutput output) {
  const Tensor labels = Tensor::full(d.shape(), target, d.dtype(), d.device());  // same shape as D's output
  return output == DOutput::Probability ? bce(d, labels) : bce_with_logits(d, labels);
}

Tensor gan_d_loss(const Tensor& d_real, const Tensor& d_fake, DOutput output) {
  const Tensor real_term = gan_bce(d_real, 1.0, output);  // -mean log D(x)
  const Tensor fake_term = gan_bce(d_fake, 0.0, output);  // -mean log(1 - D(G(z)))
  return real_term + fake_term;
}

Tensor gan_g_loss(const Tensor& d_fake, DOutput output) {
  return gan_bce(d_fake, 1.0, output);  // -mean log D(G(z))
}

}  // namespace loom::models
