// resample.cpp: PLACEHOLDER, being written now: each op throws "not implemented yet".
#include "kernels/cpu/cpu.h"

namespace loom::cpu {
[[noreturn]] static void pending(const char* op) { detail::throw_error(op, ": not implemented yet"); }
Tensor upsample_nearest2d(const Tensor&, int64_t, int64_t) { pending("upsample_nearest2d"); }
Tensor upsample_nearest2d_backward(const Tensor&, const Shape&) { pending("upsample_nearest2d_backward"); }
Tensor upsample_bilinear2d(const Tensor&, int64_t, int64_t, bool) { pending("upsample_bilinear2d"); }
Tensor upsample_bilinear2d_backward(const Tensor&, const Shape&, bool) { pending("upsample_bilinear2d_backward"); }
}  // namespace loom::cpu
