// norm_layout.h: the argument checks and the (N, C, S) reading of batch
// normalisation, shared by the CPU (kernels/cpu/norm.cpp) and CUDA
// (kernels/cuda/norm.cu) implementations so both accept and refuse the same
// inputs with the same messages.
#pragma once
#include "tensor/tensor.h"

namespace loom::norm_layout {

// The (N, C, S) reading of x (N, C, *), S = prod(*).
struct ChannelLayout {
  int64_t N = 0, C = 0, S = 1;
  int64_t M() const { return N * S; }  // values per channel
};

// Throws unless x has at least 2 dims (the dtype is checked by the caller).
inline ChannelLayout channel_layout(const Tensor& x, const char* op) {
  LOOM_CHECK(x.dim() >= 2, op, ": input must have shape (N, C, *) with at least 2 dims, got ",
             shape_str(x.shape()));
  ChannelLayout L;
  L.N = x.shape()[0];
  L.C = x.shape()[1];
  for (int64_t d = 2; d < x.dim(); ++d) L.S *= x.shape()[d];
  return L;
}

// Throws unless t is undefined (when optional) or a (C) tensor of x's dtype.
inline void check_per_channel(const Tensor& t, const Tensor& x, int64_t C, const char* op, const char* what,
                              bool optional) {
  if (!t.defined()) {
    LOOM_CHECK(optional, op, ": ", what, " is undefined");
    return;
  }
  LOOM_CHECK(t.dim() == 1 && t.shape()[0] == C, op, ": ", what, " must have shape [", C,
             "] (one value per channel of input ", shape_str(x.shape()), "), got ", shape_str(t.shape()));
  LOOM_CHECK(t.dtype() == x.dtype(), op, ": ", what, " is ", dtype_name(t.dtype()), " but input is ",
             dtype_name(x.dtype()));
}

// The checks of the training forward that do not depend on the device.
inline void check_train_args(const ChannelLayout& L, const Tensor& x, const Tensor& weight, const Tensor& bias,
                             double eps, const char* op) {
  check_per_channel(weight, x, L.C, op, "weight", true);
  check_per_channel(bias, x, L.C, op, "bias", true);
  LOOM_CHECK(L.M() > 1, op, ": expected more than 1 value per channel when training, got input shape ",
             shape_str(x.shape()));
  LOOM_CHECK(eps >= 0, op, ": eps must be >= 0, got ", eps);
}

// The checks of the evaluation forward that do not depend on the device.
inline void check_eval_args(const ChannelLayout& L, const Tensor& x, const Tensor& weight, const Tensor& bias,
                            const Tensor& running_mean, const Tensor& running_var, const char* op) {
  check_per_channel(weight, x, L.C, op, "weight", true);
  check_per_channel(bias, x, L.C, op, "bias", true);
  check_per_channel(running_mean, x, L.C, op, "running_mean", false);
  check_per_channel(running_var, x, L.C, op, "running_var", false);
}

// The checks of the training backward that do not depend on the device
// (grad_out's dtype is checked by the caller).
inline void check_backward_train_args(const ChannelLayout& L, const Tensor& grad_out, const Tensor& x,
                                      const Tensor& weight, const Tensor& mean, const Tensor& invstd,
                                      const char* op) {
  check_same_dtype_device(grad_out, x, op);
  LOOM_CHECK(grad_out.shape() == x.shape(), op, ": grad_out shape ", shape_str(grad_out.shape()),
             " differs from input shape ", shape_str(x.shape()));
  check_per_channel(weight, x, L.C, op, "weight", true);
  check_per_channel(mean, x, L.C, op, "mean", false);
  check_per_channel(invstd, x, L.C, op, "invstd", false);
}

}  // namespace loom::norm_layout
