// evaluate.h: `loom eval`: a trained detector (a U-Net run: defect
// probability; a WAE run: its anomaly map) scored on a dataset in the MVTec AD,
// DAGM or AITEX layout (data/layout.h), per category and per defect type, with
// the metrics of detection_metrics.h.
//
// (evaluate.cpp's header comment says exactly which images are scored and how
// the threshold is chosen; evaluate_outputs.h what each output file holds.)
//
// Outputs in out_dir:
//   eval.json   the detector, the dataset, the settings, the threshold and its
//               source, and for every category: the metrics over all its test
//               images and, per defect type, over that type's images plus the
//               category's good ones; the mean over categories
//   eval.md     the same as a markdown table
//   gallery.png image | ground truth | anomaly map | thresholded mask, for the
//               best and the worst defective images (by pixel F1 at threshold);
//               with gallery 0 none, and an earlier run's gallery.png is removed
// eval.json and eval.md are written atomically (a failed write, a full disk
// say, throws naming the file and leaves an earlier run's file whole).
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trainers/detection_metrics.h"

namespace loom::eval {

struct EvalOptions {
  std::string detector;                 // a run directory or checkpoint (unet or wae)
  std::string data;                     // the dataset root
  std::string out_dir;                  // created; eval.json, eval.md, gallery.png
  std::vector<std::string> categories;  // empty: every category of the dataset
  // Given (must be >= 0): the threshold t; not given: val_share, the run's own,
  // or 0.5 for a defect probability (see evaluate.cpp).
  std::optional<double> threshold{};
  // In (0, 1): hold out this share of each category's test images (seeded,
  // per defect type) as validation, take the best-F1 threshold there and
  // report the rest. 0: no hold-out (the run's threshold, or 0.5 for p).
  double val_share = 0;
  uint64_t seed = 0;     // the hold-out's permutation (Philox)
  double max_fpr = 0.3;  // AUPRO's integration limit
  int64_t gallery = 3;   // best and worst cases each on gallery.png (0: none)
  int64_t batch = 16;
  bool quiet = false;  // no progress lines on stderr
};

struct EvalRow {
  std::string category;
  std::string defect;  // "all" for the whole category
  DetectionMetrics metrics;
};

struct EvalReport {
  std::vector<EvalRow> rows;      // per category: "all" first, then each defect type
  double threshold = 0;           // the threshold of the "at threshold" columns
  std::string threshold_source;   // how it was chosen, in words
  std::string model;              // the detector's model: "unet" or "wae"
  int64_t validation_images = 0;  // held out by val_share (not in the rows)
  nlohmann::json json;            // what eval.json holds
  std::string table;              // the markdown table of eval.md (rows and, for several categories, the mean)
  std::filesystem::path json_path, markdown_path, gallery_path;  // gallery_path "" with gallery 0
  // gallery 0: an earlier run's gallery.png removed from out_dir ("" if none).
  std::filesystem::path removed_gallery_path;
  // The mean over categories of the "all" rows (what a results table quotes).
  DetectionMetrics mean;
};

// Throws (naming what is wrong) on a detector that is no detector, a missing
// dataset, a dataset without defective images or with masks of the wrong size.
EvalReport evaluate_detector(const EvalOptions& options);

}  // namespace loom::eval
