// im2col.cpp: im2col and col2im on the CPU (the layout and the math are in
// im2col.h). Both walk one col row segment (fixed c, kh, kw; one image) at a
// time: for a fixed kernel tap (kh, kw) the image column read by output column
// ow is iw = ow sw - pw + kw dw, so the valid ow form one contiguous range
// [ow_lo, ow_hi) and everything outside it is padding.
#include "kernels/cpu/im2col.h"

#include <algorithm>
#include <cstring>

namespace loom::cpu {

namespace {

// The output columns ow in [lo, hi) whose input column ow sw + w_off lies in
// [0, W); the others read padding.
struct ValidRange {
  int64_t lo, hi;
};
ValidRange valid_range(int64_t w_off, int64_t stride, int64_t W, int64_t OW) {
  // lo = smallest ow with ow stride + w_off >= 0
  int64_t lo = w_off >= 0 ? 0 : (-w_off + stride - 1) / stride;
  // hi = 1 + largest ow with ow stride + w_off <= W - 1
  int64_t hi = W - 1 - w_off < 0 ? 0 : (W - 1 - w_off) / stride + 1;
  lo = std::min(lo, OW);
  hi = std::clamp(hi, lo, OW);
  return {lo, hi};
}

// Enough elements to be worth waking the thread team.
constexpr int64_t kParallelThreshold = 1 << 14;

template <class T>
void im2col_impl(const ConvGeometry& g, const T* images, int64_t image_stride, int64_t B, T* col) {
  const int64_t rows = g.col_rows();
  const int64_t L = g.col_cols();  // columns per image
  const int64_t ld = B * L;        // col row length
  const int64_t KK = g.KH * g.KW;
#pragma omp parallel for collapse(2) schedule(static) if (rows * ld > kParallelThreshold)
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < B; ++b) {
      const int64_t c = r / KK, kh = (r % KK) / g.KW, kw = r % g.KW;
      const T* plane = images + b * image_stride + c * g.H * g.W;  // (H, W)
      T* out = col + r * ld + b * L;                                // (OH, OW) segment of row r
      const int64_t w_off = kw * g.dw - g.pw;                       // iw = ow sw + w_off
      const ValidRange v = valid_range(w_off, g.sw, g.W, g.OW);
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const int64_t ih = oh * g.sh - g.ph + kh * g.dh;  // ih = oh sh - ph + kh dh
        T* o = out + oh * g.OW;
        if (ih < 0 || ih >= g.H) {  // the whole output row reads padding
          std::fill(o, o + g.OW, T(0));
          continue;
        }
        const T* row = plane + ih * g.W;  // x[c, ih, :]
        std::fill(o, o + v.lo, T(0));
        if (g.sw == 1) {
          if (v.hi > v.lo) std::memcpy(o + v.lo, row + v.lo + w_off, sizeof(T) * (v.hi - v.lo));
        } else {
          for (int64_t ow = v.lo; ow < v.hi; ++ow) o[ow] = row[ow * g.sw + w_off];  // iw = ow sw + w_off
        }
        std::fill(o + v.hi, o + g.OW, T(0));
      }
    }
  }
}

template <class T>
void col2im_impl(const ConvGeometry& g, const T* col, int64_t B, T* images, int64_t image_stride) {
  const int64_t L = g.col_cols();
  const int64_t ld = B * L;
  const int64_t plane_size = g.H * g.W;
#pragma omp parallel for collapse(2) schedule(static) if (g.col_rows() * ld > kParallelThreshold)
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t c = 0; c < g.C; ++c) {
      T* plane = images + b * image_stride + c * plane_size;  // (H, W), owned by this thread
      std::fill(plane, plane + plane_size, T(0));
      // x[c, ih, iw] += col[(c, kh, kw), (oh, ow)] over kh, kw, oh, ow in this fixed order
      for (int64_t kh = 0; kh < g.KH; ++kh) {
        for (int64_t kw = 0; kw < g.KW; ++kw) {
          const T* in = col + ((c * g.KH + kh) * g.KW + kw) * ld + b * L;  // (OH, OW)
          const int64_t w_off = kw * g.dw - g.pw;
          const ValidRange v = valid_range(w_off, g.sw, g.W, g.OW);
          for (int64_t oh = 0; oh < g.OH; ++oh) {
            const int64_t ih = oh * g.sh - g.ph + kh * g.dh;
            if (ih < 0 || ih >= g.H) continue;  // padding: dropped
            T* row = plane + ih * g.W;  // x[c, ih, :]
            const T* src = in + oh * g.OW;
            if (g.sw == 1) {
              for (int64_t ow = v.lo; ow < v.hi; ++ow) row[ow + w_off] += src[ow];  // iw = ow + w_off
            } else {
              for (int64_t ow = v.lo; ow < v.hi; ++ow) row[ow * g.sw + w_off] += src[ow];  // iw = ow sw + w_off
            }
          }
        }
      }
    }
  }
}

}  // namespace

void im2col(const ConvGeometry& g, const float* images, int64_t image_stride, int64_t B, float* col) {
  im2col_impl(g, images, image_stride, B, col);
}
void im2col(const ConvGeometry& g, const double* images, int64_t image_stride, int64_t B, double* col) {
  im2col_impl(g, images, image_stride, B, col);
}
void col2im(const ConvGeometry& g, const float* col, int64_t B, float* images, int64_t image_stride) {
  col2im_impl(g, col, B, images, image_stride);
}
void col2im(const ConvGeometry& g, const double* col, int64_t B, double* images, int64_t image_stride) {
  col2im_impl(g, col, B, images, image_stride);
}

}  // namespace loom::cpu
