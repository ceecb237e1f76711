// im2col.h: the two data-rearranging halves of GEMM-based convolution on the
// CPU, im2col (image -> column matrix) and col2im (column matrix -> image, the
// adjoint: a scatter-add), and the geometry they share.
//
// im2col. A 2-D convolution of an image (C, H, W) with a weight (OC, C, KH, KW)
//
//   y[oc, oh, ow] = sum_{c, kh, kw} w[oc, c, kh, kw] x[c, ih, iw],
//   ih = oh sh - ph + kh dh,  iw = ow sw - pw + kw dw   (x = 0 outside the image)
//
// is a matrix product once every receptive field is laid out as a column:
//
//   col[(c, kh, kw), (oh, ow)] = x[c, oh sh - ph + kh dh, ow sw - pw + kw dw]
//   col: (C KH KW, OH OW);  w viewed as (OC, C KH KW);  y = w @ col : (OC, OH OW)
//
// so the whole convolution is one GEMM (kernels/cpu/gemm.h) plus the copy. The
// copy duplicates each pixel up to KH KW times; in exchange the arithmetic runs
// in the packed, vectorised GEMM micro-kernel.
//
// col2im is im2col's transpose (adjoint): where im2col reads x[c, ih, iw] into
// col entry ((c,kh,kw), (oh,ow)), col2im adds that col entry back into
// x[c, ih, iw]. Pixels read by several receptive fields receive the sum of
// their entries; entries that fell in the padding are dropped. It turns the
// column-space gradient dcol = w^T @ dy into dx: conv2d's backward-input. That
// same map is the transposed convolution, which is why conv_transpose2d is
// implemented as conv2d's backward-data (kernels/cpu/conv.cpp).
//
// Batches. Both functions handle B images at once: column block b of col
// (columns b OH OW ... (b+1) OH OW - 1) belongs to image b, so one GEMM covers
// all B images when a single image gives too few columns:
//   col: (C KH KW, B OH OW), images: B images of (C, H, W), image b at
//   images + b * image_stride.
//
// Determinism. im2col writes each col row from one thread. col2im gives each
// (image, channel) plane to one thread, which zeroes it and then adds the
// contributions in the fixed order kh, kw, oh, ow: the same bits for any
// thread count (no atomics, no split sums).
#pragma once
#include <cstdint>

namespace loom::cpu {

// The shape of one convolution: the image (input of the forward convolution),
// kernel, output and the stride/padding/dilation that relate them. OH and OW
// are given explicitly (not recomputed): conv_transpose2d with output_padding
// uses an image larger than the one the forward formula would need.
struct ConvGeometry {
  int64_t C = 0, H = 0, W = 0;    // image channels and size
  int64_t KH = 1, KW = 1;         // kernel size
  int64_t OH = 0, OW = 0;         // output size of the forward convolution
  int64_t sh = 1, sw = 1;         // stride
  int64_t ph = 0, pw = 0;         // zero padding
  int64_t dh = 1, dw = 1;         // dilation
  int64_t col_rows() const { return C * KH * KW; }
  int64_t col_cols() const { return OH * OW; }  // per image
  int64_t image_size() const { return C * H * W; }
  // True when col for one image is the image itself (1x1 kernel, stride 1, no padding).
  bool is_identity() const { return KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 && OH == H && OW == W; }
  // True when the kernel covers the whole unpadded image once (KH = H, KW = W,
  // no padding or dilation, one output pixel): then col for image n is the
  // image itself as one column, and the convolution is a fully connected layer.
  bool is_fully_connected() const {
    return KH == H && KW == W && ph == 0 && pw == 0 && dh == 1 && dw == 1 && OH == 1 && OW == 1;
  }
};

// col (C KH KW, B OH OW) <- receptive fields of B dense images (C, H, W).
// Threaded over col rows.
void im2col(const ConvGeometry& g, const float* images, int64_t image_stride, int64_t B, float* col);
void im2col(const ConvGeometry& g, const double* images, int64_t image_stride, int64_t B, double* col);

// B dense images (C, H, W) <- col2im(col (C KH KW, B OH OW)): each image is
// overwritten with the sum of the col entries that im2col would read from it.
// Threaded over channels (or over (channel, image) planes when there are few channels).
void col2im(const ConvGeometry& g, const float* col, int64_t B, float* images, int64_t image_stride);
void col2im(const ConvGeometry& g, const double* col, int64_t B, double* images, int64_t image_stride);

}  // namespace loom::cpu
