// gan_loss.h: the adversarial losses of the GANs in models/ (dcgan,
// cgan_gram), in the binary cross-entropy form the DCGAN reference loop uses.
//
// The game (Goodfellow et al. 2014, eq. 1; for cgan_gram, Liu et al. 2020,
// stage 1, with c the Gram condition inside both D terms):
//   min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]
// D ascends V, which is the same as descending the BCE with labels 1 / 0:
//   gan_d_loss = BCE(D(x), 1) + BCE(D(G(z)), 0)
//              = -mean log D(x) - mean log(1 - D(G(z)))
// G in the non-saturating form (Goodfellow et al. 2014, section 3): instead of
// descending log(1 - D(G(z))), whose gradient vanishes while D wins, G descends
//   gan_g_loss = BCE(D(G(z)), 1) = -mean log D(G(z)).
//
// Both take D's OUTPUTS, not D: the caller decides the order of the forward
// passes. That order matters with batch norm in training mode (each forward
// updates the running statistics), and C++ does not fix the evaluation order of
// the operands of `+`, so compute d_real and d_fake in separate statements:
//   Tensor d_real = D(real);                     // first: running stats see real
//   Tensor d_fake = D(fake.detach());
//   Tensor errD = models::gan_d_loss(d_real, d_fake, DOutput::Probability);
//   ...
//   Tensor errG = models::gan_g_loss(D(fake), DOutput::Probability);
//
// DOutput says what D returns: probabilities (a Sigmoid last layer; bce clamps
// each log at -100 as PyTorch's BCELoss does) or logits (bce_with_logits, the
// numerically stable form, which cgan_gram's discriminator uses).
#pragma once
#include "tensor/tensor.h"

namespace loom::models {

enum class DOutput { Probability, Logits };

// "probability" or "logits", for logs and errors.
const char* doutput_name(DOutput output);

// BCE(d, target) for every element of d (any shape), mean reduction.
Tensor gan_bce(const Tensor& d, double target, DOutput output);

// BCE(D(x), 1) + BCE(D(G(z)), 0): what D descends. d_real and d_fake are D's
// outputs for a real and a generated batch (any shapes).
Tensor gan_d_loss(const Tensor& d_real, const Tensor& d_fake, DOutput output);

// BCE(D(G(z)), 1) = -mean log D(G(z)): the non-saturating generator loss.
Tensor gan_g_loss(const Tensor& d_fake, DOutput output);

}  // namespace loom::models
