// pool.cpp: differentiable pooling and upsampling of x (N, C, H, W).
//   max_pool2d:           the gradient goes to the chosen maximum of each window
//   avg_pool2d:           each window's g / divisor goes to every element of the window
//   adaptive_avg_pool2d:  avg_pool2d with kernel = stride = input / output size
//   upsample_nearest:     each input gets the sum of g over the outputs that copied it
//   upsample_bilinear:    the adjoint of the interpolation (same weights)
// The raw ops (kernels/cpu/pool.cpp, kernels/cpu/resample.cpp) do the work.
#include "autograd/functions.h"
#include "autograd/node.h"
#include "kernels/ops.h"

namespace loom {

using autograd::record;
using Grads = std::vector<Tensor>;

namespace {

Pool2dOptions square_pool(const char* op, int64_t kernel, int64_t stride, int64_t padding) {
  LOOM_CHECK(stride == -1 || stride > 0, op, ": stride must be positive (or -1 for stride = kernel), got ", stride);
  Pool2dOptions opt;
  opt.kernel = {kernel, kernel};
  opt.stride = stride == -1 ? Pair{kernel, kernel} : Pair{stride, stride};
  opt.padding = {padding, padding};
  return opt;
}

// avg_pool2d with explicit options, recorded: dx = avg_pool2d_backward(g).
Tensor avg_pool2d_with(const Tensor& x, const Pool2dOptions& opt) {
  return record("avg_pool2d", ops::avg_pool2d(x, opt), {x}, [shape = x.shape(), opt](const Tensor& g) {
    return Grads{ops::avg_pool2d_backward(g, shape, opt)};
  });
}

}  // namespace

// dx[n, c, indices[n, c, oh, ow]] += g[n, c, oh, ow]
Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  MaxPoolResult r = ops::max_pool2d(x, square_pool("max_pool2d", kernel, stride, padding));
  return record("max_pool2d", r.output, {x}, [shape = x.shape(), indices = r.indices](const Tensor& g) {
    return Grads{ops::max_pool2d_backward(g, indices, shape)};
  });
}

Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding, bool count_include_pad) {
  Pool2dOptions opt = square_pool("avg_pool2d", kernel, stride, padding);
  opt.count_include_pad = count_include_pad;
  return avg_pool2d_with(x, opt);
}

// Output (N, C, S, S). With H and W divisible by S, PyTorch's adaptive windows
// [floor(i H / S), ceil((i + 1) H / S)) are the disjoint blocks of size H / S,
// so this is avg_pool2d with kernel = stride = (H / S, W / S). S = 1 is the
// global average. Sizes that do not divide the input (overlapping windows of
// varying size) are not supported.
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t output_size) {
  LOOM_CHECK(x.defined() && x.dim() == 4, "adaptive_avg_pool2d: input must have shape (N, C, H, W), got ",
             x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  const int64_t H = x.shape()[2], W = x.shape()[3];
  LOOM_CHECK(output_size > 0, "adaptive_avg_pool2d: output_size must be positive, got ", output_size);
  LOOM_CHECK(H % output_size == 0 && W % output_size == 0, "adaptive_avg_pool2d: output size ", output_size,
             " does not divide the input's spatial size (", H, ", ", W, ") of shape ", shape_str(x.shape()),
             "; only 1 (global average) and sizes that divide H and W are supported");
  Pool2dOptions opt;
  opt.kernel = {H / output_size, W / output_size};
  opt.stride = opt.kernel;
  opt.padding = {0, 0};
  return avg_pool2d_with(x, opt);
}

Tensor upsample_nearest(const Tensor& x, int64_t out_h, int64_t out_w) {
  return record("upsample_nearest", ops::upsample_nearest2d(x, out_h, out_w), {x},
                [shape = x.shape()](const Tensor& g) { return Grads{ops::upsample_nearest2d_backward(g, shape)}; });
}

Tensor upsample_bilinear(const Tensor& x, int64_t out_h, int64_t out_w, bool align_corners) {
  return record("upsample_bilinear", ops::upsample_bilinear2d(x, out_h, out_w, align_corners), {x},
                [shape = x.shape(), align_corners](const Tensor& g) {
                  return Grads{ops::upsample_bilinear2d_backward(g, shape, align_corners)};
                });
}

}  // namespace loom
