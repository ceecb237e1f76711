// elementwise_checks.h: argument checks shared by the CPU (kernels/cpu/unary.cpp)
// and CUDA (kernels/cuda/unary.cu) elementwise backward rules, so both devices
// refuse the same inputs with the same message.
#pragma once
#include "tensor/tensor.h"

namespace loom {

// Throws naming `op` unless the incoming gradient has the input's shape.
inline void check_grad_shape(const Tensor& grad, const Tensor& x, const char* op) {
  LOOM_CHECK(grad.shape() == x.shape(), op, ": grad shape ", shape_str(grad.shape()), " differs from input shape ",
             shape_str(x.shape()));
}

}  // namespace loom
