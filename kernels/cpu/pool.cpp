// pool.cpp: PLACEHOLDER, being written now: each op throws "not implemented yet".
#include "kernels/cpu/cpu.h"

namespace loom::cpu {
[[noreturn]] static void pending(const char* op) { detail::throw_error(op, ": not implemented yet"); }
MaxPoolResult max_pool2d(const Tensor&, const Pool2dOptions&) { pending("max_pool2d"); }
Tensor max_pool2d_backward(const Tensor&, const Tensor&, const Shape&) { pending("max_pool2d_backward"); }
Tensor avg_pool2d(const Tensor&, const Pool2dOptions&) { pending("avg_pool2d"); }
Tensor avg_pool2d_backward(const Tensor&, const Shape&, const Pool2dOptions&) { pending("avg_pool2d_backward"); }
}  // namespace loom::cpu
