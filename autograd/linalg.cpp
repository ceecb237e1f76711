// linalg.cpp: differentiable matrix products: matmul and linear.
//
// matmul, with Y = A B and upstream gradient G = dL/dY:
//   dL/dA = G B^T          (M, N) @ (N, K) -> (M, K)
//   dL/dB = A^T G          (K, M) @ (M, N) -> (K, N)
// batched (B, M, K) @ (B, K, N): the same per batch;
// (B, M, K) @ (K, N): B is shared by every batch, so its gradient sums over
// the batch: dL/dB = sum_b A_b^T G_b = A'^T G' with A' = A as (B*M, K) and
// G' = G as (B*M, N), a single GEMM.
// The transposes are views (swapped strides); gemm reads them in place.
//
// linear(x, W, b) = x W^T + b is composed from differentiable pieces (reshape,
// the transpose view of W, matmul, add), so its gradients come from theirs:
//   dL/dx = G W,  dL/dW = G^T x,  dL/db = sum of G over all rows.
#include "autograd/functions.h"
#include "autograd/node.h"
#include "kernels/ops.h"

namespace loom {

using autograd::record;
using Grads = std::vector<Tensor>;

Tensor matmul(const Tensor& a, const Tensor& b) {
  Tensor y = ops::matmul(a, b);  // checks shapes and dtypes
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  return record("matmul", y, {a, b}, [a = a.detach(), b = b.detach(), ga, gb](const Tensor& g) {
    Tensor grad_a, grad_b;
    if (ga) grad_a = ops::matmul(g, b.transpose(-1, -2));  // dA = G B^T   (.., M, K)
    if (gb) {
      if (a.dim() == 3 && b.dim() == 2) {
        const int64_t rows = a.shape()[0] * a.shape()[1];  // B*M
        Tensor a_rows = a.reshape({rows, a.shape()[2]});    // A' (B*M, K)
        Tensor g_rows = g.reshape({rows, g.shape()[2]});    // G' (B*M, N)
        grad_b = ops::matmul(a_rows.transpose(0, 1), g_rows);  // dB = A'^T G' = sum_b A_b^T G_b   (K, N)
      } else {
        grad_b = ops::matmul(a.transpose(-1, -2), g);  // dB = A^T G   (.., K, N)
      }
    }
    return Grads{grad_a, grad_b};
  });
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  LOOM_CHECK(x.defined() && weight.defined(), "linear: input and weight must be defined");
  LOOM_CHECK(weight.dim() == 2, "linear: weight must have 2 dims (out_features, in_features), got shape ",
             shape_str(weight.shape()));
  LOOM_CHECK(x.dim() >= 1, "linear: input must have at least 1 dim (*, in_features), got shape ",
             shape_str(x.shape()));
  const int64_t out_features = weight.shape()[0], in_features = weight.shape()[1];
  LOOM_CHECK(x.shape().back() == in_features, "linear: input has ", x.shape().back(), " features (shape ",
             shape_str(x.shape()), "), weight expects ", in_features, " (weight shape ", shape_str(weight.shape()),
             ")");
  if (bias.defined())
    LOOM_CHECK(bias.dim() == 1 && bias.shape()[0] == out_features, "linear: bias must have shape [", out_features,
               "] to match weight shape ", shape_str(weight.shape()), ", got ", shape_str(bias.shape()));

  int64_t rows = 1;  // product of the leading (*) dims
  for (int64_t d = 0; d + 1 < x.dim(); ++d) rows *= x.shape()[d];
  Tensor x_rows = x.dim() == 2 ? x : x.reshape({rows, in_features});  // (rows, in)
  Tensor y = matmul(x_rows, weight.transpose(0, 1));                    // x W^T: (rows, in) @ (in, out) view
  if (bias.defined()) y = add(y, bias);                                  // + b, broadcast over rows
  if (x.dim() == 2) return y;
  Shape out_shape = x.shape();  // (*, out)
  out_shape.back() = out_features;
  return y.reshape(out_shape);
}

}  // namespace loom
