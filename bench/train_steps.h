// train_steps.h: one training step of each of loom's five models (models/),
// written as the trainers write it, for bench_train_steps.cpp. Each StepBench
// owns (through its step closure) its networks, optimizers and a fixed input
// batch; step() runs forward, backward and the optimizer step(s) once and
// returns the loss (read back with item(), which also waits for a CUDA device).
// On a CUDA device every network is moved there (->to(device)) before its
// optimizer is made, and the batches and noise are created there.
//
// Sizes (the trainers' defaults where a trainer exists, else chosen here for a
// 2-core CPU; bench_train_steps --quick uses batch 2-8 instead):
//   dcgan      64x64x3, nz 100, ngf = ndf = 64, batch 64 (train_dcgan.h defaults)
//   cgan_gram  64x64x3, nz 100, ngf = ndf = 64, condition 128, random Gram features
//              (16/32/64 channels, kernels 3/5/7; g computed each step without grad), batch 64
//   fusion     128x128x3 -> 3, pix2pix U-Net depth 7 ("unet_128") width 64, batch norm,
//              dropout; 70x70 PatchGAN width 64 on cat(x, y); lambda_L1 100, batch 8
//   wae        64x64x3, latent 64, width 64, Sigmoid output, MMD-IMQ, batch 64
//   unet       128x128x3 -> 1, width 64, depth 4, transposed-conv up, BCE + Dice, batch 4
// Optimizers: Adam; GANs lr 2e-4, betas (0.5, 0.999), one step for D then one for G.
//
// The steps (each as in the trainer / the model's docs):
//   GAN (dcgan, cgan_gram): fake = G(z[, g]); D: zero_grad, errD = BCE(D(x), 1) +
//     BCE(D(fake.detach()), 0), backward, step; G: zero_grad, errG = BCE(D(fake), 1)
//     through the updated D, backward (D's parameters get gradients too), step.
//   fusion: fake = G(x); D: zero_grad, L_D = fusion_discriminator_loss, backward, step;
//     G: zero_grad, L_G = fusion_generator_loss (GAN + 100 L1), backward, step.
//   wae: z = Q(x), x_hat = G(z), L = wae_loss(x, x_hat, z) (fresh prior sample), one step.
//   unet: L = segmentation_loss(unet.run(x), masks) (BCE + Dice), one step.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "models/cgan_gram.h"
#include "models/dcgan.h"
#include "models/fusion.h"
#include "models/fusion_loss.h"
#include "models/gan_loss.h"
#include "models/patchgan.h"
#include "models/texture_features.h"
#include "models/unet.h"
#include "models/wae.h"
#include "nn/adam.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace loom::bench {

struct StepBench {
  std::string model;             // "dcgan", ...
  std::string size;              // human-readable size, e.g. "64x64x3, nz 100, width 64"
  int64_t batch = 0;             // images per step
  int64_t parameters = 0;        // trainable elements over all networks (checked against the peer)
  std::function<double()> step;  // one training step; returns the (total) loss
};

// The five models, in the order dcgan, cgan_gram, fusion, wae, unet.
inline std::vector<std::string> train_step_models() { return {"dcgan", "cgan_gram", "fusion", "wae", "unet"}; }

// The full-size batch of a model (see the table above).
inline int64_t default_batch(const std::string& model) {
  if (model == "fusion") return 8;
  if (model == "unet") return 4;
  return 64;
}

