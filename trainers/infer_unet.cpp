// infer_unet.cpp: `loom predict` for U-Net runs (see inference.h): the
// segmenter rebuilt by UnetTrainer from the run's settings, its weights from
// the checkpoint, and per image the defect probability p = sigmoid(UNet(2x - 1))
// in eval mode (the trainer feeds the network images mapped to [-1, 1]).
#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "nn/checkpoint.h"
#include "trainers/inference.h"
#include "trainers/train_unet.h"

namespace loom::train {
namespace {

class UnetScorer : public PixelScorer {
 public:
  explicit UnetScorer(const TrainedRun& run) {
    restore_trainer_options(run.settings, options_, add_unet_options);
    options_.common.data.clear();  // scoring needs no training images
    options_.samples = 1;          // nor sheet images (they shape nothing in the model)
    options_.fabric_images = std::max(options_.fabric_images, options_.common.batch);
    trainer_ = std::make_unique<UnetTrainer>(options_);
    nn::load_checkpoint(run.checkpoint.string(), trainer_->state());
  }
  int64_t image_size() const override { return options_.image; }
  int64_t channels() const override { return options_.channels; }
  PixelOutput output() const override { return PixelOutput::DefectProbability; }
  Tensor score(const Tensor& images) override {
    NoGradGuard no_grad;
    models::UNet& unet = trainer_->model();
    unet.eval();
    return sigmoid(unet(images * 2.0 - 1.0));  // (N, 1, S, S)
  }

 private:
  UnetTrainOptions options_;
  std::unique_ptr<UnetTrainer> trainer_;
};

}  // namespace

ModelInference unet_inference() {
  return {.model = "unet", .sampler = nullptr, .scorer = [](const TrainedRun& run) {
            return std::make_unique<UnetScorer>(run);
          }};
}

}  // namespace loom::train
