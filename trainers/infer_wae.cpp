// infer_wae.cpp: `loom predict` for WAE runs (see inference.h): the
// auto-encoder rebuilt by WaeTrainer from the run's settings, its weights from
// the checkpoint, and per image the anomaly map a = wae_anomaly_map(x) with the
// run's map settings (smoothing, SSIM share); the threshold is the one the run
// stored with its last checkpoint (mean + k sigma of defect-free validation
// maps, train_wae.h).
#include <string>

#include "models/wae.h"
#include "nn/checkpoint.h"
#include "trainers/inference.h"
#include "trainers/train_wae.h"

namespace loom::train {
namespace {

class WaeScorer : public PixelScorer {
 public:
  explicit WaeScorer(const TrainedRun& run) {
    restore_trainer_options(run.settings, options_, add_wae_options);
    options_.common.data.clear();  // scoring needs no training images
    options_.val_good = 2;         // nor the validation images (they shape nothing in the model)
    options_.val_defects = 1;
    options_.fabric_images = std::max(options_.fabric_images, options_.common.batch);
    trainer_ = std::make_unique<WaeTrainer>(options_);
    nn::load_checkpoint(run.checkpoint.string(), trainer_->state());
    const auto stored = trainer_->state().metadata.find("threshold");
    if (stored != trainer_->state().metadata.end()) threshold_ = std::stod(stored->second);
  }
  int64_t image_size() const override { return options_.image; }
  int64_t channels() const override { return options_.channels; }
  PixelOutput output() const override { return PixelOutput::AnomalyMap; }
  Tensor score(const Tensor& images) override {
    return models::wae_anomaly_map(trainer_->model(), images, trainer_->map_options());  // (N, 1, S, S)
  }
  double threshold() const override { return threshold_; }

 private:
  WaeTrainOptions options_;
  std::unique_ptr<WaeTrainer> trainer_;
  double threshold_ = -1;
};

}  // namespace

ModelInference wae_inference() {
  return {.model = "wae", .sampler = nullptr, .scorer = [](const TrainedRun& run) {
            return std::make_unique<WaeScorer>(run);
          }};
}

}  // namespace loom::train
