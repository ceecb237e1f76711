// defect_scenes.h: procedural training data of the multistage GAN's trainers
// (train_cgan.h, train_fusion.h): one fabric photographed with and without one
// defect, and the two pools of samples built from such scenes.
//
// Scene i (render_defect_scene): from the Philox stream (seed, offset i 2^32),
//   category  uniform over data::fabric::fabric_categories()
//   fabric F  preset_params(category), tileable, rendered at 2R x 2R
//   kind      uniform over data::fabric::defect_kinds()
//   defective = render_defect(F, kind).image,  clean = F.render()   (identical off the mask)
// both area-shrunk to R x R (antialiased, as the dcgan pool); mask = 1 where the
// shrunk block touches a defect pixel. Scene i depends only on (seed, i, R).
//
// Pools (data::Dataset, each sample rendered once when first asked for, then
// kept; thread-safe, so a DataLoader worker may fill them):
//   CganDefectPool   sample = cat(x, c) (6, S, S) in [0, 1]: x = the S x S window of a
//                    scene (R = 2S) centred on its defect's bounding box (clamped inside),
//                    c = an S x S window of the same scene's CLEAN image at a random
//                    position (the defect-free texture whose Gram matrices condition G and D).
//   FusionDefectPool sample = cat(x, y, b0) (9, S, S) in [0, 1] with mask (1, S, S) and
//                    label = the defect kind: y = the defective scene (R = S), b0 = its clean
//                    image, x = the imperfect input (see make_fusion_input).
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "models/imperfect_input.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace loom::train {

struct DefectScene {
  Tensor defective;  // (3, R, R) float32 in [0, 1]
  Tensor clean;      // (3, R, R): the same fabric without the defect
  Tensor mask;       // (1, R, R) float32, 1 on the defect
  int64_t kind = 0;  // index into data::fabric::defect_kinds()
  std::string category;
};

DefectScene render_defect_scene(int64_t size, uint64_t seed, int64_t index);

// The smallest window holding every mask pixel (mask (1, H, W) 0/1, non-empty).
models::PasteWindow mask_bounding_box(const Tensor& mask);

// A window of `side` x `side` centred on `box`, moved inside an image of (height, width).
models::PasteWindow centred_window(const models::PasteWindow& box, int64_t side, int64_t height, int64_t width);

// Background of the fusion input: the same fabric rolled (seams where the
// texture no longer lines up), or another fabric of the same category.
enum class FusionBackground { Shifted, Other };
FusionBackground fusion_background_from_name(const std::string& name);  // "shifted" | "other"

// The imperfect input of stage 2 from a defective image y (3, H, W), its mask
// m (1, H, W) 0/1 (non-empty) and a defect-free background b (3, H, W), all in [0, 1]:
//   W = the defect's bounding box grown by `margin` pixels on each side (clipped)
//   P = y_W m_W + b_W (1 - m_W): the defect's own pixels, the rest of the window
//       from b, so the texture around the defect does not match y's
//   x = make_imperfect_pair(y, P, W).input = y (1 - w) + P w     (w = 1 inside W)
// T(x) should give back y: keep the defect, fuse the window into the fabric.
Tensor paste_defect_window(const Tensor& defective, const Tensor& mask, const Tensor& background, int64_t margin);

// The imperfect input of stage 2 for one scene (all (3, S, S) in [0, 1]):
// paste_defect_window(y, m, b, margin) with the background
//   b = the scene's clean image rolled by (dy, dx) ~ U[S/4, 3S/4) each, or another
//       fabric of the scene's category (drawn from gen).
Tensor make_fusion_input(const DefectScene& scene, FusionBackground background, int64_t margin, Generator& gen);

// A lazily rendered, kept pool of samples (see above).
class ScenePool : public data::Dataset {
 public:
  ScenePool(int64_t count, int64_t image_size, uint64_t seed);
  int64_t size() const override { return static_cast<int64_t>(samples_.size()); }
  data::Sample get(int64_t index) const override;

 protected:
  virtual data::Sample make(int64_t index) const = 0;
  int64_t image_size_;
  uint64_t seed_;

 private:
  mutable std::mutex mutex_;
  mutable std::vector<std::shared_ptr<const data::Sample>> samples_;
};

class CganDefectPool : public ScenePool {
 public:
  using ScenePool::ScenePool;

 protected:
  data::Sample make(int64_t index) const override;
};

class FusionDefectPool : public ScenePool {
 public:
  FusionDefectPool(int64_t count, int64_t image_size, uint64_t seed, FusionBackground background, int64_t margin);

 protected:
  data::Sample make(int64_t index) const override;

 private:
  FusionBackground background_;
  int64_t margin_;
};

}  // namespace loom::train
