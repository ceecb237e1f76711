// cuda_util.cuh: what every loom .cu file shares: the current stream, launch
// sizes, the index math of strided and broadcast views (StridedIndexer), the
// float dtype dispatch, and new output tensors on the input's device.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cuda/check.cuh"
#include "tensor/cuda_runtime.h"
#include "tensor/tensor.h"

namespace loom::cuda {

constexpr int kMaxDims = 8;
constexpr int kThreads = 256;  // the default block size of elementwise kernels

// The stream loom kernels on `t`'s device launch on (the device's current stream).
inline cudaStream_t stream_of(const Tensor& t) {
  return static_cast<cudaStream_t>(cuda_rt::current_stream(t.device().index));
}
inline cudaStream_t current_stream(int device_index) {
  return static_cast<cudaStream_t>(cuda_rt::current_stream(device_index));
}

// Blocks for a grid-stride loop over n items: enough to fill the GPU
// (a few waves of blocks per SM), never more than the items need.
int blocks_for(int64_t n, int threads = kThreads);

// A view's sizes and strides (in elements), passed to kernels by value:
// offset(i) maps a row-major linear index i over `sizes` to the element offset
// of the view, so one kernel handles any strided or broadcast input.
struct StridedIndexer {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};

  __host__ __device__ int64_t offset(int64_t linear) const {
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t i = linear % sizes[d];
      linear /= sizes[d];
      off += i * strides[d];
    }
    return off;
  }
};

// The indexer of t itself (throws beyond kMaxDims dims, naming `op`).
StridedIndexer make_indexer(const Tensor& t, const char* op);
// The indexer that reads t broadcast to out_shape (stride 0 on expanded dims).
StridedIndexer make_broadcast_indexer(const Tensor& t, const Shape& out_shape, const char* op);

// A new dense tensor on `like`'s device.
inline Tensor empty_on(const Shape& shape, DType dtype, const Tensor& like) {
  return Tensor::empty(shape, dtype, like.device());
}

// x itself when dense, else a dense copy on the same device (no autograd).
Tensor dense(const Tensor& x);

// Throws naming `op` unless x is a defined float32/float64 CUDA tensor.
void check_float_cuda(const Tensor& x, const char* op, const char* what = "input");

// Makes `t`'s device current before a launch (cudaSetDevice), checked.
void set_device_of(const Tensor& t);

}  // namespace loom::cuda
