// cgan_gram.h: stage 1 of the multistage GAN (Liu et al., "Multistage GAN for
// Fabric Defect Detection", IEEE TIP 2020): a conditional DCGAN whose
// condition is the Gram-matrix texture descriptor of a defect-free patch of
// the fabric (texture_features.h), so that G learns defects that match a
// given texture, p(defect | texture).
//
// The condition. g = [triu(G_1), triu(G_2), ...] (N, gram_dim) from
// TextureFeatures, G_l = psi_l psi_l^T / (C_l H_l W_l)         (paper: G^phi(x))
// Each network maps g to the condition vector c (N, condition_dim) with its
// own GramProjection:
//   c = p / sqrt(mean_j p_j^2 + 1e-8)                        (each sample's c has unit RMS)
//   p = W norm(g) + b                                        "condition.linear" (nn::Linear)
//   norm(g) = (g - mean_batch(g)) / sqrt(var_batch(g) + eps)  "condition.norm" (BatchNorm2d, no affine)
// The standardisation of each Gram entry is loom's addition, not the paper's:
// the entries are small (about mean(psi^2) / C) and differ little from one
// texture to the next, so a Linear on the raw g barely sees the condition (in
// the tests, D could hardly tell matched from mismatched pairs). As with any
// batch norm, training needs batches of 2 or more, and eval mode (sampling)
// uses the running statistics. The unit RMS of c is loom's too: c then weighs
// in G's input [z, c] like z does (unit variance per entry). Without it W grew
// under Adam until c's mean square was about 7 after 1000 steps (image 32, width
// 32, batch 32), G leaned on c and hardly on z, and samples for one condition
// were all alike (eval-mode variance over z 0.0009 against 0.13 across
// conditions; with the unit RMS 0.003, after the same 1000 steps).
//
// Generator G(z, g): (N, nz) or (N, nz, 1, 1) noise and (N, gram_dim) -> (N, nc, S, S)
//   c = condition(g)
//   h = [z, c] along channels at 1x1                         (N, nz + condition_dim, 1, 1)
//   x' = main(h): the DCGAN generator with nz + condition_dim input channels
//        (ConvT 4/1/0 BN ReLU, ConvT 4/2/1 BN ReLU ..., ConvT 4/2/1 Tanh; dcgan.h)
//                                                            (paper: G: (z, G^phi) -> x')
// Discriminator D(x, g), by projection (Miyato and Koyama, "cGANs with
// Projection Discriminator", ICLR 2018, eq. 3: f(x, y) = y^T V phi(x) + psi(phi(x))):
//   phi(x) = features(x): DCGAN D's layers up to the last LeakyReLU (N, Cf, 4, 4),
//            Cf = ndf 2^(k-1)
//   psi(phi) = head(phi): Conv(Cf, 1, 4, 1, 0), the DCGAN output layer   (N, 1, 1, 1)
//   c = condition(g);  v = embed(c) = V c  (nn::Linear, no bias)           (N, Cf)
//   D(x, g) = psi(phi(x)) + <v, mean_{h,w} phi(x)>                         logits (N, 1, 1, 1)
// The projection term is Miyato's y^T V phi(x) with y the learned condition c
// and phi pooled by a global MEAN over the 4x4 positions, where Miyato pools by
// a sum. Their D is spectrally normalised, which keeps phi small; loom's DCGAN D
// is not, and with the sum over 16 positions the projection term dominated D's
// logit: at image 32, width 32, batch 32 the logits
// reached +-15 within 50 steps (lossG 6-16, lossD spiking to 3-7 while
// D_x ~ 0.9), and G's samples stayed flat and colourless after 500 steps. With
// the mean the two terms start at similar scales (lossD 0.6-1.5, lossG 1-4.5
// over the same 500 steps) and G's samples take the condition's colour and weave.
// D returns logits (no Sigmoid): the losses use BCE with logits (DOutput::Logits).
// Projection rather than concatenation: it enters the condition as an inner
// product with D's features instead of a tiled input map, which Miyato and
// Koyama found to train more stably and which costs one small Linear.
//
// The game (paper, stage 1):
//   min_G max_D  E_x[log D(x, G^phi)] + E_z[log(1 - D(G(z, G^phi), G^phi))]
// with x a defect image and G^phi the Gram descriptor of a defect-free patch
// of the same fabric; trained in the non-saturating form of gan_loss.h:
//   errD = BCE_logits(D(x, g), 1) + BCE_logits(D(G(z, g).detach(), g), 0)   gan_d_loss
//   errG = BCE_logits(D(G(z, g), g), 1) = -mean log sigmoid D(G(z, g), g)   gan_g_loss
// (compute D(real) and D(fake) in separate statements; see gan_loss.h).
//
// Names: G has "condition.linear.weight", "condition.linear.bias",
// "condition.norm.running_mean", ..., "main.0.weight", ...; D has
// "condition.*", "features.0.weight", "features.3.running_mean", ...,
// "head.weight", "embed.weight". Convolutions and batch norms get the DCGAN
// init (nn::dcgan_init_); the Linear layers keep PyTorch's default init.
#pragma once
#include <cstdint>
#include <memory>

