// gan_metrics.h: what the GAN trainers (dcgan, cgan, fusion) log about their
// discriminator, from its outputs on a real and a generated batch:
//   D_x = mean D(x), D_G_z = mean D(G(z)) (probabilities; logits go through a sigmoid)
//   acc_real = share of D(x) > 0.5, acc_fake = share of D(G(z)) < 0.5, acc = their mean
// (0.5 is chance). For a PatchGAN every patch's decision counts once.
#pragma once
#include <cstdint>

#include "models/gan_loss.h"
#include "tensor/random.h"
#include "trainers/progress.h"

namespace loom::train {

// The metrics above, in the order D_x, D_G_z, acc_real, acc_fake, acc.
Metrics discriminator_metrics(const Tensor& d_real, const Tensor& d_fake, models::DOutput output);

}  // namespace loom::train
