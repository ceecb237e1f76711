// grid_stride.cuh: LOOM_GRID_STRIDE_LOOP(i, n), the grid-stride loop of the
// one-thread-per-element kernels (int64 index, any grid size from blocks_for).
#pragma once
#include <cstdint>

#define LOOM_GRID_STRIDE_LOOP(i, n)                                                     \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
