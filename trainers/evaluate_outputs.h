// evaluate_outputs.h: what `loom eval` (evaluate.cpp) hands to its writers,
// and the writers of its three files (evaluate_outputs.cpp):
//   eval.json    {"detector", "dataset", "settings", "threshold" (value,
//                 source, the held-out validation images' paths), "rows",
//                 "mean", "outputs"}; a metric the data cannot define (NaN)
//                 is null
//   eval.md      a header naming detector, dataset and threshold, then one
//                table row per EvalRow (and the mean over categories)
//   gallery.png  per row: image | ground truth | anomaly map (a / m, m the
//                largest score over the reported images; p as it is) | the
//                mask s >= t; the `gallery` best and then the `gallery` worst
//                reported defective images by their pixel F1 at t (ties keep
//                dataset order); cells upscaled (nearest) to at least 128 px
//                so the captions fit
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/file_list_dataset.h"
#include "tensor/tensor.h"
#include "trainers/evaluate.h"

namespace loom::eval {

// One scored test image.
struct ScoredImage {
  std::string defect;     // "good" or the defect type
  std::string path;       // the image file
  int64_t index = 0;      // in its category's dataset
  Tensor map;             // (1, S, S) float32: the score of every pixel
  Tensor mask;            // (1, S, S) float32 0/1 (all 0 for good images)
  bool held_out = false;  // in the validation hold-out (--val-share), so in no row
};

// Every test image of one category, scored.
struct CategoryScores {
  std::string name;                                // as reported ("" of AITEX: the root's folder name)
  std::string selector;                            // the dataset's category ("" for AITEX)
  std::shared_ptr<data::FileListDataset> dataset;  // images resized to S x S
  std::vector<ScoredImage> images;                 // in dataset order
};

// What the files say about the run and the data.
struct EvalContext {
  const EvalOptions& options;
  std::string checkpoint, model;
  bool probability = false;  // defect probability (unet) or anomaly map (wae)
  int64_t image_size = 0, channels = 0;
  std::string layout;
  std::string split = "test";  // the images scored: "test", or "" where the layout has no split (AITEX: all)
};

// Writes gallery.png (gallery > 0), then eval.json and eval.md, each
// atomically (a failed write throws naming the file and leaves an earlier
// run's file whole), into options.out_dir (which exists); with gallery 0 a
// gallery.png of an earlier run there is removed (report.removed_gallery_path).
// Fills report.json, report.table and the paths.
void write_eval_outputs(const EvalContext& context, const std::vector<CategoryScores>& categories, EvalReport& report);

}  // namespace loom::eval
