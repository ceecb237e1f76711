// inference.h: using a trained model after its run: open a run directory or
// checkpoint, rebuild the model from the run's own settings, load the weights,
// and then either draw images (`loom sample`, generators) or score the pixels of
// given images (`loom predict`, detectors).
//
// Each model says what it can do in one ModelInference entry, written next to
// its trainer (trainers/infer_<model>.cpp) and listed in inference_models()
// (inference.cpp). The entry rebuilds the model with the trainer's own code: it
// binds the trainer's options to a SettingsBinder (add_<model>_options),
// restores the checkpoint's settings into them (restore_trainer_options) and
// constructs the trainer, whose models then receive the checkpoint's weights.
// So a model is never built twice in two ways, and a run with --width 16
// --image 32 comes back with exactly that shape.
//
// (The list is explicit, not self-registering: these files live in the static
// library loom_trainers, and a linker drops an object file nobody references,
// registration and all.)
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tensor/random.h"
#include "tensor/tensor.h"
#include "trainers/settings.h"

namespace loom::train {

// A finished (or stopped) training run, ready to be rebuilt.
struct TrainedRun {
  std::filesystem::path checkpoint;  // the checkpoint file (a run directory's newest)
  nlohmann::json settings;           // the settings saved in that checkpoint
  std::string model;                 // settings["model"]: "dcgan", "wae", ...
};

// Opens a run directory (its newest checkpoint) or a checkpoint file and reads
// the settings stored in the checkpoint (the ones its weights were trained
// with). Throws naming the path when there is no checkpoint or no settings.
TrainedRun open_trained_run(const std::filesystem::path& run_or_checkpoint);

// Rebuilds a trainer's options from saved settings: binds them with `add`
// (the trainer's add_<model>_options) and restores every saved value.
template <class Options>
void restore_trainer_options(const nlohmann::json& settings, Options& options, void (*add)(SettingsBinder&, Options&)) {
  CLI::App app;
  SettingsBinder binder(&app);
  add(binder, options);
  binder.restore_from(settings);
}

// Draws new images from a trained generator.
class ImageSampler {
 public:
  virtual ~ImageSampler() = default;
  // n images (n, C, S, S) float32 in [0, 1]; all randomness from `gen`.
  virtual Tensor sample(int64_t n, Generator& gen) = 0;
};

// What a detector's output means.
enum class PixelOutput {
  AnomalyMap,        // larger = more anomalous, unbounded (WAE: smoothed |x - x_hat|)
  DefectProbability  // in [0, 1], a defect where > 0.5 (U-Net: sigmoid of the mask logits)
};

// Scores every pixel of images of the model's own size and channels.
class PixelScorer {
 public:
  virtual ~PixelScorer() = default;
  virtual int64_t image_size() const = 0;  // S: inputs are resized to S x S
  virtual int64_t channels() const = 0;    // C: 1 (gray) or 3 (RGB)
  virtual PixelOutput output() const = 0;
  // images (N, C, S, S) float32 in [0, 1] -> scores (N, 1, S, S). No gradients.
  virtual Tensor score(const Tensor& images) = 0;
  // The threshold the run chose for its anomaly maps (WAE: mean + k sigma of
  // defect-free validation maps, in the checkpoint); < 0 when it has none.
  virtual double threshold() const { return -1; }
};

// What one model can do after training. Either function may be empty.
struct ModelInference {
  std::string model;  // settings["model"]
  std::function<std::unique_ptr<ImageSampler>(const TrainedRun&)> sampler;
  std::function<std::unique_ptr<PixelScorer>(const TrainedRun&)> scorer;
};

// Every model's entry (inference.cpp lists them).
const std::vector<ModelInference>& inference_models();
// The entry of `model`; throws naming the models that have one.
const ModelInference& inference_of(const std::string& model);

// The entries, one per trainer (trainers/infer_<model>.cpp).
ModelInference dcgan_inference();
ModelInference cgan_inference();
ModelInference wae_inference();
ModelInference unet_inference();

}  // namespace loom::train
