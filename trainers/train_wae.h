// train_wae.h: the WAE-MMD trainer behind `loom train wae` (models/wae.h), a
// defect detector learned from defect-free images only (models/anomaly.h).
//
// One step, on a batch x of defect-free images in [0, 1] (the decoder ends in
// Sigmoid) and a prior sample z~ ~ N(0, sigma^2 I_d):
//   z = Q(x),  x_hat = G(z)
//   loss = recon_weight * mean_n ||x_n - x_hat_n||^2 + lambda * MMD_imq(z, z~)   (models::wae_loss)
//   backward, [clip], Adam step
// Adam lr 1e-3, betas (0.5, 0.999): the WAE paper's setting (Tolstikhin et al.
// 2018, appendix: Adam with alpha = 1e-3, beta1 = 0.5 for MNIST and CelebA).
//
// Validation (fixed at construction): with --data in a layout that has a test
// split (MVTec AD, DAGM), up to `val_good` good and `val_defects` defective
// (masked) test images, evenly spaced through the split; otherwise `val_good`
// defect-free and `val_defects` defective procedural fabric images
// (trainers/fabric_samples.h; categories and defect kinds in turn), from their
// own Philox streams, never in the training pool. Before every checkpoint the anomaly maps a = wae_anomaly_map
// of both sets are computed (eval mode, no gradients: nothing changes), and
//   threshold = mean(a_good) + k std(a_good)    (models::threshold_mean_k_sigma, k = --threshold-k)
// goes into the checkpoint metadata ("user.threshold", with the map settings:
// "user.threshold_k", "user.smooth_sigma", "user.ssim_weight", "user.data_range")
// together with the pixel precision, recall and F1 of [a >= threshold] on the
// defective images ("user.val_f1", ...) and the best F1 any threshold reaches
// there ("user.val_best_f1", "user.val_best_threshold"); the same numbers go
// to train.log.
//
// Logged per step: loss, recon, mmd (before lambda), lr.
// Sample sheets: one row per image, the first min(4, val_good) good images and
// every defective one: input | reconstruction | residual map as gray, scaled so
// that mid gray is the threshold (a / (2 threshold), clamped to [0, 1]);
// defective inputs have a red border.
//
// --device cuda: the model, its Adam moments, the batches and the prior sample
// live on GPU 0 (weights initialised on the CPU, the Philox prior sample is the
// same numbers on both devices); the validation images stay on the CPU and go
// to the GPU for the model, the anomaly maps come back for the threshold and
// the F1, and the sample sheet is drawn from CPU copies.
//
// Random streams (Philox): initialisation Generator(seed); the prior sample,
// (seed, offset 2^62), in the checkpoint as "prior"; validation image j,
// (seed, 2^60 + j 2^32) (good) and (seed, 2^59 + j 2^32) (defective); the
// data, ImageSource(seed).
#pragma once
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "models/anomaly.h"
#include "models/wae.h"
#include "nn/adam.h"
#include "nn/checkpoint.h"
#include "trainers/image_source.h"
#include "trainers/trainer.h"

namespace loom::train {

struct WaeTrainOptions {
  CommonOptions common = [] {
    CommonOptions c;
    c.lr = 1e-3;
    return c;
  }();
  int64_t image = 64;    // S: a power of two, 16 .. 512
  int64_t channels = 3;  // 1 or 3
  int64_t latent = 64;   // d
  int64_t width = 64;    // channels of the first encoder stage
  double lambda = 10.0;  // MMD weight
  double sigma2 = 1.0;   // prior variance
  double recon_weight = 0.05;
  bool l1 = false;  // reconstruction cost ||x - x_hat||_1 instead of ||.||^2
  double beta1 = 0.5, beta2 = 0.999;
  double threshold_k = 3.0;   // threshold = mean + k sigma of the good validation maps
  double smooth_sigma = 2.0;  // Gaussian smoothing of the anomaly map (px)
  double ssim_weight = 0.0;   // share of 1 - SSIM in the anomaly map
  int64_t val_good = 16;      // defect-free validation images
  int64_t val_defects = 8;    // defective validation images
  int64_t fabric_images = 2048;
};

void add_wae_options(SettingsBinder& binder, WaeTrainOptions& options);

// The threshold and its quality on the validation images.
struct WaeValidation {
  double threshold = 0;
  models::F1Threshold at_threshold;  // precision, recall, F1 of [a >= threshold] on the defective images
  models::F1Threshold best;          // the best-F1 threshold there (a reference)
};

// Pixel precision, recall and F1 of [maps >= threshold] against masks > 0.5
// (same shape); F1 = 2 TP / (2 TP + FP + FN), 0 when that is 0/0.
models::F1Threshold pixel_f1_at(const Tensor& maps, const Tensor& masks, double threshold);

class WaeTrainer {
 public:
  explicit WaeTrainer(const WaeTrainOptions& options);
  Metrics step(int64_t step);
  void save_samples(const std::filesystem::path& png);
  // Anomaly maps of the validation sets, the threshold and the F1 (no state changes).
  WaeValidation validate();
  // validate() into state().metadata (see the top of this file); returns the log line.
  std::string store_threshold();
  // The model "wae", optimizer "wae", generator "prior"; metadata from store_threshold.
  nn::TrainingCheckpoint& state() { return state_; }
  // `log` receives the validation line written before each checkpoint.
  LoopHooks hooks(std::function<void(const std::string&)> log = {});
  const std::string& data_description() const { return images_.description(); }

  models::Wae& model() { return *model_; }
  models::AnomalyMapOptions map_options() const;
  const Tensor& validation_good() const { return val_good_; }      // (Ng, C, S, S) in [0, 1]
  const Tensor& validation_defective() const { return val_bad_; }  // (Nd, C, S, S)
  const Tensor& validation_masks() const { return val_masks_; }    // (Nd, 1, S, S) 0/1
  const std::string& validation_description() const { return val_description_; }

 private:
  WaeTrainOptions options_;
  std::shared_ptr<models::Wae> model_;
  std::unique_ptr<nn::Adam> optimizer_;
  Generator prior_;
  ImageSource images_;
  Device device_;  // where the model, its optimizer, the batches and the prior sample live
  Tensor val_good_, val_bad_, val_masks_;  // on the CPU
  std::string val_description_;
  nn::TrainingCheckpoint state_;
};

// `loom train wae` once its options are parsed; returns the last checkpoint.
std::filesystem::path train_wae(SettingsBinder& binder, WaeTrainOptions& options);

}  // namespace loom::train
