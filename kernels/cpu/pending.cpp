// pending.cpp: TEMPORARY. Op families being written right now; each throws
// until its real file lands. This file must be gone before the issue closes.
#include "kernels/cpu/cpu.h"

namespace loom::cpu {
[[noreturn]] static void pending(const char* op) { detail::throw_error(op, ": not implemented yet"); }
Tensor matmul(const Tensor&, const Tensor&) { pending("matmul"); }
Tensor conv2d(const Tensor&, const Tensor&, const Tensor&, const Conv2dOptions&) { pending("conv2d"); }
Tensor conv2d_backward_input(const Tensor&, const Tensor&, const Shape&, const Conv2dOptions&) { pending("conv2d_backward_input"); }
Tensor conv2d_backward_weight(const Tensor&, const Tensor&, const Shape&, const Conv2dOptions&) { pending("conv2d_backward_weight"); }
Tensor conv_transpose2d(const Tensor&, const Tensor&, const Tensor&, const Conv2dOptions&) { pending("conv_transpose2d"); }
BatchNormResult batch_norm_train(const Tensor&, const Tensor&, const Tensor&, double) { pending("batch_norm_train"); }
Tensor batch_norm_eval(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, double) { pending("batch_norm_eval"); }
BatchNormGrads batch_norm_backward_train(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&) { pending("batch_norm_backward_train"); }
MaxPoolResult max_pool2d(const Tensor&, const Pool2dOptions&) { pending("max_pool2d"); }
Tensor max_pool2d_backward(const Tensor&, const Tensor&, const Shape&) { pending("max_pool2d_backward"); }
Tensor avg_pool2d(const Tensor&, const Pool2dOptions&) { pending("avg_pool2d"); }
Tensor avg_pool2d_backward(const Tensor&, const Shape&, const Pool2dOptions&) { pending("avg_pool2d_backward"); }
Tensor upsample_nearest2d(const Tensor&, int64_t, int64_t) { pending("upsample_nearest2d"); }
Tensor upsample_nearest2d_backward(const Tensor&, const Shape&) { pending("upsample_nearest2d_backward"); }
Tensor upsample_bilinear2d(const Tensor&, int64_t, int64_t, bool) { pending("upsample_bilinear2d"); }
Tensor upsample_bilinear2d_backward(const Tensor&, const Shape&, bool) { pending("upsample_bilinear2d_backward"); }
Tensor cat(const std::vector<Tensor>&, int64_t) { pending("cat"); }
Tensor pad2d(const Tensor&, const Pad2d&, PadMode) { pending("pad2d"); }
Tensor pad2d_backward(const Tensor&, const Shape&, const Pad2d&, PadMode) { pending("pad2d_backward"); }
Tensor one_hot(const Tensor&, int64_t, DType) { pending("one_hot"); }
}  // namespace loom::cpu
