// trainer_wiring.h: what the trainers (dcgan, cgan, fusion, unet, wae) wire up
// the same way around the TrainingLoop: the image source from their options,
// an Adam with their lr and betas, the loop hooks bound to the trainer's step,
// sample sheet and data cursor, and a line for train.log and stdout.
#pragma once
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "data/loader.h"
#include "nn/adam.h"
#include "nn/module.h"
#include "trainers/image_source.h"
#include "trainers/run_dir.h"
#include "trainers/trainer.h"

namespace loom::train {

// The image source of a trainer whose options have .image, .channels,
// .fabric_images and .common (data, batch, seed).
template <class Options>
ImageSourceOptions image_source_options(const Options& o) {
  return {.data_dir = o.common.data,
          .image_size = o.image,
          .channels = o.channels,
          .batch = o.common.batch,
          .seed = o.common.seed,
          .fabric_images = o.fabric_images};
}

// Adam over `model`'s parameters with the options' lr (.common.lr) and betas (.beta1, .beta2).
template <class Options>
std::unique_ptr<nn::Adam> make_adam(const nn::Module& model, const Options& o) {
  return std::make_unique<nn::Adam>(model.named_parameters(),
                                    nn::AdamOptions{.lr = o.common.lr, .beta1 = o.beta1, .beta2 = o.beta2});
}

// A data source's cursor as text and back: an ImageSource or a data::DataLoader.
inline std::string cursor_text(const ImageSource& images) { return images.cursor(); }
inline std::string cursor_text(const data::DataLoader& loader) { return loader.cursor().to_string(); }
inline void restore_cursor(ImageSource& images, const std::string& cursor) { images.restore(cursor); }
inline void restore_cursor(data::DataLoader& loader, const std::string& cursor) {
  loader.restore(data::LoaderCursor::parse(cursor));
}

// Hooks calling trainer.step(step) and trainer.save_samples(png), with the
// data cursor of `source` (which must outlive the loop).
template <class Trainer, class Source>
LoopHooks trainer_hooks(Trainer& trainer, Source& source) {
  LoopHooks hooks;
  hooks.step = [&trainer](int64_t step) { return trainer.step(step); };
  hooks.save_samples = [&trainer](const std::filesystem::path& png, int64_t) { trainer.save_samples(png); };
  hooks.data_cursor = [&source] { return cursor_text(source); };
  hooks.restore_data_cursor = [&source](const std::string& cursor) { restore_cursor(source, cursor); };
  return hooks;
}

// Writes `line` to the run's train.log and, unless `quiet`, to stdout.
inline void announce(RunDir& dir, bool quiet, const std::string& line) {
  dir.log(line);
  if (!quiet) std::printf("%s\n", line.c_str());
}

}  // namespace loom::train
