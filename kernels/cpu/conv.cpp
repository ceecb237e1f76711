// conv.cpp: PLACEHOLDER, being written now: each op throws "not implemented yet".
#include "kernels/cpu/cpu.h"

namespace loom::cpu {
[[noreturn]] static void pending(const char* op) { detail::throw_error(op, ": not implemented yet"); }
Tensor conv2d(const Tensor&, const Tensor&, const Tensor&, const Conv2dOptions&) { pending("conv2d"); }
Tensor conv2d_backward_input(const Tensor&, const Tensor&, const Shape&, const Conv2dOptions&) { pending("conv2d_backward_input"); }
Tensor conv2d_backward_weight(const Tensor&, const Tensor&, const Shape&, const Conv2dOptions&) { pending("conv2d_backward_weight"); }
Tensor conv_transpose2d(const Tensor&, const Tensor&, const Tensor&, const Conv2dOptions&) { pending("conv_transpose2d"); }
}  // namespace loom::cpu
