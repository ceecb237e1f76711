// image.h: reading and writing image files (PNG, JPEG, BMP through stb_image;
// PNG out through stb_image_write) as CHW tensors.
//
// Layout: images are (C, H, W), C = 1 (gray) or 3 (RGB), or 4 when ColorMode::Keep
// reads an RGBA file. uint8 tensors hold 0..255; float tensors hold [0, 1].
// Batches are (N, C, H, W).
//
// Errors: every failure throws loom::Error naming the path and what is wrong
// (missing file, corrupt or truncated data, zero size, a 16-bit PNG, an
// unsupported channel count), and never leaves a partly written file.
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace loom::data {

enum class ColorMode {
  Keep,  // as stored: 1 (gray), 3 (RGB) or 4 (RGBA); gray+alpha becomes gray
  Gray,  // 1 channel (ITU-R 601 luma of RGB)
  RGB,   // 3 channels (gray is replicated)
};

struct ImageInfo {
  int64_t width = 0, height = 0, channels = 0;  // channels as stored in the file
};

// Reads only the header: size and channel count.
ImageInfo read_image_info(const std::string& path);
// uint8 (C, H, W).
Tensor load_image_u8(const std::string& path, ColorMode mode = ColorMode::RGB);
// float32 (C, H, W) in [0, 1].
Tensor load_image(const std::string& path, ColorMode mode = ColorMode::RGB);

// Writes (C, H, W) with C in {1, 3, 4} as PNG, atomically (temp file + rename).
// uint8 is written as is; float32/float64 are taken as [0, 1], clamped and
// rounded to the nearest of 0..255. Creates missing parent directories.
void save_png(const std::string& path, const Tensor& image);

// [0, 1] float <-> uint8 (round to nearest, clamp).
Tensor to_uint8(const Tensor& image01);
Tensor to_float01(const Tensor& image_u8, DType dtype = DType::Float32);

}  // namespace loom::data
