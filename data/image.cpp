// image.cpp: image files <-> CHW tensors (see image.h). The file bytes are read
// here (so every message names the path), checked by image_check, decoded by
// stb_image at the file's own bit depth (palette PNGs through png_palette),
// and converted to the requested channels; PNG output goes through
// stb_image_write into memory and then to disk atomically.
#include "data/image.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <memory>
#include <type_traits>

#include "data/image_check.h"
#include "data/pixel_math.h"
#include "data/png_palette.h"
#include "tensor/file_io.h"

namespace loom::data {

namespace {

std::string where_of(const char* op, const std::string& path) { return std::string(op) + ": '" + path + "': "; }

std::string stb_reason() {
  const char* r = stbi_failure_reason();
  return r ? r : "unknown reason";
}

// A decoded file: (H, W, stored) interleaved samples, in samples8 for 8-bit
// files or samples16 for 16-bit ones.
struct Decoded {
  ImageInfo info;
  std::vector<uint8_t> samples8;
  std::vector<uint16_t> samples16;
};

// Copies a buffer stb allocated (and frees it).
template <class T>
std::vector<T> take_stb_buffer(T* pixels, size_t count) {
  std::unique_ptr<T, void (*)(void*)> owner(pixels, stbi_image_free);
  return std::vector<T>(pixels, pixels + count);
}

// Reads, checks and (unless header_only) decodes the file at `path`.
Decoded decode_file(const std::string& path, const char* op, bool header_only) {
  const std::string where = where_of(op, path);
  const std::vector<uint8_t> bytes = read_file_bytes(path, op);
  LOOM_CHECK(bytes.size() <= static_cast<size_t>(INT_MAX), where, "the file has ", bytes.size(),
             " bytes, more than stb_image can read (2 GiB)");
  check_image_bytes(bytes, where);
  const int len = static_cast<int>(bytes.size());
  int width = 0, height = 0, stored = 0;
  LOOM_CHECK(stbi_info_from_memory(bytes.data(), len, &width, &height, &stored), where,
             "not a readable image (stb_image: ", stb_reason(), "); PNG, JPEG and BMP are supported");
  LOOM_CHECK(width > 0 && height > 0, where, "zero-size image (", width, "x", height, " pixels)");
  LOOM_CHECK(stored >= 1 && stored <= 4, where, "unsupported channel count ", stored, " (1 to 4 are supported)");
  Decoded d;
  d.info = {width, height, stored, stbi_is_16_bit_from_memory(bytes.data(), len) ? 16 : 8};
  if (header_only) return d;
  check_decoded_size(width, height, stored, d.info.bits_per_channel / 8, where);

  int w = 0, h = 0, c = 0;  // as the decoder reports them
  auto count = [&] { return static_cast<size_t>(w) * static_cast<size_t>(h) * static_cast<size_t>(c); };
  if (is_palette_png(bytes)) {
    PalettePixels p = decode_palette_png(bytes, where);
    w = p.width, h = p.height, c = p.channels;
    d.samples8 = std::move(p.pixels);
  } else if (d.info.bits_per_channel == 16) {
    stbi_us* pixels = stbi_load_16_from_memory(bytes.data(), len, &w, &h, &c, 0);
    LOOM_CHECK(pixels != nullptr, where, "corrupt or undecodable image data (stb_image: ", stb_reason(), ")");
    d.samples16 = take_stb_buffer(pixels, count());
  } else {
    stbi_uc* pixels = stbi_load_from_memory(bytes.data(), len, &w, &h, &c, 0);
    LOOM_CHECK(pixels != nullptr, where, "corrupt or undecodable image data (stb_image: ", stb_reason(), ")");
    d.samples8 = take_stb_buffer(pixels, count());
  }
  LOOM_CHECK(w == width && h == height && c == stored, where, "the decoder returned ", w, "x", h, "x", c,
             " but the header says ", width, "x", height, "x", stored);
  return d;
}

int64_t output_channels(ColorMode mode, int stored) {
  switch (mode) {
    case ColorMode::Keep: return stored == 2 ? 1 : stored;  // gray+alpha -> gray
    case ColorMode::Gray: return 1;
    case ColorMode::RGB: return 3;
  }
  return 0;
}

// ITU-R BT.601 luma at the samples' own depth, rounded to nearest.
uint32_t rounded_luma(uint32_t r, uint32_t g, uint32_t b) { return static_cast<uint32_t>(luma(r, g, b) + 0.5); }

// Sample values at the file's depth -> the output type: uint8 is rounded to
// 0..255 (v / 257 for 16-bit input), floats are v / max.
template <class Out>
Out scale_sample(uint32_t v, bool sixteen) {
  if constexpr (std::is_same_v<Out, uint8_t>) {
    return static_cast<uint8_t>(sixteen ? (v + 128) / 257 : v);  // round(v / 257); 257 is odd: no ties
  } else {
    return static_cast<Out>(v) / static_cast<Out>(sixteen ? 65535 : 255);
  }
}

// (H, W, stored) interleaved -> (C, H, W) planar in the requested mode.
template <class In, class Out>
void convert_to_chw(const In* src, int stored, int64_t hw, ColorMode mode, bool sixteen, Out* dst) {
  const int64_t out_c = output_channels(mode, stored);
  const bool is_color = stored >= 3;
  for (int64_t i = 0; i < hw; ++i) {
    const In* px = src + i * stored;
    if (out_c == 1) {
      const uint32_t v = is_color ? rounded_luma(px[0], px[1], px[2]) : px[0];
      dst[i] = scale_sample<Out>(v, sixteen);
    } else {
      for (int64_t c = 0; c < out_c; ++c) {
        const uint32_t v = is_color ? px[c] : px[0];  // gray replicated into RGB
        dst[c * hw + i] = scale_sample<Out>(v, sixteen);
      }
    }
  }
}

template <class Out>
Tensor load_as(const std::string& path, ColorMode mode, const char* op) {
  const Decoded d = decode_file(path, op, /*header_only=*/false);
  const int stored = static_cast<int>(d.info.channels);
  const int64_t hw = d.info.height * d.info.width;
  Tensor out = Tensor::empty({output_channels(mode, stored), d.info.height, d.info.width}, dtype_of<Out>());
  Out* dst = out.data<Out>();  // (C, H, W)
  if (d.info.bits_per_channel == 16)
    convert_to_chw(d.samples16.data(), stored, hw, mode, true, dst);
  else
    convert_to_chw(d.samples8.data(), stored, hw, mode, false, dst);
  return out;
}

}  // namespace

ImageInfo read_image_info(const std::string& path) {
  return decode_file(path, "read_image_info", /*header_only=*/true).info;
}

Tensor load_image_u8(const std::string& path, ColorMode mode) { return load_as<uint8_t>(path, mode, "load_image_u8"); }

Tensor load_image(const std::string& path, ColorMode mode) { return load_as<float>(path, mode, "load_image"); }

Tensor to_uint8(const Tensor& image01) {
  LOOM_CHECK(image01.defined(), "to_uint8: undefined tensor");
  if (image01.dtype() == DType::UInt8) return image01.to(Device::cpu()).contiguous();
  const Tensor src = image01.detach().to(Device::cpu()).contiguous();
  Tensor out = Tensor::empty(src.shape(), DType::UInt8);
  uint8_t* dst = out.data<uint8_t>();
  LOOM_DISPATCH_FLOATING(src.dtype(), "to_uint8", [&] {
    const scalar_t* s = src.data<scalar_t>();
    for (int64_t i = 0; i < src.numel(); ++i) {
      const scalar_t x = s[i];
      // !(x > 0) also catches NaN.
      dst[i] = !(x > 0) ? 0 : x >= 1 ? 255 : static_cast<uint8_t>(std::floor(x * scalar_t(255) + scalar_t(0.5)));
    }
  });
  return out;
}

Tensor to_float01(const Tensor& image_u8, DType dtype) {
  LOOM_CHECK(image_u8.defined(), "to_float01: undefined tensor");
  LOOM_CHECK(image_u8.dtype() == DType::UInt8, "to_float01: expected a uint8 image, got ",
             dtype_name(image_u8.dtype()));
  const Tensor src = image_u8.to(Device::cpu()).contiguous();
  Tensor out = Tensor::empty(src.shape(), dtype);
  const uint8_t* s = src.data<uint8_t>();
  LOOM_DISPATCH_FLOATING(dtype, "to_float01", [&] {
    scalar_t* dst = out.data<scalar_t>();
    for (int64_t i = 0; i < src.numel(); ++i) dst[i] = scale_sample<scalar_t>(s[i], false);
  });
  return out;
}

void save_png(const std::string& path, const Tensor& image) {
  const char* op = "save_png";
  const std::string where = where_of(op, path);
  LOOM_CHECK(image.defined(), where, "the image tensor is undefined");
  LOOM_CHECK(image.dim() == 3 || image.dim() == 2, where, "expected a (C, H, W) or (H, W) image, got shape ",
             shape_str(image.shape()));
  const Tensor chw = image.dim() == 2 ? image.unsqueeze(0) : image;
  const int64_t channels = chw.size(0), height = chw.size(1), width = chw.size(2);
  LOOM_CHECK(channels == 1 || channels == 3 || channels == 4, where, "unsupported channel count ", channels, " (shape ",
             shape_str(image.shape()), "); PNG takes 1 (gray), 3 (RGB) or 4 (RGBA)");
  LOOM_CHECK(height > 0 && width > 0, where, "zero-size image (shape ", shape_str(image.shape()), ")");
  LOOM_CHECK(height <= INT_MAX / 4 && width <= INT_MAX / 4 / channels, where, "image too large for PNG output (shape ",
             shape_str(image.shape()), ")");
  LOOM_CHECK(image.dtype() == DType::UInt8 || is_floating(image.dtype()), where,
             "expected a uint8 or float image, got ", dtype_name(image.dtype()));

  // (C, H, W) -> (H, W, C) interleaved bytes for stb.
  const Tensor hwc = to_uint8(chw).permute({1, 2, 0}).contiguous();
  std::vector<uint8_t> png;
  auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    const auto* p = static_cast<const uint8_t*>(data);
    out->insert(out->end(), p, p + size);
  };
  const int ok =
      stbi_write_png_to_func(append, &png, static_cast<int>(width), static_cast<int>(height),
                             static_cast<int>(channels), hwc.data<uint8_t>(), static_cast<int>(width * channels));
  LOOM_CHECK(ok != 0 && !png.empty(), where, "stb_image_write could not encode the image (out of memory?)");
  write_file_atomically(path, png.data(), png.size(), op, Durability::RenameOnly);
}

}  // namespace loom::data
