// train_unet.h: the U-Net segmentation trainer behind `loom train unet`
// (models/unet.h), trained on defects synthesized with exact masks.
//
// A training sample starts from a defect-free image of the training pool
// (image_source.h: procedural fabric, or the good images of --data) and is, by
// one draw from the "synth" stream:
//   with probability --good-share   the image itself, mask all 0
//   otherwise, a defect from one of the enabled defect sources:
//     --defect-data DIR             a defective image of DIR (any layout that
//                                   data/layout.h reads, e.g. the multistage
//                                   GAN's stage3_synthetic) with its mask,
//                                   drawn uniformly (with replacement) from
//                                   all of DIR's defective images, resized to
//                                   S x S (image bilinear, mask nearest); it
//                                   REPLACES the good image of that slot
//     --fabric-defects              a new procedural fabric image with one
//                                   rendered defect (data/fabric/defects.h,
//                                   random category and kind), its exact mask
//     --synth (unless "none")       a method of --synth (uniformly among them;
//                                   data/synth, make_synth_method) applied to
//                                   the image, with its exact mask
//   Without --defect-data: --fabric-defects with probability 1/2 (always when
//   --synth none), else --synth. With --defect-data: uniformly among the
//   enabled sources (so `--defect-data DIR --synth none` trains on DIR's
//   defects alone, `--defect-data DIR` mixes them 1:1 with --synth).
//   At least one source must be enabled.
// (data/synth's texture source is procedural fabric; the cut-paste fill comes
// from the image itself.) Every draw comes from the "synth" stream, which the
// checkpoint holds, so a resumed run draws the same --defect-data images.
//
// One step on that batch, x (B, C, S, S) mapped to [-1, 1], masks t (B, 1, S, S):
//   out  = UNet(x)
//   loss = bce_weight * (BCE or focal) + dice_weight * Dice [+ class_weight * BCE(class logit)]
//          (models::segmentation_loss)
//   backward, [clip], Adam step (lr 1e-3, betas 0.9 / 0.999)
// Logged per step: loss, pixel (BCE or focal), dice, image (with --class-head),
// iou (models::mask_iou of the batch's logits in training mode), lr.
// Sample sheets: `samples` fixed images (each a procedural good fabric image
// from its own stream, given a defect by the same draw as training), one row
// each: image | mask | prediction sigmoid(logits) in eval mode, as gray.
//
// --device cuda: the model and its Adam moments live on GPU 0 (weights
// initialised on the CPU); the batches and the sheet are drawn on the CPU (the
// defect synthesis is CPU code) and moved to the GPU for the step, the sheet's
// predictions come back to the CPU to be drawn.
//
// Random streams (Philox): initialisation Generator(seed); the sample draws,
// (seed, offset 2^62), in the checkpoint as "synth"; sheet image j,
// (seed, 2^58 + j 2^32); the pool, ImageSource(seed).
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "data/file_list_dataset.h"
#include "data/synth/synth.h"
#include "models/unet.h"
#include "nn/adam.h"
#include "nn/checkpoint.h"
#include "trainers/fabric_samples.h"
#include "trainers/image_source.h"
#include "trainers/trainer.h"

namespace loom::train {

struct UnetTrainOptions {
  CommonOptions common = [] {
    CommonOptions c;
    c.lr = 1e-3;
    return c;
  }();
  int64_t image = 64;       // S, divisible by 2^depth
  int64_t channels = 3;     // 1 or 3
  int64_t width = 64;       // base width w
  int64_t depth = 4;        // max-pool downs
  bool bilinear = false;    // up by bilinear x2 + 1x1 conv instead of ConvTranspose 2x2
  bool class_head = false;  // the image-level defect logit
  bool focal = false;       // focal loss instead of BCE
  double focal_alpha = 0.25, focal_gamma = 2.0;
  double bce_weight = 1.0, dice_weight = 1.0, class_weight = 1.0;
  double beta1 = 0.9, beta2 = 0.999;
  std::string synth = "all";    // data/synth methods: "all", "none" or names joined by commas
  std::string defect_data;      // defective images with masks (a dataset folder); empty: none
  bool fabric_defects = false;  // also rendered procedural fabric defects
  double good_share = 0.2;      // share of samples left defect-free
  int64_t samples = 8;          // rows of a sample sheet
  int64_t fabric_images = 2048;
};

void add_unet_options(SettingsBinder& binder, UnetTrainOptions& options);

// The --synth names: "all" gives every registered method, "none" no method;
// throws naming the valid ones for an unknown name.
std::vector<std::string> synth_method_names(const std::string& spec);

class UnetTrainer {
 public:
  explicit UnetTrainer(const UnetTrainOptions& options);
  Metrics step(int64_t step);
  // The next training batch (images in [0, 1], masks 0/1), drawn as above, on the CPU.
  MaskedImage next_batch();  // image (B, C, S, S), mask (B, 1, S, S)
  // One optimisation step on a given batch (what step() does after next_batch()),
  // moved to the training device first.
  Metrics train_on(const MaskedImage& batch);
  void save_samples(const std::filesystem::path& png);
  // The model "unet", optimizer "unet", generator "synth".
  nn::TrainingCheckpoint& state() { return state_; }
  LoopHooks hooks();
  const std::string& data_description() const { return images_.description(); }

  models::UNet& model() { return *model_; }
  const MaskedImage& sheet_batch() const { return sheet_; }

 private:
  // A defect (or none) for one good image (C, S, S) in [0, 1], drawn from gen.
  MaskedImage add_defect(const Tensor& good, Generator& gen);

  UnetTrainOptions options_;
  std::shared_ptr<models::UNet> model_;
  std::unique_ptr<nn::Adam> optimizer_;
  Generator synth_gen_;
  ImageSource images_;
  Device device_;  // where the model, its optimizer and the step's tensors live
  std::vector<data::synth::SynthMethod> methods_;
  std::shared_ptr<data::FileListDataset> defect_images_;  // --defect-data, resized to S; null without it
  MaskedImage sheet_;                                     // (n, C, S, S), (n, 1, S, S) on the CPU
  nn::TrainingCheckpoint state_;
};

// `loom train unet` once its options are parsed; returns the last checkpoint.
std::filesystem::path train_unet(SettingsBinder& binder, UnetTrainOptions& options);

}  // namespace loom::train
