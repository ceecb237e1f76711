// transforms.h: image transforms for data pipelines: resizing (bilinear and
// area), crops, flips, 90-degree rotations, colour jitter, and the [0, 1] <->
// [-1, 1] range maps that GAN generators use.
//
// Layout: every transform takes an image (C, H, W) or a batch (N, C, H, W)
// and acts on the last two dims; the result has the input's rank. Unless a
// function says otherwise it accepts every dtype (uint8 images and masks,
// float images, int64 label maps) and returns a new contiguous CPU tensor.
//
// Randomness: every random choice comes from the loom::Generator passed in, in
// a fixed number of draws per call whatever the options, so a (seed, offset)
// pair replays the same transform. The random functions come in two halves:
// sample_*() draws a plain description (a CropBox, a GeometricTransform,
// JitterParams) and apply_*() performs it, so the same geometric transform can
// be applied to an image and to its defect mask.
#pragma once
#include <cstdint>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace loom::data {

// ---- resizing ------------------------------------------------------------
// Bilinear, PyTorch's F.interpolate(mode='bilinear', align_corners=False)
// (autograd's upsample_bilinear), no antialiasing: use resize_area to shrink.
// uint8 input is resampled in float32 and rounded to nearest, clamped.
Tensor resize_bilinear(const Tensor& img, int64_t out_h, int64_t out_w);
// Area (box filter): output pixel (i, j) is the mean of the source over the
// rectangle [i H/OH, (i+1) H/OH) x [j W/OW, (j+1) W/OW), source pixels weighted
// by the fraction of them that the rectangle covers. For integer factors this
// is exactly the block mean (avg_pool with kernel = stride = factor); when
// enlarging it is nearest-neighbour with blended edges. Sums in double; uint8
// is rounded to nearest. Float and uint8 only.
Tensor resize_area(const Tensor& img, int64_t out_h, int64_t out_w);

// ---- crops -----------------------------------------------------------------
struct CropBox {
  int64_t top = 0, left = 0, height = 0, width = 0;
  bool operator==(const CropBox&) const = default;
};
// The rows [top, top + height) and columns [left, left + width) of each plane.
// Throws unless the box lies inside the image.
Tensor crop(const Tensor& img, const CropBox& box);
// A box of (height, width) placed uniformly at random inside (in_h, in_w):
// top uniform in [0, in_h - height], left uniform in [0, in_w - width]. Two
// uniform draws from gen.
CropBox sample_crop_box(int64_t in_h, int64_t in_w, int64_t height, int64_t width, Generator& gen);
// crop(img, sample_crop_box(...)): one box for the whole batch.
Tensor random_crop(const Tensor& img, int64_t height, int64_t width, Generator& gen);
// A box at the centre (top = (in_h - height) / 2, rounded down).
CropBox center_crop_box(int64_t in_h, int64_t in_w, int64_t height, int64_t width);

// ---- flips and rotations -----------------------------------------------------
Tensor hflip(const Tensor& img);  // out[.., i, j] = in[.., i, W-1-j]
Tensor vflip(const Tensor& img);  // out[.., i, j] = in[.., H-1-i, j]
// Counter-clockwise by k * 90 degrees, as torch.rot90(img, k, dims=(-2, -1)):
//   k = 1: out (W, H), out[i, j] = in[j, W-1-i]
//   k = 2: out (H, W), out[i, j] = in[H-1-i, W-1-j]
//   k = 3: out (W, H), out[i, j] = in[H-1-j, i]
// k is taken modulo 4 (negative k rotates clockwise).
Tensor rot90(const Tensor& img, int64_t k);

// ---- one random geometric transform for an image and its mask ----------------
struct GeometricOptions {
  int64_t crop_height = 0, crop_width = 0;  // 0: no crop
  double hflip_probability = 0.0;
  double vflip_probability = 0.0;
  bool random_rot90 = false;  // k uniform in {0, 1, 2, 3}
};
struct GeometricTransform {
  bool has_crop = false;
  CropBox crop;
  bool hflip = false, vflip = false;
  int64_t rot90_k = 0;
  bool operator==(const GeometricTransform&) const = default;
};
// Always five uniform draws: top, left, hflip, vflip, rotation.
GeometricTransform sample_geometric(int64_t in_h, int64_t in_w, const GeometricOptions& opt, Generator& gen);
// crop, then hflip, then vflip, then rot90: the same for every dtype, so an
// image and its mask stay aligned.
Tensor apply_geometric(const Tensor& img, const GeometricTransform& t);

// ---- colour jitter ---------------------------------------------------------------
// Ranges, as torchvision's ColorJitter: each factor is drawn uniformly from
// [max(0, 1 - x), 1 + x]; the hue shift from [-hue, hue] with hue <= 0.5.
struct ColorJitterOptions {
  double brightness = 0.0, contrast = 0.0, saturation = 0.0, hue = 0.0;
};
struct JitterParams {
  double brightness = 1.0, contrast = 1.0, saturation = 1.0, hue = 0.0;
};
// Four uniform draws per image, whatever the options.
JitterParams sample_jitter(const ColorJitterOptions& opt, Generator& gen);
// Applies, in this fixed order, each result clamped to [0, 1] (gray = BT.601
// luma 0.299 R + 0.587 G + 0.114 B; a gray image is its own gray):
//   brightness b:  x <- b x
//   contrast c:    x <- c x + (1 - c) mean(gray(x))   (mean over the image)
//   saturation s:  x <- s x + (1 - s) gray(x)          (per pixel; RGB only)
//   hue h:         in HSV, H <- (H + h) mod 1          (RGB only)
// img: (C, H, W) with C = 1 or 3, float in [0, 1] or uint8 (converted to
// float and back, rounded). For a gray image saturation and hue do nothing.
Tensor apply_jitter(const Tensor& img, const JitterParams& p);
// (C, H, W): one draw; (N, C, H, W): an independent draw per image, in order.
Tensor color_jitter(const Tensor& img, const ColorJitterOptions& opt, Generator& gen);

// ---- value ranges ----------------------------------------------------------------
// [0, 1] -> [-1, 1]: 2 x - 1. uint8 is first divided by 255. Float result.
Tensor normalize_to_pm1(const Tensor& img);
// [-1, 1] -> [0, 1]: (x + 1) / 2, clamped to [0, 1]. Float only.
Tensor denormalize_from_pm1(const Tensor& img);

}  // namespace loom::data
