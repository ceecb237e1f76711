// cpu.h: the CPU implementations of every raw op (same signatures as ops.h,
// generated from kernels/op_list.h). Each op family has its own file here.
#pragma once
#include <vector>

#include "kernels/options.h"
#include "kernels/results.h"
#include "tensor/tensor.h"

namespace loom::cpu {
#define LOOM_OP(ret, name, params, args) ret name params;
#include "kernels/op_list.h"
#undef LOOM_OP
}  // namespace loom::cpu
