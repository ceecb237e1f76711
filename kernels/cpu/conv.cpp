// conv.cpp: 2-D convolution on the CPU: conv2d, its two backward passes, and
// conv_transpose2d, all as im2col / col2im (kernels/cpu/im2col.h) around one
// GEMM (kernels/cpu/gemm.h).
//
// With R = C KH KW, L = OH OW and, per image, col = im2col(x) : (R, L):
//
//   forward          y (OC, L)   = W (OC, R) @ col (R, L)                 [+ bias]
//   backward-input   dx          = col2im( W^T (R, OC) @ dy (OC, L) )
//   backward-weight  dW (OC, R)  = sum_n dy_n (OC, L) @ col_n^T (L, R)
//
// Why conv_transpose2d is conv2d's backward-input. For fixed weights, conv2d
// is a linear map A: x -> y. Its transpose A^T maps an output-shaped tensor
// back to an input-shaped one, and A^T dy is exactly the gradient d loss / d x
// (the backward-input pass above). A "transposed convolution" is by definition
// that map A^T, applied to data: every input pixel spreads a weighted copy of
// the kernel over the (larger) output, stride apart, and overlaps add. So
// conv_transpose2d(x, W) with W (IC, OC, KH, KW) is conv2d_backward_input with
// dy := x, the conv's output channels := IC, its input channels := OC, and the
// image size OH = (H-1) stride - 2 pad + dil (KH-1) + output_padding + 1.
// It is computed as col = W^T @ x followed by col2im: no zeros are inserted
// between input pixels, so none are multiplied (the only wasted products are
// the few col entries that land in the cropped padding border and are dropped).
// (output_padding only enlarges the image at the bottom/right so that the
// shape is unambiguous; those extra rows receive whatever the kernel puts
// there, plus the bias.)
//
// Batches: a small image (4x4 has L = 16) gives a GEMM too thin to be
// efficient, so images are processed in chunks of B: col (R, B L) holds B
// images side by side and one GEMM covers them (dy and y then go through a
// gather/scatter between (B, OC, L) and (OC, B L)). The chunk size depends only
// on the shapes, and the GEMM's sums run in a fixed order, so the results are
// the same bits for any number of threads. backward-weight accumulates the
// chunks in batch order with beta = 1 (in two fixed halves when there are
// many, see conv_backward_weight). When there are enough chunks to share out,
// each thread runs whole chunks with a serial GEMM (chunks_in_parallel); else
// the threads work inside im2col/col2im and the GEMM. Either way, same bits.
#include <algorithm>
#include <memory>

#include <omp.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_util.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/im2col.h"
#include "kernels/conv_geometry.h"

namespace loom::cpu {

namespace {

// ---- chunking ---------------------------------------------------------------
// Aim for at least kTargetCols GEMM columns, but keep col under kMaxColElems
// elements (unless one image alone needs more). 256 against 1024 on the DCGAN
// shapes: 5-18% faster on the 4x4..16x16 layers in one alternating A/B run (a
// smaller col stays in L2, more chunks run side by side), but within the
// +-10% run-to-run noise of this shared machine in the full comparison runs.
constexpr int64_t kTargetCols = 256;
constexpr int64_t kMaxColElems = int64_t(1) << 22;

int64_t images_per_chunk(int64_t N, int64_t L, int64_t R) {
  if (N <= 1 || L <= 0) return std::max<int64_t>(N, 1);
  int64_t B = std::min(N, std::max<int64_t>(1, (kTargetCols + L - 1) / L));
  while (B > 1 && R * B * L > kMaxColElems) --B;
  return B;
}

// Chunks run in parallel, each on one thread with a serial GEMM, when there are
// enough of them to share out evenly; otherwise one after another with the
// threads inside im2col/col2im and the GEMM. The GEMM gives the same bits on
// any number of threads, so both ways give the same result; whole chunks per
// thread cost one synchronisation per call instead of several per chunk (which
// also keeps a busy 2-core machine from stalling at every barrier).
bool chunks_in_parallel(int64_t n_chunks) {
  if (omp_in_parallel()) return false;
  const int64_t threads = omp_get_max_threads();
  return threads > 1 && n_chunks >= 2 * threads && (n_chunks % threads == 0 || n_chunks >= 4 * threads);
}

template <class T>
std::unique_ptr<T[]> scratch(int64_t n) {
  return std::unique_ptr<T[]>(new T[std::max<int64_t>(n, 1)]);
}

// C (M, N) = A @ B + beta C through cpu::gemm, also for empty products
// (K == 0: C = beta C).
template <class T>
void gemm_into(int64_t M, int64_t N, int64_t K, const T* A, int64_t rs_a, int64_t cs_a, const T* B, int64_t rs_b,
               int64_t cs_b, T beta, T* C, int64_t rs_c) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (beta == T(0))
      for (int64_t i = 0; i < M; ++i) std::fill(C + i * rs_c, C + i * rs_c + N, T(0));
    return;
  }
  gemm(M, N, K, T(1), A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c);
}

