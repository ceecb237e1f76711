// loss.cpp: the loss objects of loss.h, each one call of the function it names.
#include "nn/loss.h"

namespace loom::nn {

Tensor BCELoss::operator()(const Tensor& prediction, const Tensor& target) const {
  return bce(prediction, target, reduction);
}

Tensor BCEWithLogitsLoss::operator()(const Tensor& logits, const Tensor& target) const {
  return bce_with_logits(logits, target, reduction);
}

Tensor L1Loss::operator()(const Tensor& prediction, const Tensor& target) const {
  return l1_loss(prediction, target, reduction);
}

Tensor MSELoss::operator()(const Tensor& prediction, const Tensor& target) const {
  return mse_loss(prediction, target, reduction);
}

Tensor CrossEntropyLoss::operator()(const Tensor& logits, const Tensor& target) const {
  return cross_entropy(logits, target, reduction);
}

Tensor DiceLoss::operator()(const Tensor& logits, const Tensor& target) const {
  return dice_loss(logits, target, eps);
}

Tensor SSIMLoss::operator()(const Tensor& prediction, const Tensor& target) const {
  return 1.0 - ssim(prediction, target, window, sigma, c1, c2);
}

Tensor GramLoss::operator()(const Tensor& prediction, const Tensor& target) const {
  return mse_loss(gram(prediction), gram(target), reduction);
}

Tensor MMDIMQLoss::operator()(const Tensor& z, const Tensor& prior) const {
  return mmd_imq(z, prior, sigma2, scales);
}

}  // namespace loom::nn
