// copy.cu: strided copy with dtype conversion and fill on the device
// (tensor/cuda_runtime.h: strided_copy_device, fill_device), which
// tensor/copy.cpp and Tensor::fill_ call for CUDA tensors (.contiguous(),
// .to(dtype), clone(), copy_(), zeros, full). Both are maps of the generic
// kernels of elementwise.cuh:
//   v1 map_v1_strided    any source and destination strides (up to 8 dims):
//                        transposes, slices, a fill of a strided view;
//   v2 map_v2_vectorized both sides dense and 16-byte aligned: a converting
//                        copy or a fill with 16-byte accesses of the widest side.
// The default is v2 wherever it applies, v1 otherwise. A dense same-dtype copy
// never gets here: tensor/copy.cpp sends it to cudaMemcpyAsync.
// Conversion is static_cast<To>(from), as the CPU's tensor/copy.cpp does.
#include <cstdint>

#include "kernels/cuda/elementwise.cuh"

namespace loom::cuda_rt {

namespace {

using cuda::elementwise::launch_map;
using cuda::elementwise::OperandView;

template <class To>
struct ConvertOp {
  template <class From> __device__ To operator()(From v) const { return static_cast<To>(v); }
};

template <class T>
struct FillOp {
  T value;
  __device__ T operator()() const { return value; }
};

}  // namespace

void strided_copy_device(void* dst, const int64_t* dst_strides, int dst_dtype, const void* src,
                         const int64_t* src_strides, int src_dtype, const int64_t* shape, int ndim, int index) {
  LOOM_CHECK(ndim <= cuda::kMaxDims, "copy: CUDA copies take at most ", cuda::kMaxDims, " dims, got ", ndim);
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) n *= shape[d];
  if (n == 0) return;
  LOOM_CUDA_CHECK(cudaSetDevice(index));
  const OperandView in[1] = {{src, src_strides}};
  LOOM_DISPATCH_ALL(static_cast<DType>(dst_dtype), "copy", [&] {
    using To = scalar_t;
    LOOM_DISPATCH_ALL(static_cast<DType>(src_dtype), "copy", [&] {
      launch_map<1, To, scalar_t, scalar_t, scalar_t>("strided_copy_device", cuda::current_stream(index), dst,
                                                      dst_strides, in, shape, ndim, ConvertOp<To>{});
    });
  });
}

void fill_device(void* dst, const int64_t* strides, const int64_t* shape, int ndim, int dtype, double value,
                 int index) {
  LOOM_CHECK(ndim <= cuda::kMaxDims, "fill_: CUDA fills take at most ", cuda::kMaxDims, " dims, got ", ndim);
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) n *= shape[d];
  if (n == 0) return;
  LOOM_CUDA_CHECK(cudaSetDevice(index));
  const OperandView none[1] = {};
  LOOM_DISPATCH_ALL(static_cast<DType>(dtype), "fill_", [&] {
    const FillOp<scalar_t> fill{static_cast<scalar_t>(value)};
    launch_map<0, scalar_t, scalar_t, scalar_t, scalar_t>("fill_device", cuda::current_stream(index), dst, strides,
                                                          none, shape, ndim, fill);
  });
}

}  // namespace loom::cuda_rt
