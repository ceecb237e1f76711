// transforms_geometry.cpp: crops, flips, 90-degree rotations and the random
// geometric transform shared by an image and its mask. See transforms.h.
#include <algorithm>
#include <vector>

#include "data/random_draws.h"
#include "data/transforms.h"
#include "data/transforms_common.h"

namespace loom::data {

namespace {

// out[p, i, j] = in[p, flip_rows ? H-1-i : i, flip_cols ? W-1-j : j] over the
// (P, H, W) planes of a contiguous tensor.
Tensor flip_planes(const Tensor& x, bool flip_rows, bool flip_cols) {
  const int64_t h = x.size(-2), w = x.size(-1), planes = x.numel() / (h * w);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  LOOM_DISPATCH_ALL(x.dtype(), "flip", [&] {
    const scalar_t* src = x.data<scalar_t>();
    scalar_t* dst = out.data<scalar_t>();
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t i = 0; i < h; ++i) {
        const scalar_t* row = src + (p * h + (flip_rows ? h - 1 - i : i)) * w;  // (W)
        scalar_t* out_row = dst + (p * h + i) * w;
        if (flip_cols)
          std::reverse_copy(row, row + w, out_row);
        else
          std::copy(row, row + w, out_row);
      }
  });
  return out;
}

// floor(u * n) for u in [0, 1), kept below n against rounding.
int64_t scaled_draw(double u, int64_t n) {
  return std::min<int64_t>(static_cast<int64_t>(u * static_cast<double>(n)), n - 1);
}

void check_crop_size(int64_t in_h, int64_t in_w, int64_t height, int64_t width, const char* op) {
  LOOM_CHECK(height > 0 && width > 0 && height <= in_h && width <= in_w, op, ": a ", height, "x", width,
             " crop does not fit in a ", in_h, "x", in_w, " image");
}

}  // namespace

Tensor crop(const Tensor& img, const CropBox& box) {
  const Tensor x = transforms_internal::checked_image(img, "crop");
  const int64_t h = x.size(-2), w = x.size(-1);
  LOOM_CHECK(box.top >= 0 && box.left >= 0 && box.height > 0 && box.width > 0 && box.top + box.height <= h &&
                 box.left + box.width <= w,
             "crop: box (top ", box.top, ", left ", box.left, ", ", box.height, "x", box.width,
             ") is not inside the image ", shape_str(img.shape()));
  return x.narrow(x.dim() - 2, box.top, box.height).narrow(x.dim() - 1, box.left, box.width).clone();
}

CropBox sample_crop_box(int64_t in_h, int64_t in_w, int64_t height, int64_t width, Generator& gen) {
  check_crop_size(in_h, in_w, height, width, "random_crop");
  const std::vector<double> u = draw_uniforms(gen, 2, 0.0, 1.0);
  return {scaled_draw(u[0], in_h - height + 1), scaled_draw(u[1], in_w - width + 1), height, width};
}

Tensor random_crop(const Tensor& img, int64_t height, int64_t width, Generator& gen) {
  const Tensor x = transforms_internal::checked_image(img, "random_crop");
  return crop(x, sample_crop_box(x.size(-2), x.size(-1), height, width, gen));
}

CropBox center_crop_box(int64_t in_h, int64_t in_w, int64_t height, int64_t width) {
  check_crop_size(in_h, in_w, height, width, "center_crop");
  return {(in_h - height) / 2, (in_w - width) / 2, height, width};
}

Tensor hflip(const Tensor& img) { return flip_planes(transforms_internal::checked_image(img, "hflip"), false, true); }

Tensor vflip(const Tensor& img) { return flip_planes(transforms_internal::checked_image(img, "vflip"), true, false); }

Tensor rot90(const Tensor& img, int64_t k) {
  const Tensor x = transforms_internal::checked_image(img, "rot90");
  const int64_t rows = x.dim() - 2, cols = x.dim() - 1;
  switch (((k % 4) + 4) % 4) {
    case 1: return flip_planes(x.transpose(rows, cols).contiguous(), true, false);  // vflip(in^T)[i, j] = in[j, W-1-i]
    case 2: return flip_planes(x, true, true);
    case 3: return flip_planes(x.transpose(rows, cols).contiguous(), false, true);  // hflip(in^T)[i, j] = in[H-1-j, i]
    default: return x.clone();
  }
}

GeometricTransform sample_geometric(int64_t in_h, int64_t in_w, const GeometricOptions& opt, Generator& gen) {
  LOOM_CHECK((opt.crop_height == 0) == (opt.crop_width == 0), "sample_geometric: crop_height and crop_width must be ",
             "both 0 (no crop) or both positive, got ", opt.crop_height, " and ", opt.crop_width);
  GeometricTransform t;
  t.has_crop = opt.crop_height > 0;
  if (t.has_crop) check_crop_size(in_h, in_w, opt.crop_height, opt.crop_width, "sample_geometric");
  const std::vector<double> u = draw_uniforms(gen, 5, 0.0, 1.0);  // top, left, hflip, vflip, rotation
  if (t.has_crop)
    t.crop = {scaled_draw(u[0], in_h - opt.crop_height + 1), scaled_draw(u[1], in_w - opt.crop_width + 1),
              opt.crop_height, opt.crop_width};
  t.hflip = u[2] < opt.hflip_probability;
  t.vflip = u[3] < opt.vflip_probability;
  t.rot90_k = opt.random_rot90 ? scaled_draw(u[4], 4) : 0;
  return t;
}

Tensor apply_geometric(const Tensor& img, const GeometricTransform& t) {
  Tensor x = transforms_internal::checked_image(img, "apply_geometric");
  if (t.has_crop) x = crop(x, t.crop);
  if (t.hflip || t.vflip) x = flip_planes(x, t.vflip, t.hflip);
  return rot90(x, t.rot90_k);
}

}  // namespace loom::data