// dst (Cn, b L) <- src images n0 .. n0+b-1 of (N, Cn, L):
//   dst[c, j L + l] = src[n0 + j, c, l]
template <class T>
void gather_columns(const T* src, int64_t n0, int64_t b, int64_t Cn, int64_t L, T* dst) {
#pragma omp parallel for collapse(2) schedule(static) if (Cn * b * L > (1 << 15))
  for (int64_t c = 0; c < Cn; ++c)
    for (int64_t j = 0; j < b; ++j)
      std::copy_n(src + ((n0 + j) * Cn + c) * L, L, dst + c * b * L + j * L);
}

// The inverse: dst[n0 + j, c, l] = src[c, j L + l].
template <class T>
void scatter_columns(const T* src, int64_t n0, int64_t b, int64_t Cn, int64_t L, T* dst) {
#pragma omp parallel for collapse(2) schedule(static) if (Cn * b * L > (1 << 15))
  for (int64_t j = 0; j < b; ++j)
    for (int64_t c = 0; c < Cn; ++c)
      std::copy_n(src + c * b * L + j * L, L, dst + ((n0 + j) * Cn + c) * L);
}

// y[n, c, :] += bias[c] for y (N, Cn, L).
template <class T>
void add_bias(T* y, const T* bias, int64_t N, int64_t Cn, int64_t L) {
#pragma omp parallel for collapse(2) schedule(static) if (N * Cn * L > (1 << 15))
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < Cn; ++c) {
      T* plane = y + (n * Cn + c) * L;
      const T b = bias[c];
      for (int64_t l = 0; l < L; ++l) plane[l] += b;
    }
}

// ---- the three GEMM-based passes on dense buffers -------------------------------
// x (N, C, H, W), w (OC, R), y (N, OC, L) with R = C KH KW and L = OH OW from g.
//
// When the kernel covers the whole image (g.is_fully_connected(): DCGAN's 4x4
// -> 1x1 last discriminator layer, and its 1x1 -> 4x4 first generator layer),
// x is already the col matrix of the whole batch, x (N, R), and y is (N, OC):
// each pass is one GEMM over the batch with no im2col, col2im or gathering.

// Runs body(n0, b, col, buf) for each chunk of b <= B images starting at image
// n0, with scratch col (R, B L) and buf (OC, B L) (buf unused when B == 1).
// When there are enough chunks, whole chunks run on the threads side by side,
// each with its own scratch and a serial GEMM; otherwise chunks run one after
// another and the GEMM uses the threads. Either way every output element is
// computed by one chunk, so the bits do not depend on the thread count.
template <class T, class Body>
void for_each_chunk(int64_t N, int64_t OC, int64_t L, int64_t R, Body body) {
  const int64_t B = images_per_chunk(N, L, R);
  const int64_t n_chunks = (N + B - 1) / B;
  const bool across = chunks_in_parallel(n_chunks);
  const int64_t teams = across ? omp_get_max_threads() : 1;
  const int64_t col_size = R * B * L, buf_size = B > 1 ? OC * B * L : 0;
  auto col = scratch<T>(teams * col_size);  // per thread: (R, B L)
  auto buf = scratch<T>(teams * buf_size);  // per thread: (OC, B L)
#pragma omp parallel if (across)
  {
    T* my_col = col.get() + omp_get_thread_num() * col_size;
    T* my_buf = buf.get() + omp_get_thread_num() * buf_size;
#pragma omp for schedule(static)
    for (int64_t k = 0; k < n_chunks; ++k) {
      const int64_t n0 = k * B;
      body(n0, std::min(B, N - n0), my_col, my_buf);
    }
  }
}

