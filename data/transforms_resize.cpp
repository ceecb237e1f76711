// transforms_resize.cpp: resize_bilinear (through autograd's
// upsample_bilinear) and resize_area (a separable box filter with exact
// fractional coverage). See transforms.h.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "autograd/functions.h"
#include "data/transforms.h"
#include "data/transforms_common.h"

namespace loom::data {

namespace {

void check_out_size(int64_t out_h, int64_t out_w, const char* op) {
  LOOM_CHECK(out_h > 0 && out_w > 0, op, ": output size must be positive, got (", out_h, ", ", out_w, ")");
}

// float values on the 0..255 scale -> uint8: floor(clamp(x, 0, 255) + 0.5).
Tensor round_to_uint8(const Tensor& x255) {
  const Tensor src = x255.detach().contiguous();
  Tensor out = Tensor::empty(src.shape(), DType::UInt8);
  const float* s = src.data<float>();
  uint8_t* d = out.data<uint8_t>();
  for (int64_t i = 0; i < src.numel(); ++i) {
    const float v = s[i];
    d[i] = !(v > 0) ? 0 : v >= 255 ? 255 : static_cast<uint8_t>(std::floor(v + 0.5f));
  }
  return out;
}

// One output position of an area-resampled axis: out = sum_k weights[k] in[first + k].
struct AreaTaps {
  int64_t first = 0;
  std::vector<double> weights;
};

// Output o covers [o in / out, (o + 1) in / out) of the source axis. Measured in
// units of 1/out of a source pixel that is [o in, (o + 1) in), and source pixel
// i is [i out, (i + 1) out): the overlaps are integers and each weight is
// overlap / in, exact rationals summing to 1.
std::vector<AreaTaps> area_table(int64_t in, int64_t out) {
  std::vector<AreaTaps> table(out);
  for (int64_t o = 0; o < out; ++o) {
    const int64_t lo = o * in, hi = (o + 1) * in;
    const int64_t first = lo / out, last = (hi - 1) / out;
    table[o].first = first;
    for (int64_t i = first; i <= last; ++i) {
      const int64_t overlap = std::min(hi, (i + 1) * out) - std::max(lo, i * out);
      table[o].weights.push_back(static_cast<double>(overlap) / static_cast<double>(in));
    }
  }
  return table;
}

template <class T>
T from_double(double v) {
  if constexpr (std::is_same_v<T, uint8_t>)
    return static_cast<uint8_t>(std::floor(std::clamp(v, 0.0, 255.0) + 0.5));
  else
    return static_cast<T>(v);
}

// src (P, H, W) -> dst (P, OH, OW); rows first into a double buffer (H, OW).
template <class T>
void area_resample(const T* src, T* dst, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow) {
  const std::vector<AreaTaps> cols = area_table(w, ow), rows = area_table(h, oh);
#pragma omp parallel for schedule(static) if (planes * h * w > (1 << 16))
  for (int64_t p = 0; p < planes; ++p) {
    const T* in = src + p * h * w;                         // (H, W)
    T* out = dst + p * oh * ow;                            // (OH, OW)
    std::vector<double> tmp(static_cast<size_t>(h * ow));  // (H, OW)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < ow; ++x) {
        double acc = 0;
        for (size_t k = 0; k < cols[x].weights.size(); ++k)
          acc += cols[x].weights[k] * static_cast<double>(in[y * w + cols[x].first + k]);
        tmp[y * ow + x] = acc;
      }
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t x = 0; x < ow; ++x) {
        double acc = 0;
        for (size_t k = 0; k < rows[y].weights.size(); ++k)
          acc += rows[y].weights[k] * tmp[(rows[y].first + static_cast<int64_t>(k)) * ow + x];
        out[y * ow + x] = from_double<T>(acc);
      }
  }
}

}  // namespace

Tensor resize_bilinear(const Tensor& img, int64_t out_h, int64_t out_w) {
  const char* op = "resize_bilinear";
  const Tensor x = transforms_internal::checked_image(img, op);
  check_out_size(out_h, out_w, op);
  LOOM_CHECK(x.dtype() != DType::Int64, op, ": int64 images cannot be interpolated; use resize_area or a float image");
  const bool batch = x.dim() == 4;
  const Tensor nchw = batch ? x : x.unsqueeze(0);
  const Tensor as_float = x.dtype() == DType::UInt8 ? nchw.to(DType::Float32) : nchw;  // 0..255 kept
  Tensor y = upsample_bilinear(as_float, out_h, out_w, /*align_corners=*/false);
  if (!batch) y = y.squeeze(0);
  return x.dtype() == DType::UInt8 ? round_to_uint8(y) : y.contiguous();
}

Tensor resize_area(const Tensor& img, int64_t out_h, int64_t out_w) {
  const char* op = "resize_area";
  const Tensor x = transforms_internal::checked_image(img, op);
  check_out_size(out_h, out_w, op);
  LOOM_CHECK(x.dtype() != DType::Int64, op, ": expected a float or uint8 image, got int64");
  const int64_t h = x.size(-2), w = x.size(-1), planes = x.numel() / (h * w);
  Tensor out = Tensor::empty(transforms_internal::with_plane_size(x.shape(), out_h, out_w), x.dtype());
  if (x.dtype() == DType::UInt8) {
    area_resample(x.data<uint8_t>(), out.data<uint8_t>(), planes, h, w, out_h, out_w);
  } else {
    LOOM_DISPATCH_FLOATING(
        x.dtype(), op, [&] { area_resample(x.data<scalar_t>(), out.data<scalar_t>(), planes, h, w, out_h, out_w); });
  }
  return out;
}

}  // namespace loom::data
