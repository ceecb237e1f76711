// shape_ops.cu: cat, 2-D padding (zero and reflect) with its backward, and
// one_hot on CUDA, with the semantics of kernels/cpu/shape_ops.cpp (the
// oracle). Argument checks and index rules are shared with the CPU through
// kernels/cat_shape.h and kernels/pad_geometry.h.
//
// Kernel versions:
//   cat_copy_v1_per_input (default, the only one): one grid-stride launch per
//     non-empty input; element i of input k (read through its own strides, so
//     any strided view works) goes to the dense output at the input's offset
//     along dim. Many tiny inputs cost one launch each; a batched launch with
//     a table of inputs would be the next version.
//   pad2d_forward: one thread per output element (all four dtypes).
//   pad2d_backward_v1_gather (default): one thread per INPUT element; it adds
//     the output elements that read it. Along each axis those are at most
//     three positions (the left mirror, itself, the right mirror), each
//     validated with the forward's own rule (pad_geometry::pad_readers), taken
//     in increasing output order, in double: the CPU's additions in the CPU's
//     order, without atomics.
//   one_hot_fill: one thread per output element writes (label == k); labels
//     outside [0, num_classes) set a device flag (the smallest bad position)
//     that the host reads back to throw the CPU's message.
#include <algorithm>
#include <vector>

#include "kernels/cat_shape.h"
#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"
#include "kernels/cuda/device_flag.cuh"
#include "kernels/cuda/grid_stride.cuh"
#include "kernels/pad_geometry.h"

namespace loom::cuda {

namespace {

using pad_geometry::pad_source;
using pad_geometry::PadGeometry;

// dst[dst_ix.offset(i)] = src[src_ix.offset(i)] for i in [0, n) (both indexers over the input's shape).
template <class T>
__global__ void cat_copy_v1_per_input(const T* __restrict__ src, StridedIndexer src_ix, T* __restrict__ dst,
                                      StridedIndexer dst_ix, int64_t n) {
  LOOM_GRID_STRIDE_LOOP(i, n) { dst[dst_ix.offset(i)] = src[src_ix.offset(i)]; }
}

// One axis of a padding: input size, output size, padding before.
struct PadAxis {
  int64_t in, out, before;
};

// out[p, oh, ow] = x[p, src_h(oh), src_w(ow)] (0 where there is no source).
template <class T>
__global__ void pad2d_forward(const T* __restrict__ x, PadAxis ah, PadAxis aw, bool reflect, int64_t n,
                              T* __restrict__ y) {
  LOOM_GRID_STRIDE_LOOP(o, n) {
    const int64_t ow = o % aw.out, oh = (o / aw.out) % ah.out, p = o / (aw.out * ah.out);
    const int64_t h = pad_source(oh, ah.in, ah.before, reflect), w = pad_source(ow, aw.in, aw.before, reflect);
    y[o] = (h < 0 || w < 0) ? T(0) : x[p * ah.in * aw.in + h * aw.in + w];
  }
}

__device__ __forceinline__ pad_geometry::Readers pad_readers(const PadAxis& a, int64_t i, bool reflect) {
  return pad_geometry::pad_readers(i, a.in, a.out, a.before, reflect);
}

// gx[p, h, w] = sum of g[p, oh, ow] over the outputs that read (h, w), in output order.
template <class T>
__global__ void pad2d_backward_v1_gather(const T* __restrict__ g, PadAxis ah, PadAxis aw, bool reflect, int64_t n,
                                         T* __restrict__ gx) {
  LOOM_GRID_STRIDE_LOOP(i, n) {
    const int64_t w = i % aw.in, h = (i / aw.in) % ah.in, p = i / (aw.in * ah.in);
    const pad_geometry::Readers rh = pad_readers(ah, h, reflect), rw = pad_readers(aw, w, reflect);
    const T* gs = g + p * ah.out * aw.out;
    double acc = 0;
    for (int a = 0; a < rh.count; ++a)
      for (int b = 0; b < rw.count; ++b) acc += static_cast<double>(gs[rh.at[a] * aw.out + rw.at[b]]);
    gx[i] = static_cast<T>(acc);
  }
}

// out[i, k] = (labels[i] == k); a label outside [0, classes) flags its position i.
template <class T>
__global__ void one_hot_fill(const int64_t* __restrict__ labels, int64_t classes, int64_t n, T* __restrict__ out,
                             unsigned long long* bad) {
  LOOM_GRID_STRIDE_LOOP(o, n) {
    const int64_t i = o / classes, k = o % classes;
    const int64_t label = labels[i];
    if (k == 0 && (label < 0 || label >= classes)) flag_bad(bad, i);
    out[o] = label == k ? T(1) : T(0);
  }
}

PadAxis axis_h(const PadGeometry& g, const Pad2d& pad) { return {g.H, g.OH, pad[2]}; }
PadAxis axis_w(const PadGeometry& g, const Pad2d& pad) { return {g.W, g.OW, pad[0]}; }

}  // namespace

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  const char* op = "cat";
  const cat_shape::CatShape cs = cat_shape::cat_shape(xs, dim, op);
  const Tensor& first = xs[0];
  LOOM_CHECK(first.device().is_cuda(), op, ": tensor 0 is on ", first.device().str(), ", expected a CUDA tensor");
  set_device_of(first);
  Tensor out = empty_on(cs.out_shape, first.dtype(), first);
  cudaStream_t stream = stream_of(first);
  LOOM_DISPATCH_ALL(first.dtype(), op, [&] {
    int64_t start = 0;  // where the next input begins along dim
    for (const Tensor& x : xs) {
      const int64_t n = x.numel();
      if (n > 0) {  // out[..., start:start+size_d, ...] = x
        StridedIndexer dst_ix = make_indexer(x, op);
        for (int d = 0; d < dst_ix.ndim; ++d) dst_ix.strides[d] = out.strides()[d];
        scalar_t* dst = out.data<scalar_t>() + start * out.strides()[cs.dim];
        const scalar_t* src = x.data<scalar_t>();  // x's first element (its offset included)
        cat_copy_v1_per_input<scalar_t><<<blocks_for(n), kThreads, 0, stream>>>(src, make_indexer(x, op), dst,
                                                                                 dst_ix, n);
        LOOM_CUDA_CHECK_LAUNCH("cat_copy_v1_per_input");
      }
      start += x.shape()[cs.dim];
    }
  });
  return out;
}

