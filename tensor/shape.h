// shape.h: shapes and strides (both in elements), and the small helpers that
// every layer uses on them: element counts, contiguous strides, broadcasting,
// dim normalisation and printing.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace loom {

using Shape = std::vector<int64_t>;

int64_t numel_of(const Shape& shape);
// Row-major strides of a dense tensor with this shape.
Shape contiguous_strides(const Shape& shape);
// "[2, 3, 8, 8]"
std::string shape_str(const Shape& shape);
// NumPy broadcasting of two shapes; throws naming `op` when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Maps a possibly negative dim in [-ndim, ndim) into [0, ndim); throws naming
// `op` when out of range (a 0-dimensional tensor has no valid dim).
int64_t normalize_dim(int64_t dim, int64_t ndim, const char* op);

}  // namespace loom
