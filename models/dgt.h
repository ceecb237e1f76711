// dgt.h: the input encoding and the reconstruction losses of the DGT
// (defect generation and transfer) generator of "Open-Set Fabric Defect
// Detection With Defect Generation and Transfer" (IEEE TIM 2025; equations as
// summarised in the project notes, ../shared/seeds/000_*.txt, "DGT module").
// The generator itself is the U-Net of fusion.h with in_channels = S + 1 + C
// (encoder-decoder with skip connections, as the paper describes it).
//
// Encoding of sample i, with S defect classes, label s_i, binary defect mask
// M (N, 1, H, W) and a defect-free ("normal") image N_img (N, C, H, W):
//   E_fore = y_i expanded to H x W, y_i the one-hot row of s_i  (S channels)
//   E_back = 1                                                  (1 channel)
//   Ê_fore = M ⊗ E_fore,   Ê_back = M ⊗ E_back                  (mask injection, Hadamard)
//   Ẽ_fore = w_d (G(k_d) ⊙ Ê_fore)                               (smoothed foreground code)
//   Ẽ_back = w_n (G(k_n) ⊙ Ê_back)                               (smoothed background code)
//   X̂     = [Ẽ_fore, Ẽ_back, N_img]   (N, S + 1 + C, H, W)      (generator input)
// G(k) ⊙ is a Gaussian blur of standard deviation k (gaussian_blur.h); the
// "stochastic" filter and weights draw k_d, k_n ~ U[sigma_min, sigma_max)
// and w_d, w_n ~ U[weight_min, weight_max) per sample. The notes give no
// ranges; the defaults here (k in [1, 3) px, w in [0.5, 1)) are loom's choice.
// Weights stay in [0, 1] so that the blends below are convex.
//
// Because E_fore is one-hot, the foreground code summed over its channels is
// the smoothed, weighted mask  F = sum_s Ẽ_fore = w_d G(k_d) ⊙ M  (N, 1, H, W),
// and likewise B = Ẽ_back (N, 1, H, W). With the generated image X = X_fake,
// the real defective image D and the normal image N_img (all (N, C, H, W)),
// the pixel losses are (notes: L^con_fore, L^con_back, L_mix):
//   L_fore = | F ⊗ (X - D) |_1              ("|X - D ⊗ Ẽ_fore|_1"; inside the defect)
//   L_back = | (1 - F) ⊗ (X - N_img) |_1    ("|X - N ⊗ (1 - Ẽ_fore)|_1"; outside it)
//   L_mix  = | X - T_mix |_1,  T_mix = (D ⊗ F + N_img ⊗ (1 - F)) ⊗ (1 - B) + N_img ⊗ B
// The notes write the first two without the weight on X; taken literally they
// would pull X to 0 outside (resp. inside) the defect, against each other, so
// loom reads them as the region-restricted L1 they are described as (the
// foreground region in D, the background region in N_img). L_mix is used as
// written. |.|_1 is the mean absolute value over all N C H W elements (like
// nn::L1Loss). The paper's total L_G = a1 L_fore + a2 L_back + a3 L_mix + the
// segmentation and classification terms of its other modules (not here).
#pragma once
#include <vector>

#include "autograd/functions.h"
#include "tensor/random.h"

namespace loom::models {

struct DgtSmoothing {        // one sample's draw of the stochastic filter and weights
  double sigma_fore = 1.0;   // k_d
  double sigma_back = 1.0;   // k_n
  double weight_fore = 1.0;  // w_d in [0, 1]
  double weight_back = 1.0;  // w_n in [0, 1]
};

struct DgtEncodingOptions {
  int64_t classes = 1;                        // S
  double sigma_min = 1.0, sigma_max = 3.0;    // k ~ U[sigma_min, sigma_max)
  double weight_min = 0.5, weight_max = 1.0;  // w ~ U[weight_min, weight_max), within [0, 1]
};

struct DgtEncoding {
  Tensor input = {};                         // X̂ (N, S + 1 + C, H, W) = cat(Ẽ_fore, Ẽ_back, N_img)
  Tensor foreground = {};                    // Ẽ_fore (N, S, H, W)
  Tensor background = {};                    // Ẽ_back (N, 1, H, W)
  Tensor foreground_weight = {};             // F = sum_s Ẽ_fore (N, 1, H, W)
  std::vector<DgtSmoothing> smoothing = {};  // the per-sample draw used
};

struct DgtLosses {
  Tensor fore;  // L_fore (0-dim)
  Tensor back;  // L_back
  Tensor mix;   // L_mix
};

// normal (N, C, H, W), mask (N, 1, H, W) in [0, 1], labels[n] in [0, classes),
// smoothing: one entry for all samples or one per sample.
DgtEncoding dgt_encode(const Tensor& normal, const Tensor& mask, const std::vector<int64_t>& labels, int64_t classes,
                       const std::vector<DgtSmoothing>& smoothing);
// Draws each sample's smoothing from `gen` (k_d, then k_n, then w_d, then w_n,
// N numbers each), then encodes.
DgtEncoding dgt_encode_random(const Tensor& normal, const Tensor& mask, const std::vector<int64_t>& labels,
                              const DgtEncodingOptions& options, Generator& gen);

// T_mix = (D F + N_img (1 - F)) (1 - B) + N_img B: the composite L_mix aims at.
Tensor dgt_mix_target(const Tensor& defective, const Tensor& normal, const Tensor& foreground_weight,
                      const Tensor& background);
// fake = X (the generator's output), defective = D, normal = N_img (N, C, H, W).
DgtLosses dgt_losses(const Tensor& fake, const Tensor& defective, const Tensor& normal, const DgtEncoding& encoding);

}  // namespace loom::models
