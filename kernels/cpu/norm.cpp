// norm.cpp: PLACEHOLDER, being written now: each op throws "not implemented yet".
#include "kernels/cpu/cpu.h"

namespace loom::cpu {
[[noreturn]] static void pending(const char* op) { detail::throw_error(op, ": not implemented yet"); }
BatchNormResult batch_norm_train(const Tensor&, const Tensor&, const Tensor&, double) { pending("batch_norm_train"); }
Tensor batch_norm_eval(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, double) { pending("batch_norm_eval"); }
BatchNormGrads batch_norm_backward_train(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&) { pending("batch_norm_backward_train"); }
}  // namespace loom::cpu
