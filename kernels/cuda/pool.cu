// pool.cu: 2-D max and average pooling on CUDA, forward and backward, with
// the semantics of kernels/cpu/pool.cpp (the oracle). The geometry (output
// size, windows, the average divisor) is kernels/pool_geometry.h, shared with
// the CPU.
//
// Kernel versions:
//   max_pool2d_forward, avg_pool2d_forward: one thread per output element,
//     the window scanned in the CPU's order (same tie rule, same double sum):
//     results equal the CPU's exactly.
//   avg_pool2d_backward_v1_gather (default): one thread per INPUT element;
//     it adds g / divisor of the outputs whose window contains it, ranges
//     computed analytically (pool_geometry::outputs_containing), in output
//     order, in double. No atomics; the same additions in the same order as
//     the CPU's scatter, so the result equals it exactly.
//   max_pool2d_backward_v1_owner_scan (default): the op gets only the indices
//     (not the window geometry), so a gather by windows is not possible. One
//     block per (n, c) plane; the plane's (index, g) pairs are staged through
//     shared memory in output order, and thread t adds those whose index it
//     owns (index % blockDim == t) straight into its own elements. No atomics,
//     no races, and each element gets its additions in output order, in the
//     dtype, like the CPU. Costs blockDim comparisons per output; fine for
//     the plane sizes of the models here.
#include <limits>

#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"
#include "kernels/cuda/grid_stride.cuh"
#include "kernels/cuda/device_flag.cuh"
#include "kernels/pool_geometry.h"

