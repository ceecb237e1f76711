// ops.h: every raw op of loom, declared once (the list is kernels/op_list.h).
// A raw op computes values only: it records nothing for autograd. Models call
// the differentiable functions in autograd/functions.h, which call these.
//
// Each ops::X checks that its tensors share one device and dispatches to
// cpu::X (kernels/cpu/) or, in CUDA builds, cuda::X (kernels/cuda/).
#pragma once
#include <vector>

#include "kernels/options.h"
#include "kernels/results.h"
#include "tensor/tensor.h"

namespace loom::ops {
#define LOOM_OP(ret, name, params, args) ret name params;
#include "kernels/op_list.h"
#undef LOOM_OP
}  // namespace loom::ops
