// matmul_shape.h: the shape rules of the matmul op, shared by the CPU
// (kernels/cpu/matmul.cpp) and CUDA (kernels/cuda/matmul.cu) kernels so both
// accept the same shapes and refuse the others with the same message:
//   (M, K) @ (K, N) -> (M, N);  (B, M, K) @ (B, K, N) -> (B, M, N);  (B, M, K) @ (K, N) -> (B, M, N).
#pragma once
#include "tensor/tensor.h"

namespace loom {

// Throws unless a @ b is one of the three forms with matching K (and B).
inline void check_matmul_shapes(const Tensor& a, const Tensor& b) {
  const bool shapes_ok = (a.dim() == 2 && b.dim() == 2) || (a.dim() == 3 && (b.dim() == 2 || b.dim() == 3));
  LOOM_CHECK(shapes_ok, "matmul: unsupported shapes ", shape_str(a.shape()), " @ ", shape_str(b.shape()),
             ": expected (M, K) @ (K, N), (B, M, K) @ (B, K, N) or (B, M, K) @ (K, N)");
  const int64_t ka = a.shape()[a.dim() - 1], kb = b.shape()[b.dim() - 2];
  LOOM_CHECK(ka == kb, "matmul: inner dimensions differ: ", shape_str(a.shape()), " @ ", shape_str(b.shape()),
             " (a has K = ", ka, " columns, b has ", kb, " rows)");
  if (a.dim() == 3 && b.dim() == 3)
    LOOM_CHECK(a.shape()[0] == b.shape()[0], "matmul: batch sizes differ: ", shape_str(a.shape()), " @ ",
               shape_str(b.shape()), " (", a.shape()[0], " vs ", b.shape()[0], ")");
}

// The result's shape: (M, N) or (B, M, N). Call after check_matmul_shapes.
inline Shape matmul_result_shape(const Tensor& a, const Tensor& b) {
  const int64_t m = a.shape()[a.dim() - 2], n = b.shape()[b.dim() - 1];
  return a.dim() == 3 ? Shape{a.shape()[0], m, n} : Shape{m, n};
}

}  // namespace loom
