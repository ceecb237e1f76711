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
  // Defective image `index` and a good image of its category drawn from gen.
  std::pair<data::Sample, data::Sample> load_pair(int64_t index, Generator& gen) const {
    const data::Sample defect = sources_.defects->get(index);
    LOOM_CHECK(defect.mask.defined(), "--data: ", defect.path, " has no ground-truth mask");
    const std::vector<int64_t>& good = sources_.good_by_category.at(defect.category);
    const data::Sample clean =
        sources_.good->get(good[static_cast<size_t>(data::draw_int(gen, 0, static_cast<int64_t>(good.size())))]);
    return {defect, clean};
  }

 private:
  MvtecSources sources_;
};

class MvtecDefectCrops : public MvtecPool {
 public:
  using MvtecPool::MvtecPool;

 protected:
  data::Sample make(int64_t index) const override {
    NoGradGuard no_grad;
    const int64_t S = image_size_;
    Generator gen = philox_stream(seed_, static_cast<uint64_t>(index) << 32);
    const auto [defect, clean] = load_pair(index, gen);
    const int64_t H = defect.image.size(1), W = defect.image.size(2);
    const models::PasteWindow box = mask_bounding_box(defect.mask);
    const int64_t side = std::min(std::min(H, W), std::max(S, std::max(box.height, box.width) * 3 / 2));
    const models::PasteWindow w = centred_window(box, side, H, W);
    const Tensor x = data::resize_area(data::crop(defect.image, {w.top, w.left, side, side}), S, S);  // (C, S, S)
    const int64_t cside = std::min({side, clean.image.size(1), clean.image.size(2)});
    const data::CropBox cbox = data::sample_crop_box(clean.image.size(1), clean.image.size(2), cside, cside, gen);
    const Tensor c = data::resize_area(data::crop(clean.image, cbox), S, S);  // (C, S, S)

    data::Sample sample;
    sample.image = cat({x, c}, 0);  // (6, S, S)
    sample.label = 1;
    sample.defect_type = defect.defect_type;
    sample.category = defect.category;
    sample.path = defect.path;
    return sample;
  }
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

}  // namespace loom::train
