// train_dcgan.h: the DCGAN trainer behind `loom train dcgan`, the seed loop of
// PyTorch's examples/dcgan on loom's models (models/dcgan.h, models/gan_loss.h).
//
// One step, on a batch x of real images in [-1, 1] and z ~ N(0, I) of (B, nz, 1, 1):
//   fake = G(z)                                      G runs forward once
//   D:  errD = BCE(D(x), 1) + BCE(D(fake.detach()), 0)   (D(x) first, then D(fake):
//       two statements, so batch norm's running statistics see them in that order)
//       one backward, [clip], optD.step()
//   G:  errG = BCE(D(fake), 1)                       the non-saturating loss, through the updated D
//       backward, [clip], optG.step()
// Adam for both, lr 2e-4, betas (0.5, 0.999) by default.
//
// Logged per step: lossD, lossG, D_x = mean D(x), D_G_z = mean D(G(z)) (before
// D's update, PyTorch's D_G_z1), and D's accuracy: acc_real = share of D(x) > 0.5,
// acc_fake = share of D(G(z)) < 0.5, acc = their mean (0.5 is chance).
// Sample sheets: G(fixed_z) in eval mode (running statistics, so drawing them
// changes nothing), ceil(sqrt(n)) images wide; fixed_z is drawn once and kept in every
// checkpoint (extra tensor "fixed_z").
//
// Random streams (Philox): the initialisation Generator(seed); the per-step
// noise z, Generator (seed, offset 2^62), in the checkpoint as "noise"; fixed_z,
// (seed, offset 2^61); the data, ImageSource (seed).
#pragma once
#include <filesystem>
#include <memory>

#include "models/dcgan.h"
#include "nn/adam.h"
#include "nn/checkpoint.h"
#include "trainers/image_source.h"
#include "trainers/trainer.h"

namespace loom::train {

struct DcganTrainOptions {
  CommonOptions common;        // lr 2e-4, batch 64 by default
  int64_t image = 64;          // S: 4 * 2^k (32, 64, 128)
  int64_t channels = 3;        // 1 or 3
  int64_t nz = 100;
  int64_t width = 64;          // ngf = ndf
  double beta1 = 0.5, beta2 = 0.999;
  bool logits = false;         // D ends without Sigmoid; BCE with logits
  int64_t samples = 64;        // images on a sample sheet (the size of fixed_z)
  int64_t fabric_images = 2048;  // the procedural fabric pool (without --data)
};

// The dcgan options on top of the common ones (add_common_options included).
void add_dcgan_options(SettingsBinder& binder, DcganTrainOptions& options);

class DcganTrainer {
 public:
  explicit DcganTrainer(const DcganTrainOptions& options);
  // One training step (above); `step` is 0-based.
  Metrics step(int64_t step);
  // G(fixed_z) as a PNG sheet.
  void save_samples(const std::filesystem::path& png);
  // The models "G", "D", optimizers "G", "D", generator "noise", extra "fixed_z".
  nn::TrainingCheckpoint& state() { return state_; }
  LoopHooks hooks();
  const std::string& data_description() const { return images_.description(); }

  nn::Sequential& generator() { return *G_; }
  nn::Sequential& discriminator() { return *D_; }

 private:
  DcganTrainOptions options_;
  models::DcganOptions model_;
  std::shared_ptr<nn::Sequential> G_, D_;
  std::unique_ptr<nn::Adam> optG_, optD_;
  Generator noise_;
  ImageSource images_;
  Device device_;  // where G, D, their optimizers, the noise and the batches live
  nn::TrainingCheckpoint state_;
};

// `loom train dcgan` once its options are parsed: starts (or resumes) the run,
// trains, and returns the run's last checkpoint.
std::filesystem::path train_dcgan(SettingsBinder& binder, DcganTrainOptions& options);

}  // namespace loom::train