// y = conv(x, w):  y_n (OC, L) = w (OC, R) @ im2col(x_n) (R, L)
template <class T>
void conv_forward(const ConvGeometry& g, int64_t N, int64_t OC, const T* x, const T* w, T* y) {
  const int64_t R = g.col_rows(), L = g.col_cols(), image = g.image_size();
  if (g.is_fully_connected()) {
    // y (N, OC) = x (N, R) @ w^T (R, OC);  w^T (r, oc) = w[oc R + r]
    gemm_into<T>(N, OC, R, x, R, 1, w, 1, R, T(0), y, OC);
    return;
  }
  for_each_chunk<T>(N, OC, L, R, [&](int64_t n0, int64_t b, T* col, T* out) {  // out: (OC, b L)
    const T* colp = col;
    if (b == 1 && g.is_identity()) {
      colp = x + n0 * image;  // a 1x1, stride-1, unpadded conv reads the image as it is
    } else {
      im2col(g, x + n0 * image, image, b, col);
    }
    if (b == 1) {
      gemm_into<T>(OC, L, R, w, R, 1, colp, L, 1, T(0), y + n0 * OC * L, L);
    } else {
      gemm_into<T>(OC, b * L, R, w, R, 1, colp, b * L, 1, T(0), out, b * L);
      scatter_columns(out, n0, b, OC, L, y);
    }
  });
}

// dx = conv^T(dy):  dx_n = col2im( w^T (R, OC) @ dy_n (OC, L) )
// (also conv_transpose2d's forward, with dy := its input).
// dx = conv^T(dy):  dx_n = col2im( w^T (R, OC) @ dy_n (OC, L) )
// (also conv_transpose2d's forward, with dy := its input).
template <class T>
void conv_backward_data(const ConvGeometry& g, int64_t N, int64_t OC, const T* dy, const T* w, T* dx) {
  const int64_t R = g.col_rows(), L = g.col_cols(), image = g.image_size();
  if (g.is_fully_connected()) {
    // dx (N, R) = dy (N, OC) @ w (OC, R)
    gemm_into<T>(N, R, OC, dy, OC, 1, w, R, 1, T(0), dx, R);
    return;
  }
  for_each_chunk<T>(N, OC, L, R, [&](int64_t n0, int64_t b, T* col, T* dyb) {  // dyb: (OC, b L)
    const T* dyp = dy + n0 * OC * L;
    if (b > 1) {
      gather_columns(dy, n0, b, OC, L, dyb);
      dyp = dyb;
    }
    // w^T (R, OC): element (r, oc) = w[oc R + r]  ->  row stride 1, column stride R
    if (b == 1 && g.is_identity()) {
      gemm_into<T>(R, L, OC, w, 1, R, dyp, L, 1, T(0), dx + n0 * image, L);  // col2im is the identity
      return;
    }
    gemm_into<T>(R, b * L, OC, w, 1, R, dyp, b * L, 1, T(0), col, b * L);  // col = w^T @ dy
    col2im(g, col, b, dx + n0 * image, image);
  });
}

// dw (OC, R) = sum over n of dy_n (OC, L) @ im2col(x_n)^T (L, R)
//
// Summation order. With few chunks: chunk by chunk in batch order (beta = 1
// accumulation in the GEMM), the threads inside the GEMM. With kWeightGroups or
// more chunks: the chunks are split into kWeightGroups contiguous groups, each
// summed in batch order into its own buffer, and the group sums are added in
// group order. The grouping depends only on the shapes, so the bits are the
// same for any thread count; on kWeightGroups threads the groups run side by
// side (one synchronisation per call rather than several per chunk).
constexpr int64_t kWeightGroups = 2;

