// grid.h: sample sheets: a batch of images tiled into one image, with padding,
// optional per-image coloured borders (e.g. red around defective samples) and
// optional per-image captions in the built-in 5x7 font (data/font5x7.h).
//
// Layout (torchvision's make_grid when there are no captions): with N images
// of (C, H, W), ncol = min(nrow, N) columns and rows = ceil(N / ncol),
//   band   = captions ? 7 * caption_scale + 2 : 0    (a caption strip under each image)
//   cell   = (H + band + padding) x (W + padding)
//   output = (C', rows * cell_h + padding, ncol * cell_w + padding), filled with pad_value
//   image k goes to top = padding + (k / ncol) * cell_h, left = padding + (k % ncol) * cell_w;
//   its caption's top-left corner is (top + H + 1, left), clipped to the image width;
//   its border fills the ring of border_width pixels just outside the image and
//   its caption strip (rows top .. top + H + band), inside the padding; when
//   2 * border_width > padding, neighbouring borders overlap and the later
//   image's border wins.
// C' = C, except that a gray batch (C = 1) with a border becomes RGB (C' = 3);
// colours on a gray sheet are drawn as their BT.601 luma.
// Float input gives a float32 sheet in [0, 1]; uint8 input gives uint8 (colours
// and pad_value rounded to 0..255).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace loom::data {

struct Rgb {
  double r = 0, g = 0, b = 0;  // each in [0, 1]
};
inline constexpr Rgb kRed{1, 0, 0}, kGreen{0, 1, 0}, kWhite{1, 1, 1}, kBlack{0, 0, 0};

struct GridOptions {
  int64_t nrow = 8;        // images per grid row
  int64_t padding = 2;     // pixels between images and around the sheet
  double pad_value = 0.0;  // in [0, 1], every channel
  // Empty, or one entry per image (std::nullopt: no border for that image).
  std::vector<std::optional<Rgb>> borders;
  int64_t border_width = 1;  // 1 <= border_width <= padding when a border is drawn
  // Empty, or one per image (an empty string: no caption). Clipped to W.
  std::vector<std::string> captions;
  Rgb caption_color = kWhite;
  int64_t caption_scale = 1;  // each font pixel becomes scale x scale
};

// images: (N, C, H, W) with C = 1 or 3, float in [0, 1] or uint8.
Tensor make_grid(const Tensor& images, const GridOptions& opt = {});
// images: N tensors of the same (C, H, W) and dtype.
Tensor make_grid(const std::vector<Tensor>& images, const GridOptions& opt = {});
// save_png(path, make_grid(images, opt)), for either form of the images.
void save_grid(const std::string& path, const Tensor& images, const GridOptions& opt = {});
void save_grid(const std::string& path, const std::vector<Tensor>& images, const GridOptions& opt = {});

}  // namespace loom::data
