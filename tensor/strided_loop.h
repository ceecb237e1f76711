// strided_loop.h: the one N-d loop that every elementwise CPU kernel uses.
//
// strided_for_each<N>(shape, {strides_0, ..., strides_{N-1}}, body) visits every
// element of `shape` for N operands that share the shape but have their own
// strides (a broadcast operand has stride 0). Dims that are contiguous for all
// operands are merged first, so a dense tensor becomes one long run. The body is
// called once per run:
//     body(const std::array<int64_t, N>& offsets,   // element offset of the run's first element, per operand
//          int64_t count,                          // elements in the run
//          const std::array<int64_t, N>& steps)     // stride along the run, per operand
// Runs are split across OpenMP threads; each element is written by one thread,
// in one order, so results never depend on the thread count.
#pragma once
#include <array>
#include <cstdint>

#include "tensor/shape.h"

namespace loom {

namespace detail {
constexpr int64_t kParallelGrain = 32768;  // below this many elements, stay on one thread
constexpr int64_t kRunChunk = 16384;       // a 1-D run is split into chunks of this size
}  // namespace detail

template <size_t N, class Body>
void strided_for_each(const Shape& shape, const std::array<Shape, N>& strides, Body&& body) {
  // 1. Drop size-1 dims and merge dims that are contiguous for every operand.
  Shape sh;
  std::array<Shape, N> st;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (shape[d] == 0) return;
    bool merge = !sh.empty();
    for (size_t k = 0; k < N && merge; ++k) merge = st[k].back() == strides[k][d] * shape[d];
    if (merge) {
      sh.back() *= shape[d];
      for (size_t k = 0; k < N; ++k) st[k].back() = strides[k][d];
    } else {
      sh.push_back(shape[d]);
      for (size_t k = 0; k < N; ++k) st[k].push_back(strides[k][d]);
    }
  }
  std::array<int64_t, N> zero{};
  if (sh.empty()) {  // a single element
    body(zero, int64_t{1}, zero);
    return;
  }
  const int64_t nd = static_cast<int64_t>(sh.size());
  const int64_t inner = sh.back();
  std::array<int64_t, N> steps;
  for (size_t k = 0; k < N; ++k) steps[k] = st[k].back();
  const int64_t total = numel_of(sh);

  if (nd == 1) {  // 2a. one long run: split it into fixed-size chunks
    const int64_t chunks = (inner + detail::kRunChunk - 1) / detail::kRunChunk;
#pragma omp parallel for schedule(static) if (total > detail::kParallelGrain)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t begin = c * detail::kRunChunk;
      const int64_t count = std::min(detail::kRunChunk, inner - begin);
      std::array<int64_t, N> off;
      for (size_t k = 0; k < N; ++k) off[k] = begin * steps[k];
      body(off, count, steps);
    }
    return;
  }
  // 2b. many rows: each row is one run along the innermost dim.
  const int64_t rows = total / inner;
#pragma omp parallel for schedule(static) if (total > detail::kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    std::array<int64_t, N> off{};
    int64_t rem = r;
    for (int64_t d = nd - 2; d >= 0; --d) {
      const int64_t i = rem % sh[d];
      rem /= sh[d];
      for (size_t k = 0; k < N; ++k) off[k] += i * st[k][d];
    }
    body(off, inner, steps);
  }
}

}  // namespace loom
