// pipeline_inputs.cpp: the input checks of `loom pipeline` (see pipeline_inputs.h).
#include "trainers/pipeline_inputs.h"

#include <filesystem>
#include <set>
#include <sstream>

#include "data/file_list_dataset.h"
#include "data/image.h"
#include "data/layout.h"
#include "tensor/error.h"

namespace loom::eval {
namespace {

// The files `selection` picks from `root`, or an error "<what> <root> <problem> (<reader's message>)".
std::vector<data::SampleFile> select_or_throw(const data::DatasetScan& scan, const data::Selection& selection,
                                              const std::string& what, const std::string& problem) {
  try {
    return data::select_files(scan, selection);
  } catch (const Error& e) {
    detail::throw_error(what, " ", scan.root, " ", problem, " (", e.what(), ")");
  }
}

data::DatasetScan scan_mvtec_root(const std::string& root, const std::string& what) {
  data::Layout layout;
  try {
    layout = data::detect_layout(root);
  } catch (const Error& e) {
    detail::throw_error(what, " ", root, ": ", e.what());
  }
  LOOM_CHECK(layout == data::Layout::MvtecAD, what, " ", root, " is in the ", data::layout_name(layout),
             " layout; the pipeline reads the MVTec AD layout (<category>/train/good, test/<defect>, "
             "ground_truth/<defect>)");
  return data::scan_dataset(root);
}

// Every defective file's mask has its image's size (from the PNG headers).
void check_mask_sizes(const std::vector<data::SampleFile>& files, const std::string& what) {
  for (const data::SampleFile& f : files) {
    if (f.label == 0) continue;
    const data::ImageInfo image = data::read_image_info(f.image_path);
    for (const std::string& mask_path : f.mask_paths) {
      const data::ImageInfo mask = data::read_image_info(mask_path);
      LOOM_CHECK(mask.width == image.width && mask.height == image.height, what, ": ",
                 data::mask_size_mismatch(mask_path, mask.width, mask.height, f.image_path, image.width, image.height));
    }
  }
}

}  // namespace

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names;
  std::stringstream in(text);
  for (std::string name; std::getline(in, name, ',');)
    if (!name.empty()) names.push_back(name);
  return names;
}

int64_t check_pipeline_source(const std::string& root) {
  const data::DatasetScan scan = scan_mvtec_root(root, "--source");
  const std::vector<data::SampleFile> defects =
      select_or_throw(scan, {.split = data::Split::Test, .labels = data::LabelFilter::Defective}, "--source",
                      "has no defective test images with masks (stage 1 learns its defect crops from them)");
  check_mask_sizes(defects, "--source");
  select_or_throw(scan, {.split = data::Split::Train, .labels = data::LabelFilter::Good}, "--source",
                  "has no train/good images (stage 2 takes its backgrounds from them; stage 1 its condition "
                  "patches where there is no room beside a defect)");
  return static_cast<int64_t>(defects.size());
}

void check_pipeline_disjoint(const std::string& source, const std::string& target,
                             const std::vector<std::string>& target_categories) {
  std::error_code error;
  LOOM_CHECK(!std::filesystem::equivalent(source, target, error), "--source ", source, " and --target ", target,
             " are the same folder; the target's defects must stay unseen by stages 1 and 2: give a target whose "
             "categories the source does not hold");
  std::set<std::string> source_categories;
  for (const data::SampleFile& f : data::scan_dataset(source).files) source_categories.insert(f.category);
  std::vector<std::string> shared;
  for (const std::string& category : target_categories)
    if (source_categories.count(category)) shared.push_back(category);
  std::string names;
  for (const std::string& category : shared) names += (names.empty() ? "'" : ", '") + category + "'";
  LOOM_CHECK(shared.empty(), "--source ", source, " and --target ", target, " share the categor",
             shared.size() == 1 ? "y " : "ies ", names,
             "; the target's defects must stay unseen by stages 1 and 2: remove them from the source, or pick "
             "other target categories with --target-categories");
}

std::vector<std::string> check_pipeline_target(const std::string& root, const std::vector<std::string>& wanted) {
  const data::DatasetScan scan = scan_mvtec_root(root, "--target");
  std::vector<std::string> categories = wanted;
  if (categories.empty()) {
    std::set<std::string> found;
    for (const data::SampleFile& f : scan.files) found.insert(f.category);
    categories.assign(found.begin(), found.end());
  }
  LOOM_CHECK(!categories.empty(), "--target ", root, " holds no category");
  for (const std::string& category : categories) {
    select_or_throw(
        scan, {.category = category, .split = data::Split::Train, .labels = data::LabelFilter::Good}, "--target",
        "has no train/good images of category '" + category + "' (stage 3 pastes its synthetic defects into them)");
    const std::vector<data::SampleFile> test = select_or_throw(
        scan, {.category = category, .split = data::Split::Test, .labels = data::LabelFilter::Defective}, "--target",
        "has no defective test images with masks in category '" + category + "' (the U-Net is evaluated on them)");
    check_mask_sizes(test, "--target");
  }
  return categories;
}

}  // namespace loom::eval
