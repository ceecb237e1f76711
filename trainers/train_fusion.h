// train_fusion.h: the trainer behind `loom train fusion`, stage 2 of the
// multistage GAN: the defect-fusing network T (models/fusion.h, the pix2pix
// U-Net) against the 70x70 PatchGAN (models/patchgan.h), with pix2pix's loss
// (models/fusion_loss.h).
//
// Data (defect_scenes.h, FusionDefectPool): y = a procedural fabric with one
// defect (the target), b0 = the same fabric without it, and the imperfect input
// x = make_fusion_input(...): y with the window around its defect replaced by a
// patch that keeps the defect's own pixels but takes the rest of the window
// from a defect-free background b (the same fabric rolled, --background
// shifted, or another fabric of the same category, --background other). So x
// has hard seams and a mismatched texture around the defect; T(x) should be y.
//
// --data DIR (MVTec AD layout, one category or a root of categories;
// mvtec_defect_crops.h, make_mvtec_fusion_pool): y = a defective test image
// area-resized to S with its mask (area-resized, > 0.5), b = a train/good image
// of the same category (seeded choice), x = y with the window's non-defect
// pixels taken from b, as above. The pool holds every defective test image;
// --fabric-images and --background do not apply, and --dgt is refused (it
// needs y's defect-free twin, which real data lacks; "clean" is b there).
//
// One step (pix2pix's order), all images in [-1, 1]:
//   fake = T(x)                                                      (B, 3, S, S)
//   D:  d_fake = D(cat(x, fake.detach())), then d_real = D(cat(x, y))   (logits per patch)
//       L_D = 0.5 (BCE(d_real, 1) + BCE(d_fake, 0))   = fusion_discriminator_loss
//       zero D's gradients (T's loss of the last step left some), backward, [clip], optD.step()
//   T:  L_T = BCE(D(cat(x, fake)), 1) + lambda mean|fake - y|,  lambda = 100  (fusion_generator_loss)
//       zero T's gradients, backward, [clip], optT.step()
// Adam for both, lr 2e-4, betas (0.5, 0.999). T's dropout draws from the
// trainer's "dropout" stream (FusionGenerator::set_dropout_generator).
//
// --dgt: the DGT input encoding (models/dgt.h) instead of the imperfect input:
// T's input is X̂ = [Ẽ_fore (8 defect classes), Ẽ_back, b0] (B, 12, S, S) built
// from the defect mask, its class and the clean image b0 with a random
// smoothing per sample (stream "dgt"); D judges cat(X̂, image); T's loss is
//   L_T = BCE(D(cat(X̂, fake)), 1) + lambda (L_fore + L_back + L_mix)    (dgt_losses)
// and "l1" is still logged as mean|fake - y|.
//
// Logged: lossD, lossD_real, lossD_fake, lossG (L_T), lossG_gan, l1 (mean|T(x) - y|),
// l1_input (mean|x - y|, what T starts from; 0 with --dgt), [fore, back, mix with --dgt],
// D_x, D_G_z, acc_real, acc_fake, acc (per patch, gan_metrics.h), lr.
// Sample sheets: one row per fixed pool sample (samples 0 .. n-1; with --data
// n evenly spaced ones, i * pool size / n): input | output | target (with
// --dgt: clean image | smoothed mask F | output | target), T in eval mode.
// The rows' images are the extra tensor "sample_images" of every checkpoint.
//
// Random streams (Philox): initialisation Generator(seed); dropout (seed, 2^62);
// DGT smoothing (seed, 2^61); the data (seed) through the pool and the loader's
// shuffle.
#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include "data/loader.h"
#include "models/dgt.h"
#include "models/fusion.h"
#include "models/patchgan.h"
#include "nn/adam.h"
#include "nn/checkpoint.h"
#include "trainers/trainer.h"

namespace loom::train {

struct FusionTrainOptions {
  CommonOptions common;        // lr 2e-4; batch 8 by default here
  int64_t image = 64;          // S, a multiple of 2^depth
  int64_t depth = 0;           // U-Net levels; 0: log2(S) (a 1x1 bottleneck, as pix2pix at 256)
  int64_t width = 64;          // ngf = ndf
  int64_t d_layers = 3;        // PatchGAN n_layers (3: 70x70)
  std::string norm = "batch";  // batch | instance
  double lambda = 100;         // weight of the L1 term
  double beta1 = 0.5, beta2 = 0.999;
  std::string background = "shifted";  // shifted | other
  int64_t margin = 4;                  // pixels of texture around the defect inside the pasted window
  bool dgt = false;                    // the DGT input encoding and losses
  int64_t samples = 6;                 // rows on a sample sheet
  int64_t fabric_images = 512;         // the procedural pool
};

void add_fusion_options(SettingsBinder& binder, FusionTrainOptions& options);
void check_fusion_options(const FusionTrainOptions& options);

// One batch, all (B, ., S, S), images in [-1, 1].
struct FusionBatch {
  Tensor input;                 // x (B, 3, S, S): the imperfect input
  Tensor target;                // y (B, 3, S, S)
  Tensor clean;                 // b0 (B, 3, S, S)
  Tensor mask;                  // (B, 1, S, S) 0/1
  std::vector<int64_t> labels;  // defect kind per sample
};

class FusionTrainer {
 public:
  explicit FusionTrainer(const FusionTrainOptions& options);
  Metrics step(int64_t step);
  // The step above on a given batch (the tests train on a fixed one).
  Metrics step_on(const FusionBatch& batch);
  FusionBatch next_batch();
  void save_samples(const std::filesystem::path& png);
  // Models "G", "D", optimizers "G", "D", generators "dropout", "dgt", extra "sample_images".
  nn::TrainingCheckpoint& state() { return state_; }
  LoopHooks hooks();
  const std::string& data_description() const { return data_description_; }

  models::FusionGenerator& generator() { return *G_; }
  models::PatchDiscriminator& discriminator() { return *D_; }

 private:
  // T's input for a batch: x, or the DGT encoding X̂ (in encoding.input; its
  // smoothing drawn from "dgt", or fixed at the middle of the ranges for the sheet).
  models::DgtEncoding generator_input(const FusionBatch& batch, bool fixed_smoothing);

  FusionTrainOptions options_;
  std::shared_ptr<models::FusionGenerator> G_;
  std::shared_ptr<models::PatchDiscriminator> D_;
  std::unique_ptr<nn::Adam> optG_, optD_;
  Generator dropout_, dgt_;
  std::shared_ptr<data::Dataset> pool_;
  std::unique_ptr<data::DataLoader> loader_;
  std::string data_description_;
  nn::TrainingCheckpoint state_;
};

std::filesystem::path train_fusion(SettingsBinder& binder, FusionTrainOptions& options);

}  // namespace loom::train