template <class T>
void conv_backward_weight(const ConvGeometry& g, int64_t N, int64_t OC, const T* dy, const T* x, T* dw) {
  const int64_t R = g.col_rows(), L = g.col_cols(), image = g.image_size();
  if (N == 0 || L == 0) {
    std::fill(dw, dw + OC * R, T(0));
    return;
  }
  if (g.is_fully_connected()) {
    // dw (OC, R) = dy^T (OC, N) @ x (N, R);  dy^T (oc, n) = dy[n OC + oc]
    gemm_into<T>(OC, R, N, dy, 1, OC, x, R, 1, T(0), dw, R);
    return;
  }
  const int64_t B = images_per_chunk(N, L, R);
  const int64_t n_chunks = (N + B - 1) / B;
  const int64_t n_groups = n_chunks >= 2 * kWeightGroups ? kWeightGroups : 1;
  const int64_t threads = omp_get_max_threads();
  const bool across = n_groups > 1 && threads > 1 && threads <= n_groups && !omp_in_parallel();
  const int64_t col_size = R * B * L, dyb_size = B > 1 ? OC * B * L : 0;
  auto col = scratch<T>(n_groups * col_size);          // per group: (R, B L)
  auto dyb = scratch<T>(n_groups * dyb_size);          // per group: (OC, B L)
  auto partial = scratch<T>((n_groups - 1) * OC * R);  // groups 1..: (OC, R) each
#pragma omp parallel for schedule(static) if (across)
  for (int64_t grp = 0; grp < n_groups; ++grp) {
    T* acc = grp == 0 ? dw : partial.get() + (grp - 1) * OC * R;  // (OC, R)
    T* my_col = col.get() + grp * col_size;
    T* my_dyb = dyb.get() + grp * dyb_size;
    const int64_t k0 = grp * n_chunks / n_groups, k1 = (grp + 1) * n_chunks / n_groups;
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t n0 = k * B, b = std::min(B, N - n0);
      const T* dyp = dy + n0 * OC * L;
      if (b > 1) {
        gather_columns(dy, n0, b, OC, L, my_dyb);
        dyp = my_dyb;
      }
      const T* colp = my_col;
      if (b == 1 && g.is_identity()) {
        colp = x + n0 * image;
      } else {
        im2col(g, x + n0 * image, image, b, my_col);
      }
      // acc (OC, R) (+)= dy (OC, b L) @ col^T (b L, R);  col^T (j, r) = col[r b L + j]
      const T beta = k == k0 ? T(0) : T(1);  // a group's first chunk overwrites, later ones accumulate
      gemm_into<T>(OC, R, b * L, dyp, b * L, 1, colp, 1, b * L, beta, acc, R);
    }
  }
  // dw = group 0 + group 1 + ..., in that order, elementwise
  const int64_t total = OC * R;
  for (int64_t grp = 1; grp < n_groups; ++grp) {
    const T* part = partial.get() + (grp - 1) * total;
#pragma omp parallel for schedule(static) if (total > (1 << 16))
    for (int64_t i = 0; i < total; ++i) dw[i] += part[i];
  }
}

// ---- argument checks (kernels/conv_geometry.h) -------------------------------------
using conv_geometry::check_options;

void check_bias(const Tensor& bias, const Tensor& x, int64_t channels, const char* op) {
  if (!bias.defined()) return;
  check_float(bias, op, "bias");
  check_same_dtype_device(x, bias, op);
  conv_geometry::check_bias_shape(bias.shape(), channels, op);
}

}  // namespace