namespace loom::cuda {

namespace {

using pool_geometry::PoolGeometry;

constexpr int kOwnerThreads = 128;  // block size (and tile length) of the max-pool backward

// out[p, oh, ow] = max of the window (padding never wins); indices = h W + w.
// First maximum wins a tie; a NaN wins over any number, a later NaN over an earlier one.
template <class T>
__global__ void max_pool2d_forward(const T* __restrict__ x, PoolGeometry g, int64_t n, T* __restrict__ out,
                                   int64_t* __restrict__ indices) {
  LOOM_GRID_STRIDE_LOOP(o, n) {
    const int64_t ow = o % g.OW, oh = (o / g.OW) % g.OH, p = o / (g.OW * g.OH);
    const int64_t hs = oh * g.sh - g.ph, ws = ow * g.sw - g.pw;
    const int64_t h0 = hs > 0 ? hs : 0, h1 = hs + g.kh < g.H ? hs + g.kh : g.H;
    const int64_t w0 = ws > 0 ? ws : 0, w1 = ws + g.kw < g.W ? ws + g.kw : g.W;
    const T* xs = x + p * g.H * g.W;
    T best = -std::numeric_limits<T>::infinity();
    int64_t best_index = h0 * g.W + w0;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) {
        const T v = xs[h * g.W + w];
        if (v > best || isnan(v)) {
          best = v;
          best_index = h * g.W + w;
        }
      }
    out[o] = best;
    indices[o] = best_index;
  }
}

// One block per plane p: gx[p, idx] += g[p, o] for o in output order, where
// thread t owns the idx with idx % kOwnerThreads == t. gx must start at zero.
// An index outside [0, HW) is recorded in `bad` (its flat output position).
template <class T>
__global__ void max_pool2d_backward_v1_owner_scan(const T* __restrict__ g, const int64_t* __restrict__ indices,
                                                  int64_t planes, int64_t OHW, int64_t HW, T* __restrict__ gx,
                                                  unsigned long long* bad) {
  __shared__ int64_t tile_index[kOwnerThreads];
  __shared__ T tile_grad[kOwnerThreads];
  const int64_t p = blockIdx.x;
  if (p >= planes) return;
  const int t = threadIdx.x;
  T* gxs = gx + p * HW;
  for (int64_t start = 0; start < OHW; start += kOwnerThreads) {
    const int64_t o = start + t;
    if (o < OHW) {
      const int64_t idx = indices[p * OHW + o];
      tile_index[t] = idx;
      tile_grad[t] = g[p * OHW + o];
      if (idx < 0 || idx >= HW) flag_bad(bad, p * OHW + o);
    }
    __syncthreads();
    const int64_t count = OHW - start < kOwnerThreads ? OHW - start : kOwnerThreads;
    for (int64_t k = 0; k < count; ++k) {
      const int64_t idx = tile_index[k];
      if (idx >= 0 && idx < HW && idx % kOwnerThreads == t) gxs[idx] += tile_grad[k];
    }
    __syncthreads();  // the tile is overwritten next
  }
}

// out[p, oh, ow] = sum of the window (double, rows then columns) / divisor.
template <class T>
__global__ void avg_pool2d_forward(const T* __restrict__ x, PoolGeometry g, bool count_include_pad, int64_t n,
                                   T* __restrict__ out) {
  LOOM_GRID_STRIDE_LOOP(o, n) {
    const int64_t ow = o % g.OW, oh = (o / g.OW) % g.OH, p = o / (g.OW * g.OH);
    const pool_geometry::AvgWindow win = pool_geometry::avg_window(g, oh, ow, count_include_pad);
    const T* xs = x + p * g.H * g.W;
    double s = 0;
    for (int64_t h = win.h0; h < win.h1; ++h)
      for (int64_t w = win.w0; w < win.w1; ++w) s += static_cast<double>(xs[h * g.W + w]);
    out[o] = static_cast<T>(s / win.divisor);
  }
}

// gx[p, h, w] = sum over the outputs whose window contains (h, w), in output
// order, of g[p, oh, ow] / divisor(oh, ow).
template <class T>
__global__ void avg_pool2d_backward_v1_gather(const T* __restrict__ g, PoolGeometry geo, bool count_include_pad,
                                              int64_t n, T* __restrict__ gx) {
  LOOM_GRID_STRIDE_LOOP(i, n) {
    const int64_t w = i % geo.W, h = (i / geo.W) % geo.H, p = i / (geo.W * geo.H);
    const pool_geometry::OutputRange rh = pool_geometry::outputs_containing(h, geo.kh, geo.sh, geo.ph, geo.OH);
    const pool_geometry::OutputRange rw = pool_geometry::outputs_containing(w, geo.kw, geo.sw, geo.pw, geo.OW);
    const T* gs = g + p * geo.OH * geo.OW;
    double acc = 0;
    for (int64_t oh = rh.lo; oh < rh.hi; ++oh)
      for (int64_t ow = rw.lo; ow < rw.hi; ++ow) {
        const pool_geometry::AvgWindow win = pool_geometry::avg_window(geo, oh, ow, count_include_pad);
        acc += static_cast<double>(gs[oh * geo.OW + ow]) / win.divisor;
      }
    gx[i] = static_cast<T>(acc);
  }
}

}  // namespace

