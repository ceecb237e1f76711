// file_list_dataset.cpp: loading one SampleFile (see file_list_dataset.h).
#include "data/file_list_dataset.h"

#include <algorithm>
#include <utility>

#include "autograd/functions.h"
#include "tensor/error.h"

namespace loom::data {

namespace {

std::string size_text(const Tensor& chw) { return std::to_string(chw.size(2)) + "x" + std::to_string(chw.size(1)); }

// (C, H, W) -> (C, height, width); bilinear or nearest.
Tensor resize_chw(const Tensor& chw, int64_t height, int64_t width, bool nearest) {
  if (chw.size(1) == height && chw.size(2) == width) return chw;
  const Tensor nchw = chw.unsqueeze(0);  // (1, C, H, W)
  return (nearest ? upsample_nearest(nchw, height, width) : upsample_bilinear(nchw, height, width)).squeeze(0);
}

// (1, H, W) 0/1 -> (1, height, width) 0/1 by MaskResize::AnyDefect
// (dataset.h): each shrinking side takes the max over its output pixel's
// source block [floor(d in / out), ceil((d + 1) in / out)); then
// upsample_nearest brings the other sides (which grow or keep their size) to
// their size (nearest is separable, so a side already at its size is copied).
Tensor shrink_mask_any_defect(const Tensor& mask, int64_t height, int64_t width) {
  const int64_t in_h = mask.size(1), in_w = mask.size(2);
  const int64_t out_h = std::min(height, in_h), out_w = std::min(width, in_w);
  const Tensor dense = mask.to(DType::Float32).contiguous();  // (1, H, W)
  const float* m = dense.data<float>();
  Tensor blocks = Tensor::zeros({1, out_h, out_w}, DType::Float32);  // (1, out_h, out_w)
  float* b = blocks.data<float>();
  auto block_of = [](int64_t d, int64_t in, int64_t out) {  // [first, end) of output pixel d
    return std::pair<int64_t, int64_t>{d * in / out, ((d + 1) * in + out - 1) / out};
  };
  for (int64_t y = 0; y < out_h; ++y) {
    const auto [y0, y1] = block_of(y, in_h, out_h);
    for (int64_t x = 0; x < out_w; ++x) {
      const auto [x0, x1] = block_of(x, in_w, out_w);
      for (int64_t sy = y0; sy < y1 && b[y * out_w + x] == 0; ++sy)
        for (int64_t sx = x0; sx < x1; ++sx)
          if (m[sy * in_w + sx] > 0) {
            b[y * out_w + x] = 1.0f;
            break;
          }
    }
  }
  return resize_chw(blocks, height, width, /*nearest=*/true);
}

// The mask resized by `rule` (dataset.h MaskResize).
Tensor resize_mask(const Tensor& mask, int64_t height, int64_t width, MaskResize rule) {
  const bool shrinks = height < mask.size(1) || width < mask.size(2);
  if (rule == MaskResize::AnyDefect && shrinks) return shrink_mask_any_defect(mask, height, width);
  return resize_chw(mask, height, width, /*nearest=*/true);
}

}  // namespace

Tensor load_mask(const std::vector<std::string>& mask_paths, const std::string& image_path) {
  LOOM_CHECK(!mask_paths.empty(), "load_mask: defective image ", image_path, " has no mask file");
  const Tensor first = load_image_u8(mask_paths[0], ColorMode::Gray);  // (1, H, W) uint8
  const int64_t pixels = first.numel();
  Tensor mask = Tensor::zeros(first.shape(), DType::Float32);  // (1, H, W) 0/1
  float* m = mask.data<float>();
  for (size_t k = 0; k < mask_paths.size(); ++k) {
    const Tensor gray = k == 0 ? first : load_image_u8(mask_paths[k], ColorMode::Gray);
    LOOM_CHECK(gray.shape() == first.shape(), "mask ", mask_paths[k], " is ", size_text(gray), " but mask ",
               mask_paths[0], " of the same image ", image_path, " is ", size_text(first));
    const Tensor dense = gray.contiguous();
    const uint8_t* g = dense.data<uint8_t>();
    for (int64_t i = 0; i < pixels; ++i)
      if (g[i] > 127) m[i] = 1.0f;
  }
  return mask;
}

std::string mask_size_mismatch(const std::string& mask_path, int64_t mask_width, int64_t mask_height,
                               const std::string& image_path, int64_t image_width, int64_t image_height) {
  return "mask " + mask_path + " is " + std::to_string(mask_width) + "x" + std::to_string(mask_height) +
         " but its image " + image_path + " is " + std::to_string(image_width) + "x" + std::to_string(image_height) +
         " (width x height)";
}

FileListDataset::FileListDataset(std::vector<SampleFile> files, DatasetOptions options)
    : files_(std::move(files)), options_(options) {
  LOOM_CHECK((options_.height > 0) == (options_.width > 0) && options_.height >= 0 && options_.width >= 0,
             "DatasetOptions: resize needs both height and width > 0 (or both 0 to keep sizes), got ", options_.height,
             "x", options_.width);
}

Sample FileListDataset::get(int64_t index) const {
  LOOM_CHECK(index >= 0 && index < size(), "dataset: index ", index, " out of range [0, ", size(), ")");
  const SampleFile& file = files_[static_cast<size_t>(index)];
  Sample sample;
  sample.path = file.image_path;
  sample.label = file.label;
  sample.defect_type = file.defect_type;
  sample.category = file.category;
  sample.image = load_image(file.image_path, options_.color);  // (C, H, W)
  if (file.label != 0) {
    LOOM_CHECK(!file.mask_paths.empty(), "dataset: defective image ", file.image_path, " has no mask");
    sample.mask = load_mask(file.mask_paths, file.image_path);  // (1, H, W)
    LOOM_CHECK(sample.mask.size(1) == sample.image.size(1) && sample.mask.size(2) == sample.image.size(2), "dataset: ",
               mask_size_mismatch(file.mask_paths[0], sample.mask.size(2), sample.mask.size(1), file.image_path,
                                  sample.image.size(2), sample.image.size(1)));
  }
  if (options_.height > 0) {
    sample.image = resize_chw(sample.image, options_.height, options_.width, /*nearest=*/false);
    if (sample.mask.defined())
      sample.mask = resize_mask(sample.mask, options_.height, options_.width, options_.mask_resize);
  }
  return sample;
}

}  // namespace loom::data
