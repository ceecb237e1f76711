// dcgan.h: the classic DCGAN generator and discriminator (Radford, Metz and
// Chintala 2016, as in PyTorch's examples/dcgan), as nn::Sequential networks.
//
// For an image of S x S pixels, S = 4 * 2^k (k >= 1; 32, 64 and 128 are the
// sizes loom uses, k = 3, 4, 5), nc channels (1 or 3), noise size nz and
// widths ngf, ndf:
//
//   G: (N, nz, 1, 1) -> (N, nc, S, S)
//     ConvT(nz, ngf 2^(k-1), 4, 1, 0) BN ReLU               1x1 -> 4x4
//     ConvT(c, c/2, 4, 2, 1) BN ReLU, k-1 times, c -> ngf   4x4 -> S/2 x S/2
//     ConvT(ngf, nc, 4, 2, 1) Tanh                          -> S x S, in [-1, 1]
//   D: (N, nc, S, S) -> (N, 1, 1, 1)
//     Conv(nc, ndf, 4, 2, 1) LeakyReLU(0.2)                 no BN on the first layer
//     Conv(c, 2c, 4, 2, 1) BN LeakyReLU(0.2), k-1 times     S/2 -> 4x4, ndf -> ndf 2^(k-1)
//     Conv(ndf 2^(k-1), 1, 4, 1, 0)                         4x4 -> 1x1
//     Sigmoid (DOutput::Probability), or nothing (DOutput::Logits)
// No convolution has a bias (BN follows, or it is the paper's choice).
//
// Names: each network is ONE plain nn::Sequential, so its state_dict names are
// the torch nn.Sequential indices: G "0.weight", "1.weight", "1.bias",
// "1.running_mean", "1.running_var", "1.num_batches_tracked", "3.weight", ...;
// D "0.weight", "2.weight", "3.weight", ... These are the names of the golden
// files (G.0.weight). PyTorch's examples/dcgan wraps the same Sequential in a
// module attribute `main`, so its checkpoints (netG_epoch_N.pth) name the
// tensors "main.0.weight": load them with nn::select_prefix(state, "main.").
//
// Initialisation: every layer first draws PyTorch's default init from `gen`
// (the order torch builds the layers in), then nn::dcgan_init_ redraws every
// conv weight from N(0, 0.02^2) and every BN weight from N(1, 0.02^2), BN bias
// 0, as the example's weights_init does.
//
// Training (gan_loss.h): errD = BCE(D(x), 1) + BCE(D(G(z)), 0) and the
// non-saturating errG = BCE(D(G(z)), 1), Adam lr 2e-4, betas (0.5, 0.999).
#pragma once
#include <cstdint>
#include <memory>

#include "models/gan_loss.h"
#include "nn/container.h"
#include "tensor/random.h"

namespace loom::models {

struct DcganOptions {
  int64_t nz = 100;                         // noise channels of G's input (N, nz, 1, 1)
  int64_t ngf = 64;                         // G's width: channels before the last layer
  int64_t ndf = 64;                         // D's width: channels after the first layer
  int64_t channels = 3;                     // nc: image channels, 1 or 3 (any >= 1 works)
  int64_t image_size = 64;                  // S = 4 * 2^k, k >= 1
  DOutput d_output = DOutput::Probability;  // D ends in Sigmoid, or returns logits
  double bn_eps = 1e-5;                     // every BatchNorm2d's eps
  double bn_momentum = 0.1;                 // and momentum
};

// k with image_size = 4 * 2^k, k >= 1; throws naming the size otherwise.
int64_t dcgan_stages(int64_t image_size);

// Throws, naming the field, unless every size is positive and image_size is 4 * 2^k.
void check_dcgan_options(const DcganOptions& options);

// The generator: (N, nz, 1, 1) -> (N, channels, S, S), DCGAN-initialised.
std::shared_ptr<nn::Sequential> dcgan_generator(const DcganOptions& options, Generator& gen);

// The discriminator: (N, channels, S, S) -> (N, 1, 1, 1) probabilities or logits, DCGAN-initialised.
std::shared_ptr<nn::Sequential> dcgan_discriminator(const DcganOptions& options, Generator& gen);

// ---- building blocks (cgan_gram builds its networks from them) ----

// Appends G's layers for an input of (N, in_channels, 1, 1) to `net`, from the
// first ConvT to the Tanh. Uses options.ngf, channels, image_size and BN settings.
void append_dcgan_generator(nn::Sequential& net, int64_t in_channels, const DcganOptions& options, Generator& gen);

// Appends D's feature layers (the first Conv up to the last LeakyReLU) to `net`:
// (N, channels, S, S) -> (N, ndf 2^(k-1), 4, 4). Returns ndf 2^(k-1).
int64_t append_dcgan_discriminator_features(nn::Sequential& net, const DcganOptions& options, Generator& gen);

}  // namespace loom::models
