// reduce_shape.h: the shape logic every reduction shares, on the CPU
// (kernels/cpu/reduce.cpp) and on CUDA (kernels/cuda/reduce.cu, softmax.cu):
// which dims are reduced (dims empty = all dims, negative dims counted from the
// end, a repeated dim is an error), the output shape (with or without the
// reduced dims: keepdim), and the permutation that puts the kept dims first and
// the reduced dims last, so the input reads as a (rows, R) matrix.
#pragma once
#include <vector>

#include "tensor/error.h"
#include "tensor/shape.h"

namespace loom {

struct ReduceShape {
  std::vector<bool> reduced;  // per input dim: is it reduced?
  std::vector<int64_t> perm;  // kept dims then reduced dims, each in input order
  Shape out_shape;            // the kept dims, and 1 for each reduced dim when keepdim
  int64_t rows = 1;           // product of the kept sizes: outputs
  int64_t R = 1;              // product of the reduced sizes: elements per output
};

// Throws naming `op` for an out-of-range or repeated dim.
inline ReduceShape reduce_shape(const Shape& shape, const std::vector<int64_t>& dims, bool keepdim, const char* op) {
  ReduceShape s;
  const int64_t nd = static_cast<int64_t>(shape.size());
  s.reduced.assign(nd, dims.empty());
  for (int64_t d : dims) {
    const int64_t k = normalize_dim(d, nd, op);
    LOOM_CHECK(!s.reduced[k], op, ": dim ", d, " appears twice");
    s.reduced[k] = true;
  }
  for (int64_t d = 0; d < nd; ++d)
    if (!s.reduced[d]) s.perm.push_back(d);
  for (int64_t d = 0; d < nd; ++d)
    if (s.reduced[d]) s.perm.push_back(d);
  for (int64_t d = 0; d < nd; ++d) {
    if (!s.reduced[d]) {
      s.out_shape.push_back(shape[d]);
      s.rows *= shape[d];
    } else {
      if (keepdim) s.out_shape.push_back(1);
      s.R *= shape[d];
    }
  }
  return s;
}

}  // namespace loom
