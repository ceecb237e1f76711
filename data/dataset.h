// dataset.h: what a dataset is to loom. A Dataset is an indexed, read-only
// collection of Samples; get(i) loads sample i from disk and may be called from
// several threads at once (the DataLoader's workers do).
//
// A Sample is one image with what the layout says about it:
//   image        float32 (C, H, W) in [0, 1], C from DatasetOptions::color
//   mask         float32 (1, H, W) with 0 (good pixel) or 1 (defect pixel) for a
//                defective image; undefined for a good one
//   label        0 good, 1 defective
//   path         the image file
//   defect_type  "good", or the defect's name as the layout gives it
//   category     the texture/object/class the image belongs to ("" if none)
//
// The readers: ImageFolder (image_folder.h), MVTec AD (mvtec.h), DAGM 2007
// (dagm.h), AITEX (aitex.h); layout.h finds which one a folder needs.
#pragma once
#include <cstdint>
#include <string>

#include "data/image.h"
#include "tensor/tensor.h"

namespace loom::data {

struct Sample {
  Tensor image;  // (C, H, W) float32 in [0, 1]
  Tensor mask;   // (1, H, W) float32 0/1; undefined for good images
  int64_t label = 0;
  std::string path;
  std::string defect_type;
  std::string category;
};

// How a mask is resized to (height, width) (it stays 0/1 either way):
//   Nearest    every side nearest (src = floor(dst in / out)); shrinking keeps
//              one pixel per block, so a defect smaller than a block can vanish
//   AnyDefect  a side that shrinks (out < in): output pixel d covers source
//              pixels floor(d in / out) .. ceil((d + 1) in / out) - 1 (the
//              block of an area resize) and is a defect when any of them is
//              (= area resize > 0), so no defect vanishes; a side that grows
//              or keeps its size is nearest as above
enum class MaskResize { Nearest, AnyDefect };

struct DatasetOptions {
  ColorMode color = ColorMode::RGB;
  // When both are > 0 every image is resized to (height, width): bilinear for
  // the image, `mask_resize` for the mask. No antialiasing: a simple resize,
  // meant for modest factors. 0: keep each file's own size.
  int64_t height = 0, width = 0;
  MaskResize mask_resize = MaskResize::Nearest;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Loads sample `index` (0 <= index < size()). Thread-safe.
  virtual Sample get(int64_t index) const = 0;
};

}  // namespace loom::data
