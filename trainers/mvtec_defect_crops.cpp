// mvtec_defect_crops.cpp: cgan and fusion training pairs from MVTec AD (see mvtec_defect_crops.h).
#include "trainers/mvtec_defect_crops.h"

#include <algorithm>
#include <map>
#include <vector>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/file_list_dataset.h"
#include "data/layout.h"
#include "data/random_draws.h"
#include "data/transforms.h"
#include "tensor/error.h"
#include "trainers/defect_scenes.h"
#include "trainers/philox_stream.h"

namespace loom::train {
namespace {

// The defective test images of DIR and the train/good images of their categories.
struct MvtecSources {
  std::shared_ptr<data::FileListDataset> defects, good;
  std::map<std::string, std::vector<int64_t>> good_by_category;  // indices into good
};

MvtecSources open_sources(const std::string& dir, const std::string& command) {
  const data::Layout layout = data::detect_layout(dir);
  LOOM_CHECK(layout == data::Layout::MvtecAD, command, " --data: ", dir, " is not in the MVTec AD layout (found ",
             data::layout_name(layout), ")");
  const data::DatasetOptions rgb{.color = data::ColorMode::RGB};
  MvtecSources s;
  s.defects = data::open_dataset(dir, {.split = data::Split::Test, .labels = data::LabelFilter::Defective}, rgb);
  s.good = data::open_dataset(dir, {.split = data::Split::Train, .labels = data::LabelFilter::Good}, rgb);
  LOOM_CHECK(s.defects->size() > 0, command, " --data: ", dir,
             " has no defective test image (<category>/test/<defect>/*.png with a ground_truth mask)");
  for (int64_t i = 0; i < s.good->size(); ++i)
    s.good_by_category[s.good->files()[static_cast<size_t>(i)].category].push_back(i);
  for (const data::SampleFile& file : s.defects->files())
    LOOM_CHECK(s.good_by_category.count(file.category), command, " --data: category '", file.category, "' of ", dir,
               " has no train/good image (needed as the defect-free texture of ", file.image_path, ")");
  return s;
}

// ScenePool over sample i = (defective image i, a good image of its category).
class MvtecPool : public ScenePool {
 public:
  MvtecPool(MvtecSources sources, int64_t image_size, uint64_t seed)
      : ScenePool(sources.defects->size(), image_size, seed), sources_(std::move(sources)) {}

 protected:
  // Defective image `index`, with its mask.
  data::Sample load_defect(int64_t index) const {
    data::Sample defect = sources_.defects->get(index);
    LOOM_CHECK(defect.mask.defined(), "--data: ", defect.path, " has no ground-truth mask");
    return defect;
  }
  // A good image of `category`, drawn uniformly from gen.
  data::Sample load_good(const std::string& category, Generator& gen) const {
    const std::vector<int64_t>& good = sources_.good_by_category.at(category);
    return sources_.good->get(good[static_cast<size_t>(data::draw_int(gen, 0, static_cast<int64_t>(good.size())))]);
  }
  // Defective image `index` and a good image of its category drawn from gen.
  std::pair<data::Sample, data::Sample> load_pair(int64_t index, Generator& gen) const {
    data::Sample defect = load_defect(index);
    data::Sample clean = load_good(defect.category, gen);
    return {std::move(defect), std::move(clean)};
  }

  MvtecSources sources_;
};

// Stage 1's windows of one defective image, from its mask alone (see the header).
struct CropPlan {
  models::PasteWindow defect;  // x's side x side window, centred on the mask's bounding box
  models::PasteWindow keep;    // the bounding box grown by the margin, clipped to the image
  int64_t side = 0;
  int64_t height = 0, width = 0;  // the image's
  int64_t free_positions = 0;     // side x side windows not overlapping keep (0: fall back)
};

// Window tops (or lefts) t in [0, n) whose span [t, t + side) overlaps [lo, hi): [first, last).
std::pair<int64_t, int64_t> overlapping_range(int64_t n, int64_t side, int64_t lo, int64_t hi) {
  const int64_t first = std::max<int64_t>(0, lo - side + 1), last = std::min(n, hi);
  return {first, std::max(first, last)};
}

CropPlan plan_crop(const Tensor& mask, int64_t S) {  // mask (1, H, W) 0/1
  CropPlan p;
  p.height = mask.size(1);
  p.width = mask.size(2);
  const models::PasteWindow box = mask_bounding_box(mask);
  p.side = std::min(std::min(p.height, p.width), std::max(S, std::max(box.height, box.width) * 3 / 2));
  p.defect = centred_window(box, p.side, p.height, p.width);
  const int64_t margin = (p.side + 15) / 16;  // ceil(side / 16)
  p.keep.top = std::max<int64_t>(0, box.top - margin);
  p.keep.left = std::max<int64_t>(0, box.left - margin);
  p.keep.height = std::min(p.height, box.top + box.height + margin) - p.keep.top;
  p.keep.width = std::min(p.width, box.left + box.width + margin) - p.keep.left;
  // Positions: tops 0..H-side, lefts 0..W-side; a window overlaps keep iff both its
  // top and its left are in the overlapping ranges, a rectangle of positions.
  const int64_t tops = p.height - p.side + 1, lefts = p.width - p.side + 1;
  const auto [t0, t1] = overlapping_range(tops, p.side, p.keep.top, p.keep.top + p.keep.height);
  const auto [l0, l1] = overlapping_range(lefts, p.side, p.keep.left, p.keep.left + p.keep.width);
  p.free_positions = tops * lefts - (t1 - t0) * (l1 - l0);
  return p;
}

// Free position number k (0 <= k < plan.free_positions, row-major order) of plan's windows.
data::CropBox free_window(const CropPlan& p, int64_t k) {
  const int64_t tops = p.height - p.side + 1, lefts = p.width - p.side + 1;
  const auto [t0, t1] = overlapping_range(tops, p.side, p.keep.top, p.keep.top + p.keep.height);
  const auto [l0, l1] = overlapping_range(lefts, p.side, p.keep.left, p.keep.left + p.keep.width);
  for (int64_t top = 0; top < tops; ++top) {
    const bool blocked_row = top >= t0 && top < t1;  // lefts [l0, l1) overlap keep in this row
    const int64_t in_row = blocked_row ? lefts - (l1 - l0) : lefts;
    if (k < in_row) return {top, blocked_row && k >= l0 ? k + (l1 - l0) : k, p.side, p.side};
    k -= in_row;
  }
  LOOM_CHECK(false, "free_window: position out of range");
  return {};
}

class MvtecDefectCrops : public MvtecPool {
 public:
  MvtecDefectCrops(MvtecSources sources, int64_t image_size, uint64_t seed)
      : MvtecPool(std::move(sources), image_size, seed) {
    for (const data::SampleFile& file : sources_.defects->files()) {
      plans_.push_back(plan_crop(data::load_mask(file.mask_paths, file.image_path), image_size_));
      ++(plans_.back().free_positions > 0 ? counts_.own_image : counts_.good_image);
    }
  }
  CropConditionCounts counts() const { return counts_; }

