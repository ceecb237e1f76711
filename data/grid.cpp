// grid.cpp: make_grid and save_grid (see grid.h). The sheet is assembled as a
// float32 canvas in [0, 1] and converted back to uint8 for uint8 input.
#include "data/grid.h"

#include <algorithm>

#include "autograd/functions.h"
#include "data/font5x7.h"
#include "data/image.h"
#include "data/pixel_math.h"

namespace loom::data {

namespace {

// The colour as per-channel values for a canvas with `channels` channels.
std::vector<double> channel_values(const Rgb& c, int64_t channels) {
  if (channels == 3) return {c.r, c.g, c.b};
  return {luma(c.r, c.g, c.b)};
}

// Fills rows [y0, y1) x columns [x0, x1) of canvas (C, H, W), clipped to it.
void fill_rect(Tensor& canvas, int64_t y0, int64_t y1, int64_t x0, int64_t x1, const std::vector<double>& color) {
  const int64_t channels = canvas.size(0), h = canvas.size(1), w = canvas.size(2);
  y0 = std::max<int64_t>(y0, 0), x0 = std::max<int64_t>(x0, 0);
  y1 = std::min(y1, h), x1 = std::min(x1, w);
  float* px = canvas.data<float>();
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t y = y0; y < y1; ++y)
      std::fill(px + (c * h + y) * w + x0, px + (c * h + y) * w + std::max(x0, x1), static_cast<float>(color[c]));
}

void check_options(const GridOptions& opt, int64_t n) {
  LOOM_CHECK(opt.nrow >= 1, "make_grid: nrow must be >= 1, got ", opt.nrow);
  LOOM_CHECK(opt.padding >= 0, "make_grid: padding must be >= 0, got ", opt.padding);
  LOOM_CHECK(opt.borders.empty() || static_cast<int64_t>(opt.borders.size()) == n, "make_grid: ", opt.borders.size(),
             " borders for ", n, " images (give none or one per image)");
  LOOM_CHECK(opt.captions.empty() || static_cast<int64_t>(opt.captions.size()) == n, "make_grid: ", opt.captions.size(),
             " captions for ", n, " images (give none or one per image)");
  LOOM_CHECK(opt.caption_scale >= 1, "make_grid: caption_scale must be >= 1, got ", opt.caption_scale);
  const bool any_border = std::any_of(opt.borders.begin(), opt.borders.end(), [](auto& b) { return b.has_value(); });
  LOOM_CHECK(!any_border || (opt.border_width >= 1 && opt.border_width <= opt.padding), "make_grid: border_width ",
             opt.border_width, " must be between 1 and the padding (", opt.padding,
             "): borders are drawn in the padding");
}

}  // namespace

Tensor make_grid(const Tensor& images, const GridOptions& opt) {
  LOOM_CHECK(images.defined(), "make_grid: the image batch is undefined");
  LOOM_CHECK(images.dim() == 4, "make_grid: expected a batch (N, C, H, W), got shape ", shape_str(images.shape()));
  const int64_t n = images.size(0), channels = images.size(1), h = images.size(2), w = images.size(3);
  LOOM_CHECK(n > 0 && h > 0 && w > 0, "make_grid: empty batch ", shape_str(images.shape()));
  LOOM_CHECK(channels == 1 || channels == 3, "make_grid: expected 1 (gray) or 3 (RGB) channels, got shape ",
             shape_str(images.shape()));
  LOOM_CHECK(images.dtype() == DType::UInt8 || is_floating(images.dtype()),
             "make_grid: expected float or uint8 images, got ", dtype_name(images.dtype()));
  check_options(opt, n);

  const bool any_border = std::any_of(opt.borders.begin(), opt.borders.end(), [](auto& b) { return b.has_value(); });
  const int64_t out_c = channels == 1 && any_border ? 3 : channels;
  const int64_t band = opt.captions.empty() ? 0 : kGlyphHeight * opt.caption_scale + 2;
  const int64_t ncol = std::min(opt.nrow, n), rows = (n + ncol - 1) / ncol;
  const int64_t cell_h = h + band + opt.padding, cell_w = w + opt.padding;
  Tensor canvas = Tensor::full({out_c, rows * cell_h + opt.padding, ncol * cell_w + opt.padding}, opt.pad_value);

  // (N, C', H, W) float32 in [0, 1].
  const Tensor cpu = images.detach().to(Device::cpu());
  Tensor src = cpu.dtype() == DType::UInt8 ? to_float01(cpu) : cpu;
  src = src.to(DType::Float32);
  if (out_c != channels) src = src.expand({n, out_c, h, w});
  for (int64_t k = 0; k < n; ++k) {
    const int64_t top = opt.padding + (k / ncol) * cell_h, left = opt.padding + (k % ncol) * cell_w;
    if (!opt.borders.empty() && opt.borders[k]) {
      const int64_t b = opt.border_width;
      // A ring around the image and its caption strip, inside the padding.
      const std::vector<double> color = channel_values(*opt.borders[k], out_c);
      const int64_t bottom = top + h + band, right = left + w;
      fill_rect(canvas, top - b, top, left - b, right + b, color);        // above
      fill_rect(canvas, bottom, bottom + b, left - b, right + b, color);  // below
      fill_rect(canvas, top, bottom, left - b, left, color);              // left
      fill_rect(canvas, top, bottom, right, right + b, color);            // right
    }
    canvas.narrow(1, top, h).narrow(2, left, w).copy_(src.select(0, k));
    if (!opt.captions.empty() && !opt.captions[k].empty())
      draw_text(canvas, left, top + h + 1, opt.captions[k], channel_values(opt.caption_color, out_c), opt.caption_scale,
                left + w);
  }
  return images.dtype() == DType::UInt8 ? to_uint8(canvas) : canvas;
}

Tensor make_grid(const std::vector<Tensor>& images, const GridOptions& opt) {
  LOOM_CHECK(!images.empty(), "make_grid: no images");
  for (size_t i = 0; i < images.size(); ++i) {
    LOOM_CHECK(images[i].defined() && images[i].dim() == 3, "make_grid: image ", i, " must be (C, H, W), got shape ",
               images[i].defined() ? shape_str(images[i].shape()) : "undefined");
    LOOM_CHECK(images[i].shape() == images[0].shape() && images[i].dtype() == images[0].dtype(), "make_grid: image ", i,
               " is ", shape_str(images[i].shape()), " ", dtype_name(images[i].dtype()), ", image 0 is ",
               shape_str(images[0].shape()), " ", dtype_name(images[0].dtype()), ": all must match (resize first)");
  }
  std::vector<Tensor> cpu;
  for (const Tensor& t : images) cpu.push_back(t.detach().to(Device::cpu()));
  return make_grid(stack(cpu, 0), opt);
}

void save_grid(const std::string& path, const Tensor& images, const GridOptions& opt) {
  save_png(path, make_grid(images, opt));
}

void save_grid(const std::string& path, const std::vector<Tensor>& images, const GridOptions& opt) {
  save_png(path, make_grid(images, opt));
}

}  // namespace loom::data
