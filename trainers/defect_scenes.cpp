// defect_scenes.cpp: procedural defect scenes and the cgan / fusion sample pools
// (see defect_scenes.h).
#include "trainers/defect_scenes.h"

#include <algorithm>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/fabric/defects.h"
#include "data/fabric/presets.h"
#include "data/random_draws.h"
#include "data/transforms.h"
#include "tensor/error.h"
#include "trainers/philox_stream.h"

namespace loom::train {
namespace {

namespace fabric = data::fabric;

// A tileable fabric of `category` rendered at 2R and area-shrunk to R: (3, R, R).
fabric::Fabric make_fabric(const std::string& category, int64_t size, Generator& gen) {
  fabric::FabricParams params = fabric::preset_params(category, gen);
  params.tileable = true;  // rolling it (the shifted background) leaves no seam of its own
  return fabric::Fabric(params, 2 * size, 2 * size, gen);
}

Tensor shrink(const Tensor& image, int64_t size) { return data::resize_area(image, size, size); }

// x rolled by (dy, dx) along its last two dims: out[.., i, j] = x[.., (i - dy) mod H, (j - dx) mod W].
Tensor roll2d(const Tensor& x, int64_t dy, int64_t dx) {
  const int64_t h_dim = x.dim() - 2, w_dim = x.dim() - 1;
  const int64_t H = x.size(h_dim), W = x.size(w_dim);
  dy = ((dy % H) + H) % H;
  dx = ((dx % W) + W) % W;
  Tensor rows = dy == 0 ? x : cat({x.narrow(h_dim, H - dy, dy), x.narrow(h_dim, 0, H - dy)}, h_dim);
  return dx == 0 ? rows : cat({rows.narrow(w_dim, W - dx, dx), rows.narrow(w_dim, 0, W - dx)}, w_dim);
}

data::CropBox box_of(const models::PasteWindow& w) { return {w.top, w.left, w.height, w.width}; }

}  // namespace

DefectScene render_defect_scene(int64_t size, uint64_t seed, int64_t index) {
  LOOM_CHECK(size >= 8, "defect scene: size must be at least 8, got ", size);
  Generator gen = philox_stream(seed, static_cast<uint64_t>(index) << 32);
  const auto& categories = fabric::fabric_categories();
  const auto& kinds = fabric::defect_kinds();
  DefectScene scene;
  scene.category = categories[static_cast<size_t>(data::draw_int(gen, 0, static_cast<int64_t>(categories.size())))];
  const fabric::Fabric fab = make_fabric(scene.category, size, gen);
  scene.kind = data::draw_int(gen, 0, static_cast<int64_t>(kinds.size()));
  const fabric::DefectSample sample = fabric::render_defect(fab, kinds[static_cast<size_t>(scene.kind)], gen);
  scene.defective = shrink(sample.image, size);  // (3, R, R)
  scene.clean = shrink(fab.render(), size);      // (3, R, R)
  // 1 where the 2x2 block held a defect pixel: block mean of the 0/1 mask > 0.
  const Tensor mask01 = data::to_float01(sample.mask);                            // (1, 2R, 2R)
  const Tensor coverage = shrink(mask01, size);                                   // (1, R, R)
  scene.mask = gt(coverage, Tensor::zeros(coverage.shape())).to(DType::Float32);  // (1, R, R)
  return scene;
}

models::PasteWindow mask_bounding_box(const Tensor& mask) {
  LOOM_CHECK(mask.dim() == 3 && mask.size(0) == 1, "mask_bounding_box: mask must be (1, H, W), got ",
             shape_str(mask.shape()));
  const int64_t H = mask.size(1), W = mask.size(2);
  const std::vector<float> m = mask.contiguous().to_vector<float>();
  int64_t top = H, left = W, bottom = -1, right = -1;
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = 0; j < W; ++j)
      if (m[static_cast<size_t>(i * W + j)] > 0.5f) {
        top = std::min(top, i), bottom = std::max(bottom, i);
        left = std::min(left, j), right = std::max(right, j);
      }
  LOOM_CHECK(bottom >= 0, "mask_bounding_box: the ", H, "x", W, " mask is empty");
  return {.top = top, .left = left, .height = bottom - top + 1, .width = right - left + 1};
}

models::PasteWindow centred_window(const models::PasteWindow& box, int64_t side, int64_t height, int64_t width) {
  LOOM_CHECK(side <= height && side <= width, "centred_window: a ", side, " window does not fit a ", height, "x", width,
             " image");
  const int64_t cy = box.top + box.height / 2, cx = box.left + box.width / 2;
  return {.top = std::clamp<int64_t>(cy - side / 2, 0, height - side),
          .left = std::clamp<int64_t>(cx - side / 2, 0, width - side),
          .height = side,
          .width = side};
}

FusionBackground fusion_background_from_name(const std::string& name) {
  if (name == "shifted") return FusionBackground::Shifted;
  if (name == "other") return FusionBackground::Other;
  LOOM_CHECK(false, "--background must be 'shifted' or 'other', got '", name, "'");
  return FusionBackground::Shifted;
}

