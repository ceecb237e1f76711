// conv.cpp: differentiable conv2d and conv_transpose2d and their gradients.
//
// conv2d, y = conv(x, W) + b, is linear in x and in W. With g = dL/dy:
//   dL/dx = conv^T(g, W)           = conv2d_backward_input(g, W)
//   dL/dW[oc, c, kh, kw] = sum_{n, oh, ow} g[n, oc, oh, ow] x[n, c, oh s - p + kh d, ...]
//                                  = conv2d_backward_weight(g, x)
//   dL/db[oc] = sum_{n, oh, ow} g[n, oc, oh, ow]
//
// conv_transpose2d is conv^T itself: y = conv^T(x, W) + b with W (IC, OC, KH, KW)
// read as a conv2d weight from OC to IC channels. Its gradients are therefore
// the forward conv and the same weight gradient with the roles swapped:
//   dL/dx = conv(g, W)                        (same stride, padding, dilation)
//   dL/dW = conv2d_backward_weight(grad_out = x, input = g)
//   dL/db = sum of g over N, H, W
// (output_padding only pads y; where it is not below the stride, conv(g, W) is
// a little larger than x and is cropped, and x is zero-padded for dW, see below.)
#include "autograd/functions.h"
#include "autograd/node.h"
#include "kernels/ops.h"

namespace loom {

using autograd::record;
using Grads = std::vector<Tensor>;

namespace {

Conv2dOptions square_options(int64_t stride, int64_t padding, int64_t dilation, int64_t output_padding) {
  Conv2dOptions opt;
  opt.stride = {stride, stride};
  opt.padding = {padding, padding};
  opt.dilation = {dilation, dilation};
  opt.output_padding = {output_padding, output_padding};
  return opt;
}

// The options of the plain convolution that a transposed one is the transpose of.
Conv2dOptions without_output_padding(Conv2dOptions opt) {
  opt.output_padding = {0, 0};
  return opt;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt) {
  Tensor y = ops::conv2d(x, weight, bias, opt);
  const bool has_bias = bias.defined();
  std::vector<Tensor> inputs{x, weight};
  if (has_bias) inputs.push_back(bias);
  // Which gradients are wanted is fixed when the op is recorded.
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad(), need_b = has_bias && bias.requires_grad();
  return record("conv2d", y, std::move(inputs),
                [x = x.detach(), w = weight.detach(), opt, has_bias, need_x, need_w, need_b](const Tensor& g) {
                  Grads grads(has_bias ? 3 : 2);
                  if (need_x) grads[0] = ops::conv2d_backward_input(g, w, x.shape(), opt);  // conv^T(g, W)
                  if (need_w) grads[1] = ops::conv2d_backward_weight(g, x, w.shape(), opt);  // sum g x-patches
                  if (need_b) grads[2] = ops::sum(g, {0, 2, 3}, false);                      // sum_{n,h,w} g
                  return grads;
                });
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
              int64_t dilation) {
  return conv2d(x, weight, bias, square_options(stride, padding, dilation, 0));
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt) {
  Tensor y = ops::conv_transpose2d(x, weight, bias, opt);
  const bool has_bias = bias.defined();
  std::vector<Tensor> inputs{x, weight};
  if (has_bias) inputs.push_back(bias);
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad(), need_b = has_bias && bias.requires_grad();
  return record(
      "conv_transpose2d", y, std::move(inputs),
      [x = x.detach(), w = weight.detach(), opt, has_bias, need_x, need_w, need_b](const Tensor& g) {
        const Conv2dOptions conv_opt = without_output_padding(opt);
        const int64_t H = x.shape()[2], W = x.shape()[3];
        Grads grads(has_bias ? 3 : 2);
        // conv(g, W) has H + floor(output_padding / stride) rows: H unless
        // output_padding >= stride (allowed when it is below the dilation).
        if (need_x) {
          Tensor dx = ops::conv2d(g, w, Tensor(), conv_opt);  // dL/dx = conv(g, W)
          if (dx.shape()[2] != H || dx.shape()[3] != W) dx = dx.narrow(2, 0, H).narrow(3, 0, W).contiguous();
          grads[0] = dx;
        }
        if (need_w) {
          // dL/dW[ic, oc, kh, kw] = sum_{n,h,w} x[n, ic, h, w] g[n, oc, h s - p + kh d, w s - p + kw d]
          //                       = conv2d_backward_weight(grad_out = x, input = g)
          // conv2d_backward_weight wants grad_out of the conv's own output size; rows
          // of x beyond H (if any) are zeros, which add nothing.
          const int64_t OH = (g.shape()[2] + 2 * opt.padding[0] - opt.dilation[0] * (w.shape()[2] - 1) - 1) / opt.stride[0] + 1;
          const int64_t OW = (g.shape()[3] + 2 * opt.padding[1] - opt.dilation[1] * (w.shape()[3] - 1) - 1) / opt.stride[1] + 1;
          Tensor xg = x;
          if (OH != H || OW != W) {
            xg = Tensor::zeros({x.shape()[0], x.shape()[1], OH, OW}, x.dtype(), x.device());
            xg.narrow(2, 0, H).narrow(3, 0, W).copy_(x);
          }
          grads[1] = ops::conv2d_backward_weight(xg, g, w.shape(), conv_opt);
        }
        if (need_b) grads[2] = ops::sum(g, {0, 2, 3}, false);  // sum_{n,h,w} g
        return grads;
      });
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
                        int64_t output_padding, int64_t dilation) {
  return conv_transpose2d(x, weight, bias, square_options(stride, padding, dilation, output_padding));
}

}  // namespace loom