// ---- the ops -----------------------------------------------------------------------

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt) {
  const char* op = "conv2d";
  check_float(x, op, "input");
  check_float(weight, op, "weight");
  check_same_dtype_device(x, weight, op);
  check_options(opt, op, false);
  const ConvGeometry g = conv_geometry::conv2d(op, x.shape(), weight.shape(), opt);
  const int64_t N = x.shape()[0], OC = weight.shape()[0];
  check_bias(bias, x, OC, op);
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor xc = raw_contiguous(x);       // (N, C, H, W)
    Tensor wc = raw_contiguous(weight);  // (OC, C KH KW)
    Tensor y = Tensor::empty({N, OC, g.OH, g.OW}, x.dtype());
    conv_forward<scalar_t>(g, N, OC, xc.data<scalar_t>(), wc.data<scalar_t>(), y.data<scalar_t>());
    if (bias.defined()) add_bias(y.data<scalar_t>(), raw_contiguous(bias).data<scalar_t>(), N, OC, g.OH * g.OW);
    return y;
  });
}

Tensor conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Shape& input_shape,
                             const Conv2dOptions& opt) {
  const char* op = "conv2d_backward_input";
  check_float(grad_out, op, "grad_out");
  check_float(weight, op, "weight");
  check_same_dtype_device(grad_out, weight, op);
  check_options(opt, op, false);
  const ConvGeometry g = conv_geometry::conv2d(op, input_shape, weight.shape(), opt);
  const int64_t N = input_shape[0], OC = weight.shape()[0];
  check_shape(grad_out, {N, OC, g.OH, g.OW}, op, "grad_out");
  return LOOM_DISPATCH_FLOATING(grad_out.dtype(), op, [&] {
    Tensor gc = raw_contiguous(grad_out);  // (N, OC, OH, OW)
    Tensor wc = raw_contiguous(weight);    // (OC, C KH KW)
    Tensor dx = Tensor::empty(input_shape, grad_out.dtype());
    conv_backward_data<scalar_t>(g, N, OC, gc.data<scalar_t>(), wc.data<scalar_t>(), dx.data<scalar_t>());
    return dx;
  });
}

Tensor conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Shape& weight_shape,
                              const Conv2dOptions& opt) {
  const char* op = "conv2d_backward_weight";
  check_float(grad_out, op, "grad_out");
  check_float(x, op, "input");
  check_same_dtype_device(grad_out, x, op);
  check_options(opt, op, false);
  const ConvGeometry g = conv_geometry::conv2d(op, x.shape(), weight_shape, opt);
  const int64_t N = x.shape()[0], OC = weight_shape[0];
  check_shape(grad_out, {N, OC, g.OH, g.OW}, op, "grad_out");
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor gc = raw_contiguous(grad_out);  // (N, OC, OH, OW)
    Tensor xc = raw_contiguous(x);         // (N, C, H, W)
    Tensor dw = Tensor::empty(weight_shape, x.dtype());  // (OC, C KH KW)
    conv_backward_weight<scalar_t>(g, N, OC, gc.data<scalar_t>(), xc.data<scalar_t>(), dw.data<scalar_t>());
    return dw;
  });
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt) {
  const char* op = "conv_transpose2d";
  check_float(x, op, "input");
  check_float(weight, op, "weight");
  check_same_dtype_device(x, weight, op);
  check_options(opt, op, true);
  // The forward convolution this is the transpose of: image (OC, OH, OW) -> (IC, H, W).
  const ConvGeometry g = conv_geometry::transposed(op, x.shape(), weight.shape(), opt);
  const int64_t N = x.shape()[0], IC = x.shape()[1], OC = g.C, OH = g.H, OW = g.W;
  check_bias(bias, x, OC, op);
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor xc = raw_contiguous(x);       // (N, IC, H, W): the "dy" of the forward convolution
    Tensor wc = raw_contiguous(weight);  // (IC, OC KH KW)
    Tensor y = Tensor::empty({N, OC, OH, OW}, x.dtype());
    // y = col2im( W^T (OC KH KW, IC) @ x_n (IC, H W) )
    conv_backward_data<scalar_t>(g, N, IC, xc.data<scalar_t>(), wc.data<scalar_t>(), y.data<scalar_t>());
    if (bias.defined()) add_bias(y.data<scalar_t>(), raw_contiguous(bias).data<scalar_t>(), N, OC, OH * OW);
    return y;
  });
}

}  // namespace loom::cpu
