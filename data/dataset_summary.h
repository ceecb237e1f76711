// dataset_summary.h: what `loom dataset info` reports about a dataset folder:
// per category and split the number of good images, per defect type the number
// of images and the mean share of each image's pixels that its mask marks, and
// every problem found on the way (missing or empty folders, images without
// masks, masks without images, masks whose size differs from the image's,
// files that cannot be decoded). Nothing here throws for a problem inside the
// dataset; only a root that is missing or in no known layout is an error.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset_scan.h"

namespace loom::data {

// The images of one (category, split, defect type).
struct GroupSummary {
  std::string category, split, defect_type;
  int64_t images = 0;
  // Defective types: how many masks were measured (images with a readable mask
  // of the image's size) and the mean over them of
  //   share = (pixels the mask marks) / (pixels of the image).
  int64_t masks_measured = 0;
  double mean_mask_share = 0.0;
};

struct DatasetSummary {
  Layout layout = Layout::MvtecAD;
  std::string root;
  std::vector<GroupSummary> groups;  // by category and split as scanned; good first, then defect types by name
  std::vector<LayoutIssue> issues;   // the scan's, then those found reading masks
};

// Scans `root` in its layout (detect_layout) and reads every mask, on
// `threads` threads (0: one per core, at most 8). The result does not depend
// on the thread count.
DatasetSummary summarize_dataset(const std::string& root, int threads = 0);

// A table: one row per group, then the warnings, one per line.
std::string format_summary_table(const DatasetSummary& summary);
// {"layout", "root", "images",
//  "categories": [{"name", "splits": [{"name", "good",
//                                      "defects": [{"type", "images", "masks_measured", "mean_mask_share"}]}]}],
//  "warnings": [{"kind", "path", "message"}]}
// mean_mask_share is null for a defect type with no measured mask.
nlohmann::ordered_json summary_to_json(const DatasetSummary& summary);
// summary_to_json as text, indented by 2. File names are bytes, not always
// UTF-8 (a Latin-1 name from an old archive): bytes that are not valid UTF-8
// become U+FFFD, so the text is always valid JSON.
std::string format_summary_json(const DatasetSummary& summary);

}  // namespace loom::data
