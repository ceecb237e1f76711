// shape_ops.cpp: PLACEHOLDER, being written now: each op throws "not implemented yet".
#include "kernels/cpu/cpu.h"

namespace loom::cpu {
[[noreturn]] static void pending(const char* op) { detail::throw_error(op, ": not implemented yet"); }
Tensor cat(const std::vector<Tensor>&, int64_t) { pending("cat"); }
Tensor pad2d(const Tensor&, const Pad2d&, PadMode) { pending("pad2d"); }
Tensor pad2d_backward(const Tensor&, const Shape&, const Pad2d&, PadMode) { pending("pad2d_backward"); }
Tensor one_hot(const Tensor&, int64_t, DType) { pending("one_hot"); }
}  // namespace loom::cpu
