// pix2pix_parts.h: what the fusion generator (fusion.h) and the PatchGAN
// discriminator (patchgan.h) share, after Isola et al., "Image-to-Image
// Translation with Conditional Adversarial Networks" (CVPR 2017) and its
// PyTorch reference (junyanz/pytorch-CycleGAN-and-pix2pix, networks.py):
//   NormKind       BatchNorm2d (pix2pix's default, affine, running stats) or
//                  InstanceNorm2d (no affine, no running stats: PyTorch's
//                  get_norm_layer('instance'))
//   make_norm      one such layer for `features` channels
//   conv_bias      pix2pix's use_bias: convolutions carry a bias only before an
//                  instance norm (a batch norm's shift makes a bias redundant)
//   pix2pix_init_  init_weights(init_type='normal', gain=0.02): every Conv2d /
//                  ConvTranspose2d weight ~ N(0, 0.02^2), bias = 0; every affine
//                  BatchNorm2d weight ~ N(1, 0.02^2), bias = 0
#pragma once
#include "nn/nn.h"

namespace loom::models {

enum class NormKind { Batch, Instance };

nn::ModulePtr make_norm(NormKind norm, int64_t features);
bool conv_bias(NormKind norm);
const char* norm_name(NormKind norm);  // "batch" or "instance"
void pix2pix_init_(nn::Module& model, Generator& gen);

}  // namespace loom::models