#include "models/dcgan.h"
#include "nn/conv.h"
#include "nn/linear.h"
#include "nn/norm.h"

namespace loom::models {

struct CganGramOptions {
  int64_t nz = 100;
  int64_t ngf = 64;
  int64_t ndf = 64;
  int64_t channels = 3;         // nc of the images
  int64_t image_size = 64;      // 4 * 2^k (32, 64, 128)
  int64_t gram_dim = 0;         // length of g: TextureFeatures::condition_dim()
  int64_t condition_dim = 128;  // length of c
  double bn_eps = 1e-5;
  double bn_momentum = 0.1;
};

// The DCGAN options with the same sizes (nz of the noise alone).
DcganOptions dcgan_options(const CganGramOptions& options);

// g (N, gram_dim) -> c = unit_rms(W norm(g) + b) (N, condition_dim).
class GramProjection : public nn::Module {
 public:
  GramProjection(int64_t gram_dim, int64_t condition_dim, double bn_eps, double bn_momentum, Generator& gen);
  Tensor forward(const Tensor& g) override;
  std::string type_name() const override { return "GramProjection"; }
  std::string extra_repr() const override;

  std::shared_ptr<nn::BatchNorm2d> norm;  // over g viewed as (N, gram_dim, 1, 1), affine = false
  std::shared_ptr<nn::Linear> linear;     // (N, gram_dim) -> (N, condition_dim)
};

class CganGenerator : public nn::Module {
 public:
  CganGenerator(const CganGramOptions& options, Generator& gen);
  // z (N, nz) or (N, nz, 1, 1), g (N, gram_dim) -> (N, channels, S, S) in [-1, 1].
  Tensor forward(const Tensor& z, const Tensor& g);
  // The packed input [z | g] (N, nz + gram_dim), split into forward(z, g) (for summary()).
  Tensor forward(const Tensor& packed) override;
  std::string type_name() const override { return "CganGenerator"; }
  std::string extra_repr() const override;

  const CganGramOptions options;
  std::shared_ptr<GramProjection> condition;  // g -> c: (N, gram_dim) -> (N, condition_dim)
  std::shared_ptr<nn::Sequential> main;       // [z, c] (N, nz + condition_dim, 1, 1) -> image
};

class CganDiscriminator : public nn::Module {
 public:
  CganDiscriminator(const CganGramOptions& options, Generator& gen);
  // x (N, channels, S, S), g (N, gram_dim) -> logits (N, 1, 1, 1).
  Tensor forward(const Tensor& x, const Tensor& g);
  // Throws: D needs the condition (call forward(x, g)).
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "CganDiscriminator"; }
  std::string extra_repr() const override;

  const CganGramOptions options;
  std::shared_ptr<GramProjection> condition;  // g -> c
  std::shared_ptr<nn::Sequential> features;   // phi: image -> (N, Cf, 4, 4)
  std::shared_ptr<nn::Conv2d> head;           // psi: (N, Cf, 4, 4) -> (N, 1, 1, 1)
  std::shared_ptr<nn::Linear> embed;          // V: c -> (N, Cf), no bias
};

}  // namespace loom::models
