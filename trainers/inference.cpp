// inference.cpp: opening a trained run and the list of models' inference
// entries (see inference.h).
#include "trainers/inference.h"

#include "tensor/error.h"
#include "tensor/safetensors.h"
#include "trainers/run_dir.h"

namespace loom::train {

TrainedRun open_trained_run(const std::filesystem::path& run_or_checkpoint) {
  TrainedRun run;
  run.checkpoint = find_checkpoint(run_or_checkpoint);
  const SafeTensors file = load_safetensors(run.checkpoint.string());
  const auto settings = file.metadata.find("settings");
  LOOM_CHECK(settings != file.metadata.end(), run.checkpoint.string(),
             " is not a training checkpoint of loom (no settings in its metadata)");
  run.settings = nlohmann::json::parse(settings->second);
  LOOM_CHECK(run.settings.is_object() && run.settings.contains("model") && run.settings["model"].is_string(),
             run.checkpoint.string(), ": its settings name no model");
  run.model = run.settings["model"].get<std::string>();
  return run;
}

const std::vector<ModelInference>& inference_models() {
  static const std::vector<ModelInference> models = {dcgan_inference(), cgan_inference(), wae_inference(),
                                                     unet_inference()};
  return models;
}

const ModelInference& inference_of(const std::string& model) {
  std::string known;
  for (const ModelInference& entry : inference_models()) {
    if (entry.model == model) return entry;
    known += (known.empty() ? "" : ", ") + entry.model;
  }
  detail::throw_error("no sampling or prediction for model '", model, "' (models that have them: ", known, ")");
}

}  // namespace loom::train
