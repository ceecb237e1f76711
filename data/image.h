// image.h: reading and writing image files (PNG, JPEG, BMP through stb_image;
// PNG out through stb_image_write) as CHW tensors.
//
// Layout: images are (C, H, W), C = 1 (gray) or 3 (RGB), or 4 when ColorMode::Keep
// reads an RGBA file. uint8 tensors hold 0..255; float tensors hold [0, 1].
// Batches are (N, C, H, W).
//
// What is accepted (stb_image decodes; data/image_check.h validates first):
//   PNG   gray, gray+alpha, RGB, RGBA at 8 bits; gray at 1/2/4 bits (scaled
//         to 0..255); palette images (expanded by loom to RGB, or RGBA with
//         a tRNS chunk; an index outside the palette is refused); 16-bit
//         images, read at full 16-bit precision: uint8 output is
//         round(v / 257) (= round(v * 255 / 65535)), float output v / 65535.
//   JPEG  baseline and progressive, gray or colour (YCbCr converted by stb).
//   BMP   uncompressed (no RLE), as stb reads them.
//   Other formats stb reads (TGA, GIF first frame, PSD, PNM) also load.
// Colour conversion happens at the file's bit depth, rounded to nearest:
//   gray = round(0.299 R + 0.587 G + 0.114 B)   (ITU-R BT.601 luma)
// then uint8/float scaling as above. Alpha is dropped unless ColorMode::Keep
// reads an RGBA file (no compositing against a background).
//
// Errors: every failure throws loom::Error naming the path and what is wrong:
// a missing file, a directory, an empty file, corrupt data (bad CRC, bad
// structure, undecodable), a truncated file, a zero-size image, a PNG whose
// bit depth / colour type pair is invalid (e.g. a 16-bit palette image) or a
// palette image without its palette or with indices outside it, an image
// that would decode to more than 1 GiB, an unsupported channel count on save.
// A failed save never leaves a partly written file.
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
  int64_t width = 0, height = 0, channels = 0;  // channels as stored in the file (1..4)
  int bits_per_channel = 8;                     // 16 for 16-bit PNGs, else 8
};

// Size, channel count and bit depth. Reads and checks the file's structure
// but decodes no pixels.
ImageInfo read_image_info(const std::string& path);
// uint8 (C, H, W).
Tensor load_image_u8(const std::string& path, ColorMode mode = ColorMode::RGB);
// float32 (C, H, W) in [0, 1].
Tensor load_image(const std::string& path, ColorMode mode = ColorMode::RGB);

// Writes (C, H, W) with C in {1, 3, 4} (or (H, W), taken as gray) as PNG,
// atomically (temp file + rename, no fsync: see tensor/file_io.h). uint8 is written as is;
// float32/float64 are taken as [0, 1], clamped and rounded to the nearest of
// 0..255 (see to_uint8). Creates missing parent directories.
void save_png(const std::string& path, const Tensor& image);

// [0, 1] float (any shape) -> uint8: floor(clamp(x, 0, 1) * 255 + 0.5); NaN -> 0.
// A uint8 tensor is returned as it is (on the CPU, contiguous).
Tensor to_uint8(const Tensor& image01);
// uint8 (any shape) -> v / 255 in float32 or float64. to_uint8(to_float01(u)) == u.
Tensor to_float01(const Tensor& image_u8, DType dtype = DType::Float32);

}  // namespace loom::data
