// fusion_loss.cpp: pix2pix's GAN + lambda L1 losses (see fusion_loss.h).
#include "models/fusion_loss.h"

#include "models/gan_loss.h"
#include "tensor/error.h"

namespace loom::models {
namespace {

void check_pair(const Tensor& fake, const Tensor& target, const char* op) {
  LOOM_CHECK(fake.shape() == target.shape(), op, ": G(x) and the target y must have the same shape, got ",
             shape_str(fake.shape()), " and ", shape_str(target.shape()));
}

}  // namespace

FusionGeneratorLoss fusion_generator_loss(PatchDiscriminator& D, const Tensor& input, const Tensor& fake,
                                          const Tensor& target, double lambda_l1) {
  check_pair(fake, target, "fusion_generator_loss");
  FusionGeneratorLoss loss;
  loss.gan = gan_bce(D.judge(input, fake), 1.0, DOutput::Logits);  // log D(x, G(x)) -> non-saturating
  loss.l1 = l1_loss(fake, target);                                 // |y - G(x)|_1, mean over elements
  loss.total = loss.gan + loss.l1 * lambda_l1;
  return loss;
}

FusionDiscriminatorLoss fusion_discriminator_loss(PatchDiscriminator& D, const Tensor& input, const Tensor& fake,
                                                  const Tensor& target) {
  check_pair(fake, target, "fusion_discriminator_loss");
  FusionDiscriminatorLoss loss;
  loss.fake =
      gan_bce(D.judge(input, fake.detach()), 0.0, DOutput::Logits);   // log(1 - D(x, G(x))), first (pix2pix order)
  loss.real = gan_bce(D.judge(input, target), 1.0, DOutput::Logits);  // log D(x, y)
  loss.total = (loss.real + loss.fake) * 0.5;
  return loss;
}

}  // namespace loom::models
