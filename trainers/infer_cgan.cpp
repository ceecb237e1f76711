// infer_cgan.cpp: `loom sample` for cgan runs (see inference.h): the stage-1
// generator rebuilt by CganTrainer from the run's settings, its weights from the
// checkpoint, and images G(z, g) in eval mode, where g = E(c) is the Gram
// condition of the run's fixed condition patches c (the checkpoint's extra
// tensor "sample_conditions", (rows, 3, S, S)), used in turn: image i is
// conditioned on patch i mod rows. z ~ N(0, I) of (n, nz).
#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/transforms.h"
#include "nn/checkpoint.h"
#include "trainers/inference.h"
#include "trainers/train_cgan.h"

namespace loom::train {
namespace {

class CganSampler : public ImageSampler {
 public:
  explicit CganSampler(const TrainedRun& run) {
    restore_trainer_options(run.settings, options_, add_cgan_options);
    options_.common.data.clear();  // drawing needs no training images
    trainer_ = std::make_unique<CganTrainer>(options_);
    nn::load_checkpoint(run.checkpoint.string(), trainer_->state());
  }

  Tensor sample(int64_t n, Generator& gen) override {
    NoGradGuard no_grad;
    const Tensor& patches = trainer_->state().extra_tensors.at("sample_conditions");  // (rows, 3, S, S)
    std::vector<Tensor> chosen;
    for (int64_t i = 0; i < n; ++i) chosen.push_back(patches.narrow(0, i % patches.size(0), 1));
    const Tensor g = trainer_->extractor()(cat(chosen, 0));  // (n, gram_dim)
    models::CganGenerator& G = trainer_->generator();
    G.eval();
    const Tensor z = randn({n, options_.nz}, gen);           // (n, nz)
    return data::denormalize_from_pm1(G.forward(z, g));    // (n, 3, S, S) in [0, 1]
  }

 private:
  CganTrainOptions options_;
  std::unique_ptr<CganTrainer> trainer_;
};

}  // namespace

ModelInference cgan_inference() {
  return {.model = "cgan",
          .sampler = [](const TrainedRun& run) { return std::make_unique<CganSampler>(run); },
          .scorer = nullptr};
}

}  // namespace loom::train
