// matmul.cpp: PLACEHOLDER, being written now: each op throws "not implemented yet".
#include "kernels/cpu/cpu.h"

namespace loom::cpu {
[[noreturn]] static void pending(const char* op) { detail::throw_error(op, ": not implemented yet"); }
Tensor matmul(const Tensor&, const Tensor&) { pending("matmul"); }
}  // namespace loom::cpu
