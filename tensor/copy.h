// copy.h: the strided copy with dtype conversion that contiguous(), to(dtype),
// clone() and copy_() are built on.
#pragma once
#include "tensor/tensor.h"

namespace loom {

// dst[i] = convert(src[i]) for every index of dst's shape. src must already
// have dst's shape (expand it first to broadcast). Both on the same device.
void strided_copy(const Tensor& dst, const Tensor& src);

}  // namespace loom
