// sample.cpp: `loom sample` (see sample.h).
#include "trainers/sample.h"

#include <cmath>

#include "data/grid.h"
#include "tensor/error.h"
#include "trainers/inference.h"

namespace loom::train {

int64_t sheet_columns(int64_t n) {
  int64_t columns = std::max<int64_t>(1, static_cast<int64_t>(std::sqrt(static_cast<double>(n))));
  while (columns * columns < n) ++columns;  // exact ceil(sqrt(n)) without rounding doubts
  return columns;
}

Tensor sample_run(const std::filesystem::path& run_or_checkpoint, const SampleOptions& options) {
  LOOM_CHECK(options.n >= 1 && options.n <= 4096, "--n must be in 1..4096, got ", options.n);
  const TrainedRun run = open_trained_run(run_or_checkpoint);
  const ModelInference& entry = inference_of(run.model);
  LOOM_CHECK(entry.sampler != nullptr, run.checkpoint.string(), " is a ", run.model,
             " run, which does not draw images (use loom predict)");
  Generator gen(options.seed);
  const Tensor images = entry.sampler(run)->sample(options.n, gen);  // (n, C, S, S) in [0, 1]
  if (!options.out.empty()) {
    data::GridOptions grid;
    grid.nrow = sheet_columns(options.n);
    data::save_grid(options.out, images, grid);
  }
  return images;
}

}  // namespace loom::train