Tensor pad2d(const Tensor& x, const Pad2d& pad, PadMode mode) {
  const char* op = "pad2d";
  LOOM_CHECK(x.defined(), op, ": input is undefined");
  const PadGeometry g = pad_geometry::pad_geometry(x.shape(), pad, mode, op);
  set_device_of(x);
  const Tensor xd = dense(x);  // (P, H, W)
  return LOOM_DISPATCH_ALL(x.dtype(), op, [&] {
    Tensor out = empty_on(g.out_shape, x.dtype(), x);  // (P, OH, OW)
    const int64_t n = out.numel();
    if (n == 0) return out;
    pad2d_forward<scalar_t><<<blocks_for(n), kThreads, 0, stream_of(x)>>>(
        xd.data<scalar_t>(), axis_h(g, pad), axis_w(g, pad), mode == PadMode::Reflect, n, out.data<scalar_t>());
    LOOM_CUDA_CHECK_LAUNCH("pad2d_forward");
    return out;
  });
}

Tensor pad2d_backward(const Tensor& grad_out, const Shape& input_shape, const Pad2d& pad, PadMode mode) {
  const char* op = "pad2d_backward";
  check_float_cuda(grad_out, op, "grad_out");
  const PadGeometry g = pad_geometry::pad_geometry(input_shape, pad, mode, op);
  check_shape(grad_out, g.out_shape, op, "grad_out");
  set_device_of(grad_out);
  const Tensor gd = dense(grad_out);  // (P, OH, OW)
  return LOOM_DISPATCH_FLOATING(grad_out.dtype(), op, [&] {
    Tensor gx = empty_on(input_shape, grad_out.dtype(), grad_out);  // (P, H, W)
    const int64_t n = gx.numel();
    if (n == 0) return gx;
    pad2d_backward_v1_gather<scalar_t><<<blocks_for(n), kThreads, 0, stream_of(grad_out)>>>(
        gd.data<scalar_t>(), axis_h(g, pad), axis_w(g, pad), mode == PadMode::Reflect, n, gx.data<scalar_t>());
    LOOM_CUDA_CHECK_LAUNCH("pad2d_backward_v1_gather");
    return gx;
  });
}

Tensor one_hot(const Tensor& labels, int64_t num_classes, DType dtype) {
  const char* op = "one_hot";
  LOOM_CHECK(labels.defined(), op, ": labels are undefined");
  LOOM_CHECK(labels.dtype() == DType::Int64, op, ": labels must be int64, got ", dtype_name(labels.dtype()),
             " (shape ", shape_str(labels.shape()), ")");
  LOOM_CHECK(labels.device().is_cuda(), op, ": labels are on ", labels.device().str(), ", expected a CUDA tensor");
  set_device_of(labels);
  const int64_t count = labels.numel();
  if (num_classes == -1) {  // PyTorch infers max(labels) + 1: read the labels back (simple; rare in training)
    LOOM_CHECK(count > 0, op, ": cannot infer num_classes (-1) from empty labels");
    const std::vector<int64_t> values = labels.to(Device::cpu()).to_vector<int64_t>();
    num_classes = *std::max_element(values.begin(), values.end()) + 1;
  }
  LOOM_CHECK(num_classes > 0, op, ": num_classes must be positive (or -1 to infer), got ", num_classes);
  Shape out_shape = labels.shape();
  out_shape.push_back(num_classes);
  const Tensor ld = dense(labels);
  Tensor out = empty_on(out_shape, dtype, labels);  // (*, num_classes)
  const int64_t n = out.numel();
  if (n == 0) return out;
  cudaStream_t stream = stream_of(labels);
  const DeviceFlag bad(labels, stream);
  LOOM_DISPATCH_ALL(dtype, op, [&] {
    one_hot_fill<scalar_t><<<blocks_for(n), kThreads, 0, stream>>>(ld.data<int64_t>(), num_classes, n,
                                                                    out.data<scalar_t>(), bad.word);
    LOOM_CUDA_CHECK_LAUNCH("one_hot_fill");
  });
  const int64_t first_bad = bad.read(stream);
  if (first_bad >= 0) {
    const int64_t value = ld.to(Device::cpu()).to_vector<int64_t>()[first_bad];  // the error path only
    LOOM_CHECK(false, op, ": label ", value, " at flat position ", first_bad, " is outside [0, ", num_classes,
               ") (labels shape ", shape_str(labels.shape()), ")");
  }
  return out;
}

}  // namespace loom::cuda
