// fusion_loss.h: the losses of the defect-fusing stage: pix2pix's conditional
// GAN loss plus an L1 term (Isola et al. 2017, Eq. 1, 3, 4), which is the
// min-max of the multistage GAN's stage 2 (Liu et al., TIP 2020,
//   min_T max_{D_T}  E_y[log D_T(y)] + E_x[log(1 - D_T(T(x)))]
// ) with pix2pix's conditioning of D on the input x and its L1 term:
//
//   G* = arg min_G max_D  L_cGAN(G, D) + lambda L_L1(G),  lambda = 100     (pix2pix Eq. 4)
//   L_cGAN = E_{x,y}[log D(x, y)] + E_x[log(1 - D(x, G(x)))]                (Eq. 1)
//   L_L1   = E_{x,y}[ |y - G(x)|_1 ]                                          (Eq. 3)
//
// in the form PyTorch's pix2pix_model.py trains it (D outputs logits, one per
// patch; bce = BCEWithLogits averaged over all patches and the batch;
// l1 = mean absolute difference over all elements):
//   generator:      L_G = bce(D(x, G(x)), 1) + lambda l1(G(x), y)    (non-saturating)
//   discriminator:  L_D = 0.5 (bce(D(x, y), 1) + bce(D(x, G(x).detach()), 0))
// The 0.5 slows D relative to G (pix2pix Sec. 3.3).
//
// fusion_discriminator_loss runs D on the fake pair first, then on the real
// pair, in separate statements (batch norm's running statistics depend on
// the order; this is pix2pix's order). fusion_generator_loss backpropagates
// through D: D's parameters receive gradients too, so zero D's gradients
// before its own step (as nn::Optimizer::zero_grad does).
#pragma once
#include "models/patchgan.h"

namespace loom::models {

struct FusionGeneratorLoss {
  Tensor total;  // gan + lambda l1  (0-dim)
  Tensor gan;    // bce(D(x, G(x)), 1)
  Tensor l1;     // mean |G(x) - y| (before lambda)
};

struct FusionDiscriminatorLoss {
  Tensor total;  // 0.5 (real + fake)
  Tensor real;   // bce(D(x, y), 1)
  Tensor fake;   // bce(D(x, G(x).detach()), 0)
};

// input x (N, Ci, H, W), fake = G(x) and target y (N, Co, H, W).
FusionGeneratorLoss fusion_generator_loss(PatchDiscriminator& D, const Tensor& input, const Tensor& fake,
                                          const Tensor& target, double lambda_l1 = 100.0);
// fake is detached here: L_D does not reach G.
FusionDiscriminatorLoss fusion_discriminator_loss(PatchDiscriminator& D, const Tensor& input, const Tensor& fake,
                                                  const Tensor& target);

}  // namespace loom::models
