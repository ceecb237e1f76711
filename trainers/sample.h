// sample.h: `loom sample`: a sheet of new images from a trained generator.
//
//   images = sampler.sample(n, Generator(seed))     (n, C, S, S) in [0, 1]
//   sheet  = make_grid(images), ceil(sqrt(n)) images per row, saved as PNG
//
// The sampler is the model's own (inference.h): DCGAN draws z ~ N(0, I) and
// runs G in eval mode. The same run, n and seed give the same bytes.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "tensor/tensor.h"

namespace loom::train {

struct SampleOptions {
  int64_t n = 64;     // images on the sheet
  uint64_t seed = 0;  // the Philox seed of the noise
  std::string out;    // the PNG to write; empty: write nothing
};

// Opens `run_or_checkpoint` (a run directory or a checkpoint file), draws the
// images and writes the sheet. Returns the images (n, C, S, S) float32 in [0, 1].
// Throws when the run's model cannot sample (naming the models that can).
Tensor sample_run(const std::filesystem::path& run_or_checkpoint, const SampleOptions& options);

// ceil(sqrt(n)): the columns of a square-ish sheet of n images.
int64_t sheet_columns(int64_t n);

}  // namespace loom::train