Tensor paste_defect_window(const Tensor& defective, const Tensor& mask, const Tensor& background, int64_t margin) {
  NoGradGuard no_grad;
  const int64_t H = defective.size(-2), W = defective.size(-1);
  LOOM_CHECK(mask.dim() == 3 && mask.size(1) == H && mask.size(2) == W && background.shape() == defective.shape(),
             "paste_defect_window: image ", shape_str(defective.shape()), ", mask ", shape_str(mask.shape()),
             " and background ", shape_str(background.shape()), " must have the same height and width");
  // W: the defect's bounding box grown by the margin, clipped to the image.
  const models::PasteWindow box = mask_bounding_box(mask);
  models::PasteWindow w;
  w.top = std::max<int64_t>(0, box.top - margin);
  w.left = std::max<int64_t>(0, box.left - margin);
  w.height = std::min<int64_t>(H, box.top + box.height + margin) - w.top;
  w.width = std::min<int64_t>(W, box.left + box.width + margin) - w.left;
  const Tensor m = data::crop(mask, box_of(w));  // (1, h, w)
  const Tensor patch =
      data::crop(defective, box_of(w)) * m + data::crop(background, box_of(w)) * (1.0 - m);  // (3, h, w)
  return models::make_imperfect_pair(defective.unsqueeze(0), patch.unsqueeze(0), {w}).input.squeeze(0);
}

Tensor make_fusion_input(const DefectScene& scene, FusionBackground background, int64_t margin, Generator& gen) {
  NoGradGuard no_grad;
  const int64_t S = scene.defective.size(-1);
  Tensor b;  // (3, S, S) defect-free background
  if (background == FusionBackground::Shifted) {
    const int64_t dy = data::draw_int(gen, S / 4, 3 * S / 4), dx = data::draw_int(gen, S / 4, 3 * S / 4);
    b = roll2d(scene.clean, dy, dx);
  } else {
    b = shrink(make_fabric(scene.category, S, gen).render(), S);
  }
  return paste_defect_window(scene.defective, scene.mask, b, margin);
}

ScenePool::ScenePool(int64_t count, int64_t image_size, uint64_t seed)
    : image_size_(image_size), seed_(seed), samples_(static_cast<size_t>(count)) {
  LOOM_CHECK(count >= 1, "defect pool: the number of samples must be positive, got ", count);
}

data::Sample ScenePool::get(int64_t index) const {
  LOOM_CHECK(index >= 0 && index < size(), "defect pool: index ", index, " outside [0, ", size(), ")");
  std::shared_ptr<const data::Sample> sample;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    sample = samples_[static_cast<size_t>(index)];
  }
  if (!sample) {
    sample = std::make_shared<const data::Sample>(make(index));
    std::lock_guard<std::mutex> lock(mutex_);
    samples_[static_cast<size_t>(index)] = sample;
  }
  return *sample;
}

data::Sample CganDefectPool::make(int64_t index) const {
  NoGradGuard no_grad;
  const int64_t S = image_size_;
  const DefectScene scene = render_defect_scene(2 * S, seed_, index);
  Generator gen = philox_stream(seed_, (static_cast<uint64_t>(index) << 32) + (uint64_t{1} << 31));
  const models::PasteWindow defect = centred_window(mask_bounding_box(scene.mask), S, 2 * S, 2 * S);
  const data::CropBox condition = data::sample_crop_box(2 * S, 2 * S, S, S, gen);
  data::Sample sample;
  sample.image =
      cat({data::crop(scene.defective, box_of(defect)), data::crop(scene.clean, condition)}, 0);  // (6, S, S)
  sample.label = 1;
  sample.defect_type = data::fabric::defect_name(data::fabric::defect_kinds()[static_cast<size_t>(scene.kind)]);
  sample.category = scene.category;
  sample.path = "fabric-defect:" + std::to_string(index);
  return sample;
}

FusionDefectPool::FusionDefectPool(int64_t count, int64_t image_size, uint64_t seed, FusionBackground background,
                                   int64_t margin)
    : ScenePool(count, image_size, seed), background_(background), margin_(margin) {}

data::Sample FusionDefectPool::make(int64_t index) const {
  NoGradGuard no_grad;
  const DefectScene scene = render_defect_scene(image_size_, seed_, index);
  Generator gen = philox_stream(seed_, (static_cast<uint64_t>(index) << 32) + (uint64_t{1} << 31));
  const Tensor input = make_fusion_input(scene, background_, margin_, gen);  // (3, S, S)
  data::Sample sample;
  sample.image = cat({input, scene.defective, scene.clean}, 0);  // (9, S, S)
  sample.mask = scene.mask;                                      // (1, S, S)
  sample.label = scene.kind;
  sample.defect_type = data::fabric::defect_name(data::fabric::defect_kinds()[static_cast<size_t>(scene.kind)]);
  sample.category = scene.category;
  sample.path = "fabric-defect:" + std::to_string(index);
  return sample;
}

}  // namespace loom::train
