// infer_dcgan.cpp: `loom sample` for DCGAN runs (see inference.h): the
// generator rebuilt by DcganTrainer from the run's settings, its weights from
// the checkpoint, and images G(z) for z ~ N(0, I) of (n, nz, 1, 1), drawn in
// eval mode (batch norm's running statistics), mapped from [-1, 1] to [0, 1].
#include "autograd/grad_mode.h"
#include "data/transforms.h"
#include "nn/checkpoint.h"
#include "trainers/inference.h"
#include "trainers/train_dcgan.h"

namespace loom::train {
namespace {

class DcganSampler : public ImageSampler {
 public:
  explicit DcganSampler(const TrainedRun& run) {
    restore_trainer_options(run.settings, options_, add_dcgan_options);
    options_.common.data.clear();  // drawing needs no training images
    trainer_ = std::make_unique<DcganTrainer>(options_);
    nn::load_checkpoint(run.checkpoint.string(), trainer_->state());
  }

  Tensor sample(int64_t n, Generator& gen) override {
    NoGradGuard no_grad;
    nn::Sequential& G = trainer_->generator();
    G.eval();
    const Tensor z = randn({n, options_.nz, 1, 1}, gen);  // (n, nz, 1, 1)
    return data::denormalize_from_pm1(G(z));              // (n, C, S, S) in [0, 1]
  }

 private:
  DcganTrainOptions options_;
  std::unique_ptr<DcganTrainer> trainer_;
};

}  // namespace

ModelInference dcgan_inference() {
  return {.model = "dcgan",
          .sampler = [](const TrainedRun& run) { return std::make_unique<DcganSampler>(run); },
          .scorer = nullptr};
}

}  // namespace loom::train