namespace detail {

inline nn::AdamOptions gan_adam() { return {.lr = 2e-4, .beta1 = 0.5, .beta2 = 0.999}; }

// Everything one step needs lives in a shared struct the step closure holds.
struct DcganState {
  models::DcganOptions options;
  std::shared_ptr<nn::Sequential> G, D;
  std::unique_ptr<nn::Adam> optG, optD;
  Generator gen{1};
  Tensor real;  // (B, 3, 64, 64) in [-1, 1]
};

inline StepBench dcgan(int64_t batch, Device device) {
  auto s = std::make_shared<DcganState>();
  s->G = models::dcgan_generator(s->options, s->gen);
  s->D = models::dcgan_discriminator(s->options, s->gen);
  s->G->to(device);
  s->D->to(device);
  s->optG = std::make_unique<nn::Adam>(s->G->named_parameters(), gan_adam());
  s->optD = std::make_unique<nn::Adam>(s->D->named_parameters(), gan_adam());
  const int64_t S = s->options.image_size;
  s->real = uniform({batch, s->options.channels, S, S}, -1.0, 1.0, s->gen, DType::Float32, device);
  StepBench b{"dcgan", "64x64x3, nz 100, width 64", batch,
              s->G->parameter_count() + s->D->parameter_count(), nullptr};
  b.step = [s, batch, device] {
    const models::DOutput out = s->options.d_output;
    const Tensor z = randn({batch, s->options.nz, 1, 1}, s->gen, DType::Float32, device);  // (B, nz, 1, 1)
    const Tensor fake = (*s->G)(z);                                                          // (B, 3, S, S)
    s->optD->zero_grad();
    const Tensor d_real = (*s->D)(s->real);  // D(x) first: batch-norm statistics
    const Tensor d_fake = (*s->D)(fake.detach());
    const Tensor errD = models::gan_d_loss(d_real, d_fake, out);
    errD.backward();
    s->optD->step();
    s->optG->zero_grad();
    const Tensor errG = models::gan_g_loss((*s->D)(fake), out);  // through the updated D
    errG.backward();
    s->optG->step();
    return errD.item() + errG.item();
  };
  return b;
}

struct CganState {
  std::shared_ptr<models::TextureFeatures> features;
  std::shared_ptr<models::CganGenerator> G;
  std::shared_ptr<models::CganDiscriminator> D;
  std::unique_ptr<nn::Adam> optG, optD;
  Generator gen{1};
  Tensor real, patch;  // (B, 3, 64, 64) in [-1, 1]: defect images, defect-free patches
};

inline StepBench cgan_gram(int64_t batch, Device device) {
  auto s = std::make_shared<CganState>();
  s->features = models::TextureFeatures::random({});
  models::CganGramOptions o;
  o.gram_dim = s->features->condition_dim();
  s->G = std::make_shared<models::CganGenerator>(o, s->gen);
  s->D = std::make_shared<models::CganDiscriminator>(o, s->gen);
  s->features->to(device);
  s->G->to(device);
  s->D->to(device);
  s->optG = std::make_unique<nn::Adam>(s->G->named_parameters(), gan_adam());
  s->optD = std::make_unique<nn::Adam>(s->D->named_parameters(), gan_adam());
  s->real = uniform({batch, o.channels, o.image_size, o.image_size}, -1.0, 1.0, s->gen, DType::Float32, device);
  s->patch = uniform({batch, o.channels, o.image_size, o.image_size}, -1.0, 1.0, s->gen, DType::Float32, device);
  StepBench b{"cgan_gram", "64x64x3, nz 100, width 64, cond 128, random Gram features", batch,
              s->G->parameter_count() + s->D->parameter_count(), nullptr};
  b.step = [s, batch, device, nz = o.nz] {
    Tensor g;  // the Gram condition of the defect-free patches (B, gram_dim), fixed features: no gradient
    {
      NoGradGuard no_grad;
      g = (*s->features)(s->patch);
    }
    const Tensor z = randn({batch, nz}, s->gen, DType::Float32, device);  // (B, nz)
    const Tensor fake = s->G->forward(z, g);                              // (B, 3, S, S)
    s->optD->zero_grad();
    const Tensor d_real = s->D->forward(s->real, g);
    const Tensor d_fake = s->D->forward(fake.detach(), g);
    const Tensor errD = models::gan_d_loss(d_real, d_fake, models::DOutput::Logits);
    errD.backward();
    s->optD->step();
    s->optG->zero_grad();
    const Tensor errG = models::gan_g_loss(s->D->forward(fake, g), models::DOutput::Logits);
    errG.backward();
    s->optG->step();
    return errD.item() + errG.item();
  };
  return b;
}

struct FusionState {
  Generator gen{1};
  std::shared_ptr<models::FusionGenerator> G;
  std::shared_ptr<models::PatchDiscriminator> D;
  std::unique_ptr<nn::Adam> optG, optD;
  Tensor input, target;  // (B, 3, 128, 128) in [-1, 1]: the imperfect input x and the real y
};

inline StepBench fusion(int64_t batch, Device device) {
  auto s = std::make_shared<FusionState>();
  constexpr int64_t kImage = 128;
  s->G = std::make_shared<models::FusionGenerator>(models::FusionGenerator::Options{.depth = 7}, s->gen);
  s->D = std::make_shared<models::PatchDiscriminator>(models::PatchDiscriminator::Options{}, s->gen);
  s->G->set_dropout_generator(s->gen);
  s->G->to(device);
  s->D->to(device);
  s->optG = std::make_unique<nn::Adam>(s->G->named_parameters(), gan_adam());
  s->optD = std::make_unique<nn::Adam>(s->D->named_parameters(), gan_adam());
  s->input = uniform({batch, 3, kImage, kImage}, -1.0, 1.0, s->gen, DType::Float32, device);
  s->target = uniform({batch, 3, kImage, kImage}, -1.0, 1.0, s->gen, DType::Float32, device);
  StepBench b{"fusion", "128x128x3, U-Net depth 7 width 64, PatchGAN 70x70 width 64", batch,
              s->G->parameter_count() + s->D->parameter_count(), nullptr};
  b.step = [s] {
    const Tensor fake = (*s->G)(s->input);  // T(x): (B, 3, H, W)
    s->optD->zero_grad();
    const models::FusionDiscriminatorLoss lossD = models::fusion_discriminator_loss(*s->D, s->input, fake, s->target);
    lossD.total.backward();
    s->optD->step();
    s->optG->zero_grad();
    const models::FusionGeneratorLoss lossG = models::fusion_generator_loss(*s->D, s->input, fake, s->target, 100.0);
    lossG.total.backward();
    s->optG->step();
    return lossD.total.item() + lossG.total.item();
  };
  return b;
}

struct WaeState {
  Generator gen{1};
  std::shared_ptr<models::Wae> model;
  std::unique_ptr<nn::Adam> opt;
  Tensor x;  // (B, 3, 64, 64) in [0, 1]
};

inline StepBench wae(int64_t batch, Device device) {
  auto s = std::make_shared<WaeState>();
  s->model = std::make_shared<models::Wae>(models::WaeOptions{}, s->gen);
  s->model->to(device);
  s->opt = std::make_unique<nn::Adam>(s->model->named_parameters(), nn::AdamOptions{.lr = 1e-3});
  s->x = uniform({batch, 3, 64, 64}, 0.0, 1.0, s->gen, DType::Float32, device);
  StepBench b{"wae", "64x64x3, latent 64, width 64", batch, s->model->parameter_count(), nullptr};
  b.step = [s] {
    s->opt->zero_grad();
    const Tensor z = s->model->encode(s->x);      // (B, d)
    const Tensor x_hat = s->model->decode(z);     // (B, 3, S, S)
    const models::WaeLoss loss = models::wae_loss(s->x, x_hat, z, s->gen);
    loss.total.backward();
    s->opt->step();
    return loss.total.item();
  };
  return b;
}

struct UnetState {
  Generator gen{1};
  std::shared_ptr<models::UNet> model;
  std::unique_ptr<nn::Adam> opt;
  Tensor x, masks;  // (B, 3, 128, 128) in [0, 1]; (B, 1, 128, 128) of 0/1
};

inline StepBench unet(int64_t batch, Device device) {
  auto s = std::make_shared<UnetState>();
  constexpr int64_t kImage = 128;
  s->model = std::make_shared<models::UNet>(models::UNetOptions{}, s->gen);
  s->model->to(device);
  s->opt = std::make_unique<nn::Adam>(s->model->named_parameters(), nn::AdamOptions{.lr = 1e-3});
  s->x = uniform({batch, 3, kImage, kImage}, 0.0, 1.0, s->gen, DType::Float32, device);
  s->masks = bernoulli({batch, 1, kImage, kImage}, 0.1, s->gen, DType::Float32, device);
  StepBench b{"unet", "128x128x3 -> 1, width 64, depth 4", batch, s->model->parameter_count(), nullptr};
  b.step = [s] {
    s->opt->zero_grad();
    const models::SegmentationLoss loss = models::segmentation_loss(s->model->run(s->x), s->masks);
    loss.total.backward();
    s->opt->step();
    return loss.total.item();
  };
  return b;
}

}  // namespace detail

// Builds one model's step at its default size with `batch` images on `device`
// (seeded: Generator(1) for the weights, inputs and noise).
inline StepBench make_train_step(const std::string& model, int64_t batch, Device device) {
  LOOM_CHECK(batch >= 2, "train step bench: batch must be at least 2 (batch norm in training mode), got ", batch);
  if (model == "dcgan") return detail::dcgan(batch, device);
  if (model == "cgan_gram") return detail::cgan_gram(batch, device);
  if (model == "fusion") return detail::fusion(batch, device);
  if (model == "wae") return detail::wae(batch, device);
  if (model == "unet") return detail::unet(batch, device);
  ::loom::detail::throw_error("train step bench: unknown model '", model, "' (dcgan, cgan_gram, fusion, wae, unet)");
}

}  // namespace loom::bench
