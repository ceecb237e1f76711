// cuda.h: the CUDA implementations of every raw op (same signatures as
// kernels/ops.h, generated from kernels/op_list.h), declared for plain C++ so
// that kernels/dispatch.cpp can call them. Each op family has its own .cu
// file in this folder; the file's header comment lists its kernel versions.
// Only CUDA builds (LOOM_WITH_CUDA) compile and link these.
#pragma once
#include <vector>

#include "kernels/options.h"
#include "kernels/results.h"
#include "tensor/tensor.h"

namespace loom::cuda {
#define LOOM_OP(ret, name, params, args) ret name params;
#include "kernels/op_list.h"
#undef LOOM_OP
}  // namespace loom::cuda
