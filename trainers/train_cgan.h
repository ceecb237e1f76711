// train_cgan.h: the trainer behind `loom train cgan`, stage 1 of the multistage
// GAN (models/cgan_gram.h): G learns defect crops conditioned on the Gram
// texture descriptor of a defect-free patch of the same fabric.
//
// Data (defect_scenes.h, CganDefectPool; or --data, an MVTec AD category):
// each sample is a defect crop x (S x S, centred on the defect) and a
// defect-free patch c of the same fabric (S x S, another window of the fabric
// without the defect), both in [-1, 1]. The condition is g = E(c), E the fixed
// texture extractor (models/texture_features.h): random and seeded by default,
// VGG19 with --vgg19 FILE; which one is logged and kept in settings.json as
// "extractor".
//
// One step, with z ~ N(0, I) (B, nz):
//   g = E(c)  (no gradient: E is fixed and c is data)         (B, gram_dim)
//   fake = G(z, g)                                             (B, 3, S, S)
//   D:  errD = BCE_logits(D(x, g), 1) + BCE_logits(D(fake.detach(), g), 0)
//       (two statements, real first), backward, [clip], optD.step()
//   G:  errG = BCE_logits(D(fake, g), 1)    non-saturating, through the updated D
//       backward, [clip], optG.step()
// Adam for both, lr 2e-4, betas (0.5, 0.999) by default.
//
// Logged: lossD, lossG, D_x, D_G_z, acc_real, acc_fake, acc (gan_metrics.h), lr.
// Sample sheets: one row per fixed condition patch: the patch itself, then G(z_j, g)
// for the fixed z_1..z_k (the same z in every row, so a column shows how the
// condition alone changes the defect), G in eval mode. The condition patches
// and z are extra tensors "sample_conditions" and "fixed_z" of every checkpoint.
//
// Random streams (Philox): initialisation Generator(seed); per-step noise
// (seed, 2^62), in the checkpoint as "noise"; fixed z (seed, 2^61); the random
// extractor's weights Generator(seed); the data (seed) through the pool and the
// loader's shuffle.
#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include "data/loader.h"
#include "models/cgan_gram.h"
#include "models/texture_features.h"
#include "nn/adam.h"
#include "nn/checkpoint.h"
#include "trainers/trainer.h"

namespace loom::train {

struct CganTrainOptions {
  CommonOptions common;         // lr 2e-4, batch 64 by default
  int64_t image = 64;           // S: 4 * 2^k (32, 64, 128)
  int64_t nz = 100;
  int64_t width = 64;           // ngf = ndf
  int64_t condition_dim = 128;  // length of the projected condition c
  double beta1 = 0.5, beta2 = 0.999;
  std::string vgg19;            // safetensors with torchvision's VGG19; empty: the random extractor
  int64_t sample_rows = 8;      // condition patches on a sample sheet
  int64_t sample_columns = 7;   // G(z, g) per condition (fixed z)
  int64_t fabric_images = 1024;  // the procedural pool (without --data)
};

void add_cgan_options(SettingsBinder& binder, CganTrainOptions& options);
void check_cgan_options(const CganTrainOptions& options);

class CganTrainer {
 public:
  explicit CganTrainer(const CganTrainOptions& options);
  Metrics step(int64_t step);
  void save_samples(const std::filesystem::path& png);
  // Models "G", "D", optimizers "G", "D", generator "noise", extras "fixed_z", "sample_conditions".
  nn::TrainingCheckpoint& state() { return state_; }
  LoopHooks hooks();
  const std::string& data_description() const { return data_description_; }
  const std::string& extractor_description() const { return extractor_->description(); }
  // The fixed texture extractor E: condition patches (N, 3, S, S) -> g (N, gram_dim).
  models::TextureFeatures& extractor() { return *extractor_; }

  models::CganGenerator& generator() { return *G_; }
  models::CganDiscriminator& discriminator() { return *D_; }
  // The next batch: defect crops x and condition patches c, each (B, 3, S, S) in [-1, 1].
  std::pair<Tensor, Tensor> next_batch();

 private:
  CganTrainOptions options_;
  std::shared_ptr<models::TextureFeatures> extractor_;
  std::shared_ptr<models::CganGenerator> G_;
  std::shared_ptr<models::CganDiscriminator> D_;
  std::unique_ptr<nn::Adam> optG_, optD_;
  Generator noise_;
  std::shared_ptr<data::Dataset> pool_;
  std::unique_ptr<data::DataLoader> loader_;
  std::string data_description_;
  nn::TrainingCheckpoint state_;
};

std::filesystem::path train_cgan(SettingsBinder& binder, CganTrainOptions& options);

}  // namespace loom::train