MaxPoolResult max_pool2d(const Tensor& x, const Pool2dOptions& opt) {
  const char* op = "max_pool2d";
  check_float_cuda(x, op);
  const PoolGeometry g = pool_geometry::pool_geometry(x.shape(), opt, op);
  set_device_of(x);
  const Tensor xd = dense(x);  // (N, C, H, W)
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    MaxPoolResult r{empty_on({g.N, g.C, g.OH, g.OW}, x.dtype(), x),     // (N, C, OH, OW)
                    empty_on({g.N, g.C, g.OH, g.OW}, DType::Int64, x)};  // (N, C, OH, OW)
    const int64_t n = r.output.numel();
    if (n == 0) return r;
    max_pool2d_forward<scalar_t><<<blocks_for(n), kThreads, 0, stream_of(x)>>>(
        xd.data<scalar_t>(), g, n, r.output.data<scalar_t>(), r.indices.data<int64_t>());
    LOOM_CUDA_CHECK_LAUNCH("max_pool2d_forward");
    return r;
  });
}

Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Shape& input_shape) {
  const char* op = "max_pool2d_backward";
  check_float_cuda(grad_out, op, "grad_out");
  LOOM_CHECK(input_shape.size() == 4, op, ": input_shape must be (N, C, H, W), got ", shape_str(input_shape));
  LOOM_CHECK(grad_out.dim() == 4, op, ": grad_out must have 4 dims, got shape ", shape_str(grad_out.shape()));
  LOOM_CHECK(indices.defined() && indices.dtype() == DType::Int64, op, ": indices must be int64");
  LOOM_CHECK(indices.shape() == grad_out.shape(), op, ": indices shape ", shape_str(indices.shape()),
             " differs from grad_out shape ", shape_str(grad_out.shape()));
  LOOM_CHECK(grad_out.shape()[0] == input_shape[0] && grad_out.shape()[1] == input_shape[1], op, ": grad_out ",
             shape_str(grad_out.shape()), " does not match input shape ", shape_str(input_shape), " in N and C");
  LOOM_CHECK(indices.device() == grad_out.device(), op, ": indices are on ", indices.device().str(),
             " but grad_out is on ", grad_out.device().str());
  const int64_t planes = input_shape[0] * input_shape[1], HW = input_shape[2] * input_shape[3];
  const int64_t OHW = grad_out.shape()[2] * grad_out.shape()[3];
  set_device_of(grad_out);
  const Tensor gd = dense(grad_out), id = dense(indices);  // (N, C, OH, OW)
  return LOOM_DISPATCH_FLOATING(grad_out.dtype(), op, [&] {
    Tensor gx = Tensor::zeros(input_shape, grad_out.dtype(), grad_out.device());  // (N, C, H, W)
    if (planes == 0 || OHW == 0) return gx;  // HW == 0 still checks the indices (all out of the plane), as the CPU
    cudaStream_t stream = stream_of(grad_out);
    const DeviceFlag bad(grad_out, stream);
    max_pool2d_backward_v1_owner_scan<scalar_t><<<static_cast<unsigned>(planes), kOwnerThreads, 0, stream>>>(
        gd.data<scalar_t>(), id.data<int64_t>(), planes, OHW, HW, gx.data<scalar_t>(), bad.word);
    LOOM_CUDA_CHECK_LAUNCH("max_pool2d_backward_v1_owner_scan");
    LOOM_CHECK(bad.read(stream) < 0, op, ": an index is outside the input plane of ", HW, " elements (input shape ",
               shape_str(input_shape), ")");
    return gx;
  });
}

Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& opt) {
  const char* op = "avg_pool2d";
  check_float_cuda(x, op);
  const PoolGeometry g = pool_geometry::pool_geometry(x.shape(), opt, op);
  set_device_of(x);
  const Tensor xd = dense(x);  // (N, C, H, W)
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor out = empty_on({g.N, g.C, g.OH, g.OW}, x.dtype(), x);  // (N, C, OH, OW)
    const int64_t n = out.numel();
    if (n == 0) return out;
    avg_pool2d_forward<scalar_t><<<blocks_for(n), kThreads, 0, stream_of(x)>>>(
        xd.data<scalar_t>(), g, opt.count_include_pad, n, out.data<scalar_t>());
    LOOM_CUDA_CHECK_LAUNCH("avg_pool2d_forward");
    return out;
  });
}

Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape, const Pool2dOptions& opt) {
  const char* op = "avg_pool2d_backward";
  check_float_cuda(grad_out, op, "grad_out");
  const PoolGeometry g = pool_geometry::pool_geometry(input_shape, opt, op);
  check_shape(grad_out, {g.N, g.C, g.OH, g.OW}, op, "grad_out");
  set_device_of(grad_out);
  const Tensor gd = dense(grad_out);  // (N, C, OH, OW)
  return LOOM_DISPATCH_FLOATING(grad_out.dtype(), op, [&] {
    Tensor gx = empty_on(input_shape, grad_out.dtype(), grad_out);  // (N, C, H, W)
    const int64_t n = gx.numel();
    if (n == 0) return gx;
    avg_pool2d_backward_v1_gather<scalar_t><<<blocks_for(n), kThreads, 0, stream_of(grad_out)>>>(
        gd.data<scalar_t>(), g, opt.count_include_pad, n, gx.data<scalar_t>());
    LOOM_CUDA_CHECK_LAUNCH("avg_pool2d_backward_v1_gather");
    return gx;
  });
}

}  // namespace loom::cuda
