// pipeline_synthesis.h: stage 3 of `loom pipeline` (pipeline.h), the
// multistage GAN's synthetic defects on target textures that never showed a
// defect in training, written as a dataset in the MVTec AD layout with exact
// masks.
//
// Sample k (k = 0..N-1), every draw from the Philox stream (seed, 2^60 + k 2^32):
//   category  the target categories in turn (k mod their number)
//   b         a train/good image of that category (uniform), area-resized to
//             S x S (S = T's image size)                            (3, S, S) in [0, 1]
//   W         a square paste window, side uniform in
//             [window_min S, window_max S], position uniform inside the image
//   c         the condition patch: another W-sized window of the same b (uniform
//             position), area-resized to S_c (G's crop size): b's own texture,
//             so g = E(c) is the target's own Gram descriptor
//   crop      G(z, g), z ~ N(0, I) (1, nz), G in eval mode         (3, S_c, S_c)
//   x         paste_into_window(b, crop, W) (models/imperfect_input.h, the
//             imperfect input that stage 2 learned to fuse)
//   y         the fused sample: T(x) inside W grown by `margin` px (T fuses the
//             seams on both sides of W's border), b elsewhere:
//               y = b (1 - w') + T(x) w',  w' = 1 inside W grown by margin
//             (T in eval mode). Keeping b outside means a pixel off the mask is
//             the untouched target photograph or T's fused texture in W's ring,
//             never T's reconstruction error far from the defect.
//   mask      the fused region (fused_region_mask below); with --mask box its
//             minimal enclosing rectangle
// A draw whose cleaned mask is empty (G drew nothing that stands out from the
// texture) is redrawn from the same stream, up to `attempts` times; after that
// the sample is skipped. A category left without any sample is removed from
// the dataset (with a warning; the record lists it). None written at all is an error.
//
// The mask rule (fused_region_mask): a pixel is changed when its neighbourhood
// in y looks like no neighbourhood of the background texture nearby. With
//   dist(y, p, b, q) = mean over channels and the 3 x 3 offsets u of |y(p + u) - b(q + u)|
//   novelty(p)       = min over q with |q - p|_inf <= R of dist(y, p, b, q),  R = max(2, S/8)
// (R covers a weave repeat or more, so texture that is plausible but shifted
// against b finds its match and is not called a defect, while a defect does
// not; a per-pixel |y - b| would flag every misaligned thread of a
// high-contrast texture such as gingham, or miss a defect whose colour lies
// between its two yarn colours):
//   tau         = the texture_quantile (0.95) quantile of the background's own
//                 texture variation: min over 2 <= |q - p|_inf <= R of
//                 dist(b, p, b, q), over every 2nd pixel p in each direction
//                 (how far b's patches are from b's other patches nearby)
//   raw mask    = {p in W : novelty(p) > tau}
//   cleaned     = the 8-connected regions of the raw mask with at least
//                 max(min_region_pixels, min_region_share |W|) pixels and at least
//                 keep_share of the largest region's size (the largest regions;
//                 isolated specks where texture happened to differ are dropped)
//   box         = the smallest rectangle holding the cleaned mask (--mask box)
// So the mask is always inside W.
//
// Outputs (out_dir = RUN/stage3_synthetic):
//   <cat>/train/good/<stem>.png      every train/good image of the category, at S x S
//   <cat>/test/gan/NNN.png           the synthetic samples y (8-bit)
//   <cat>/ground_truth/gan/NNN_mask.png  their masks (0/255)
//   sheet (RUN/stage3_sheet.png)     up to sheet_rows rows: good | pasted | fused | mask
//   record (RUN/stage3_samples.json) the rule and, per sample, its category,
//                                    background, window, thresholds, mask pixels, draws
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "models/imperfect_input.h"
#include "tensor/tensor.h"
#include "trainers/inference.h"

namespace loom::eval {

// The checkpoint of a stage's run directory; throws naming the run when it has
// no checkpoint, or one of another model than `model` ("cgan", "fusion", "unet").
train::TrainedRun open_stage_run(const std::filesystem::path& run, const std::string& model);

struct FusedRegionOptions {
  double texture_quantile = 0.95;
  int64_t min_region_pixels = 4;
  double min_region_share = 0.02;  // of the window's area
  double keep_share = 0.25;        // of the largest region's size
  bool box = false;                // the enclosing rectangle instead of the region
};

struct FusedRegion {
  Tensor mask;           // (1, S, S) float32 0/1, inside the window
  double threshold = 0;  // tau
  int64_t pixels = 0;    // defect pixels of mask
};

// tau of the rule above for a background (C, S, S) in [0, 1].
double texture_threshold(const Tensor& background, const FusedRegionOptions& options = {});

// The rule above; background and fused (C, S, S) in [0, 1]; `threshold` >= 0:
// tau given (texture_threshold of the same background, computed once), < 0: computed here.
FusedRegion fused_region_mask(const Tensor& background, const Tensor& fused, const models::PasteWindow& window,
                              const FusedRegionOptions& options = {}, double threshold = -1);

// The q-quantile (0 <= q <= 1) of values by linear interpolation between order
// statistics (numpy's default); throws on an empty list.
double quantile(std::vector<float> values, double q);

struct SynthesisOptions {
  std::filesystem::path cgan_run;       // stage 1's run directory (a cgan run)
  std::filesystem::path fusion_run;     // stage 2's run directory (a fusion run)
  std::filesystem::path target;         // the target dataset (MVTec AD layout)
  std::vector<std::string> categories;  // of the target; empty: all
  std::filesystem::path out_dir, sheet, record;
  int64_t samples = 200;                        // N
  double window_min = 0.35, window_max = 0.55;  // window side / S
  int64_t margin = 4;                           // px of T's output kept around W
  std::string mask = "fused";                   // fused | box
  uint64_t seed = 0;
  int64_t attempts = 8;  // draws per sample before it is skipped
  int64_t sheet_rows = 8;
  FusedRegionOptions region;                         // .box is set from `mask`
  std::function<void(const std::string&)> progress;  // optional progress lines
};

struct SynthesisResult {
  int64_t written = 0;   // samples written
  int64_t rejected = 0;  // draws with an empty mask (redrawn)
  int64_t skipped = 0;   // samples given up after `attempts` draws
  int64_t image_size = 0;
  double mean_mask_share = 0;  // mean share of a sample's pixels its mask marks
};

// Writes the dataset, the sheet and the record described above. Throws naming
// the run when a run directory holds no checkpoint or one of another model,
// naming the target when a category has no train/good image.
SynthesisResult synthesize_defects(const SynthesisOptions& options);

}  // namespace loom::eval
