// cuda_util.cu: the host-side helpers declared in cuda_util.cuh.
#include "kernels/cuda/cuda_util.cuh"

#include "tensor/copy.h"

namespace loom::cuda {

int blocks_for(int64_t n, int threads) {
  static thread_local int cached_device = -1, cached_sms = 0;
  int dev = 0;
  LOOM_CUDA_CHECK(cudaGetDevice(&dev));
  if (dev != cached_device) {
    LOOM_CUDA_CHECK(cudaDeviceGetAttribute(&cached_sms, cudaDevAttrMultiProcessorCount, dev));
    cached_device = dev;
  }
  const int64_t needed = (n + threads - 1) / threads;
  const int64_t waves = static_cast<int64_t>(cached_sms) * 8;  // 8 blocks of 256 per SM keeps it busy
  return static_cast<int>(std::max<int64_t>(1, std::min(needed, waves)));
}

StridedIndexer make_indexer(const Tensor& t, const char* op) {
  LOOM_CHECK(t.dim() <= kMaxDims, op, ": CUDA kernels take at most ", kMaxDims, " dims, got shape ",
             shape_str(t.shape()));
  StridedIndexer ix;
  ix.ndim = static_cast<int>(t.dim());
  for (int d = 0; d < ix.ndim; ++d) {
    ix.sizes[d] = t.shape()[d];
    ix.strides[d] = t.strides()[d];
  }
  return ix;
}

StridedIndexer make_broadcast_indexer(const Tensor& t, const Shape& out_shape, const char* op) {
  LOOM_CHECK(static_cast<int64_t>(out_shape.size()) <= kMaxDims, op, ": CUDA kernels take at most ", kMaxDims,
             " dims, got shape ", shape_str(out_shape));
  LOOM_CHECK(t.dim() <= static_cast<int64_t>(out_shape.size()), op, ": cannot broadcast ", shape_str(t.shape()),
             " to ", shape_str(out_shape));
  StridedIndexer ix;
  ix.ndim = static_cast<int>(out_shape.size());
  const int lead = ix.ndim - static_cast<int>(t.dim());
  for (int d = 0; d < ix.ndim; ++d) {
    ix.sizes[d] = out_shape[d];
    ix.strides[d] = 0;
    if (d >= lead) {
      const int64_t size = t.shape()[d - lead];
      LOOM_CHECK(size == out_shape[d] || size == 1, op, ": cannot broadcast ", shape_str(t.shape()), " to ",
                 shape_str(out_shape));
      ix.strides[d] = size == 1 ? 0 : t.strides()[d - lead];
    }
  }
  return ix;
}

Tensor dense(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  strided_copy(out, x);  // tensor/copy.cpp: the device strided copy (kernels/cuda/copy.cu)
  return out;
}

void check_float_cuda(const Tensor& x, const char* op, const char* what) {
  LOOM_CHECK(x.defined(), op, ": ", what, " is undefined");
  LOOM_CHECK(x.device().is_cuda(), op, ": ", what, " is on ", x.device().str(), ", expected a CUDA tensor");
  LOOM_CHECK(is_floating(x.dtype()), op, ": ", what, " must be float32 or float64, got ", dtype_name(x.dtype()),
             " (shape ", shape_str(x.shape()), ")");
}

void set_device_of(const Tensor& t) { LOOM_CUDA_CHECK(cudaSetDevice(t.device().index)); }

}  // namespace loom::cuda
