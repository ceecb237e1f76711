// mvtec_defect_crops.cpp: cgan training pairs from MVTec AD (see mvtec_defect_crops.h).
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

class MvtecDefectCrops : public ScenePool {
 public:
  MvtecDefectCrops(std::shared_ptr<data::FileListDataset> defects, std::shared_ptr<data::FileListDataset> good,
                   int64_t image_size, uint64_t seed)
      : ScenePool(defects->size(), image_size, seed), defects_(std::move(defects)), good_(std::move(good)) {
    for (int64_t i = 0; i < good_->size(); ++i) good_by_category_[good_->files()[static_cast<size_t>(i)].category].push_back(i);
  }

 protected:
  data::Sample make(int64_t index) const override {
    NoGradGuard no_grad;
    const int64_t S = image_size_;
    const data::Sample defect = defects_->get(index);
    LOOM_CHECK(defect.mask.defined(), "cgan --data: ", defect.path, " has no ground-truth mask");
    const int64_t H = defect.image.size(1), W = defect.image.size(2);
    const models::PasteWindow box = mask_bounding_box(defect.mask);
    const int64_t side = std::min(std::min(H, W), std::max(S, std::max(box.height, box.width) * 3 / 2));
    const models::PasteWindow w = centred_window(box, side, H, W);
    const Tensor x = data::resize_area(data::crop(defect.image, {w.top, w.left, side, side}), S, S);  // (C, S, S)

    Generator gen = philox_stream(seed_, static_cast<uint64_t>(index) << 32);
    const auto found = good_by_category_.find(defect.category);
    LOOM_CHECK(found != good_by_category_.end(), "cgan --data: no train/good image of category '", defect.category,
               "' for ", defect.path);
    const std::vector<int64_t>& good = found->second;
    const data::Sample clean = good_->get(good[static_cast<size_t>(data::draw_int(gen, 0, int64_t(good.size())))]);
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

 private:
  std::shared_ptr<data::FileListDataset> defects_, good_;
  std::map<std::string, std::vector<int64_t>> good_by_category_;
};

}  // namespace

std::shared_ptr<data::Dataset> make_mvtec_defect_crops(const std::string& dir, int64_t image_size, uint64_t seed) {
  const data::Layout layout = data::detect_layout(dir);
  LOOM_CHECK(layout == data::Layout::MvtecAD, "cgan --data: ", dir, " is not in the MVTec AD layout (found ",
             data::layout_name(layout), ")");
  const data::DatasetOptions rgb{.color = data::ColorMode::RGB};
  auto defects = data::open_dataset(dir, {.split = data::Split::Test, .labels = data::LabelFilter::Defective}, rgb);
  auto good = data::open_dataset(dir, {.split = data::Split::Train, .labels = data::LabelFilter::Good}, rgb);
  return std::make_shared<MvtecDefectCrops>(std::move(defects), std::move(good), image_size, seed);
}

}  // namespace loom::train