 protected:
  data::Sample make(int64_t index) const override {
    NoGradGuard no_grad;
    const int64_t S = image_size_;
    const CropPlan& plan = plans_[static_cast<size_t>(index)];
    Generator gen = philox_stream(seed_, static_cast<uint64_t>(index) << 32);
    const data::Sample defect = load_defect(index);
    const data::CropBox around{plan.defect.top, plan.defect.left, plan.side, plan.side};
    const Tensor x = data::resize_area(data::crop(defect.image, around), S, S);  // (C, S, S)
    Tensor c;  // (C, S, S)
    if (plan.free_positions > 0) {
      const data::CropBox beside = free_window(plan, data::draw_int(gen, 0, plan.free_positions));
      c = data::resize_area(data::crop(defect.image, beside), S, S);
    } else {
      const data::Sample clean = load_good(defect.category, gen);
      const int64_t cside = std::min({plan.side, clean.image.size(1), clean.image.size(2)});
      const data::CropBox cbox = data::sample_crop_box(clean.image.size(1), clean.image.size(2), cside, cside, gen);
      c = data::resize_area(data::crop(clean.image, cbox), S, S);
    }

    data::Sample sample;
    sample.image = cat({x, c}, 0);  // (6, S, S)
    sample.label = 1;
    sample.defect_type = defect.defect_type;
    sample.category = defect.category;
    sample.path = defect.path;
    return sample;
  }

 private:
  std::vector<CropPlan> plans_;  // per defective image
  CropConditionCounts counts_;
};

class MvtecFusionPool : public MvtecPool {
 public:
  MvtecFusionPool(MvtecSources sources, int64_t image_size, uint64_t seed, int64_t margin)
      : MvtecPool(std::move(sources), image_size, seed), margin_(margin) {}

 protected:
  data::Sample make(int64_t index) const override {
    NoGradGuard no_grad;
    const int64_t S = image_size_;
    Generator gen = philox_stream(seed_, static_cast<uint64_t>(index) << 32);
    const auto [defect, clean] = load_pair(index, gen);
    const Tensor y = data::resize_area(defect.image, S, S);        // (3, S, S)
    const Tensor coverage = data::resize_area(defect.mask, S, S);  // (1, S, S) in [0, 1]
    Tensor mask = gt(coverage, Tensor::full(coverage.shape(), 0.5f)).to(DType::Float32);
    if (sum(mask).item() == 0) mask = gt(coverage, Tensor::zeros(coverage.shape())).to(DType::Float32);
    const Tensor b = data::resize_area(clean.image, S, S);  // (3, S, S)
    const Tensor x = paste_defect_window(y, mask, b, margin_);

    data::Sample sample;
    sample.image = cat({x, y, b}, 0);  // (9, S, S)
    sample.mask = mask;                // (1, S, S)
    sample.label = 1;
    sample.defect_type = defect.defect_type;
    sample.category = defect.category;
    sample.path = defect.path;
    return sample;
  }

 private:
  int64_t margin_;
};

}  // namespace

std::shared_ptr<data::Dataset> make_mvtec_defect_crops(const std::string& dir, int64_t image_size, uint64_t seed) {
  return std::make_shared<MvtecDefectCrops>(open_sources(dir, "cgan"), image_size, seed);
}

std::shared_ptr<data::Dataset> make_mvtec_fusion_pool(const std::string& dir, int64_t image_size, uint64_t seed,
                                                      int64_t margin) {
  return std::make_shared<MvtecFusionPool>(open_sources(dir, "fusion"), image_size, seed, margin);
}

CropConditionCounts crop_condition_counts(const data::Dataset& crops) {
  const auto* pool = dynamic_cast<const MvtecDefectCrops*>(&crops);
  LOOM_CHECK(pool != nullptr, "crop_condition_counts: the dataset was not made by make_mvtec_defect_crops");
  return pool->counts();
}

std::string describe_crop_conditions(const CropConditionCounts& counts) {
  return "conditions: " + std::to_string(counts.own_image) + " beside the defect in its own image, " +
         std::to_string(counts.good_image) + " from train/good (no room beside the defect)";
}

}  // namespace loom::train
