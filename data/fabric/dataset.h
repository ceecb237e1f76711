// dataset.h: procedural fabric datasets in the MVTec AD layout, and the sample
// sheet of every category and defect class (docs/fabric_samples.png).
//
// For each category C (a preset of presets.h) write_fabric_dataset writes
//   OUT/C/train/good/NNN.png                 n_train defect-free images
//   OUT/C/test/good/NNN.png                  n_test defect-free images
//   OUT/C/test/<defect>/NNN.png              n_test images per defect class
//   OUT/C/ground_truth/<defect>/NNN_mask.png their masks: 0 or 255, same size
// Masks are the pixels where the fabric's surface changed (defects.h): every
// pixel outside is identical to the same fabric without the defect.
//
// Every image has its own Philox stream: generator (seed, offset = stream << 32)
// with stream = ((category index in fabric_categories() * 16 + part) << 20) + k,
// part 0 = train/good, 1 = test/good, 2 + i = defect class i of defect_kinds(),
// k = the image's number. So an image does not depend on n_train, n_test or on
// which other categories and defects are written.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/fabric/defects.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace loom::data::fabric {

// Image sides from 16 px (smaller leaves a weave repeat or two) to 4096 px (a
// (3, 4096, 4096) float image is 192 MiB, and a render holds several).
inline constexpr int64_t kMinFabricSize = 16, kMaxFabricSize = 4096;
// Images per folder: at most 2^20, the Philox streams of one part (below).
inline constexpr int64_t kMaxFabricImages = int64_t{1} << 20;

struct FabricDatasetOptions {
  std::string out_dir;
  std::vector<std::string> categories;  // empty: all of fabric_categories()
  std::vector<DefectKind> defects;      // empty: all of defect_kinds()
  int64_t n_train = 100;                // train/good images per category (0..kMaxFabricImages)
  int64_t n_test = 20;                  // test/good images, and test images per defect class (idem)
  int64_t size = 256;                   // square image side, kMinFabricSize..kMaxFabricSize
  uint64_t seed = 0;
  bool tileable = false;  // render seamlessly tileable fabrics
  // A non-empty out_dir is refused unless force; with force, files of the same
  // names are overwritten and any other files are left in place.
  bool force = false;
};

// The generator of one image (see the stream numbering above).
Generator fabric_sample_generator(uint64_t seed, const std::string& category, int part, int64_t k);

struct FabricSample {
  Tensor image;  // (3, size, size) float32 in [0, 1]
  Tensor mask;   // (1, size, size) uint8 0/255; undefined for a good image
};

// One image of `category`: defect-free, or with one defect of the given kind.
FabricSample make_fabric_sample(const std::string& category, std::optional<DefectKind> defect, int64_t size,
                                bool tileable, Generator& gen);

// Writes the dataset; `progress` (if set) receives a line with the plan once
// the options are checked, then one line per finished folder. Returns the number of images written (masks not counted).
int64_t write_fabric_dataset(const FabricDatasetOptions& options,
                             const std::function<void(const std::string&)>& progress = {});

// The sample sheet: one row per category, one fabric per row (the test/good
// image 0 of the dataset for `seed`) shown as it is and then with each defect
// class drawn on it (defect streams as in the dataset, image 0), each defect
// outlined by a magenta ring two pixels outside its mask, captioned with the category
// (first column) or the defect's name. Images of side `size`; float32 (3, H, W).
Tensor fabric_sample_sheet(int64_t size, uint64_t seed);

}  // namespace loom::data::fabric
