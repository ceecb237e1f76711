// copy.cpp: strided copy with dtype conversion on the CPU, on a CUDA device
// (kernels/cuda/copy.cu through tensor/cuda_runtime.h) and between the two
// (dense same-dtype bytes moved by the CUDA runtime, staged when needed).
#include "tensor/copy.h"

#include <cstring>

#include "tensor/cuda_runtime.h"
#include "tensor/strided_loop.h"

namespace loom {

namespace {

template <class To, class From>
void copy_typed(const Tensor& dst, const Tensor& src) {
  To* d = static_cast<To*>(dst.raw_data());
  const From* s = static_cast<const From*>(src.raw_data());
  strided_for_each<2>(dst.shape(), {dst.strides(), src.strides()},
                      [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& step) {
                        To* dp = d + off[0];
                        const From* sp = s + off[1];
                        if (step[0] == 1 && step[1] == 1 && std::is_same_v<To, From>) {
                          std::memcpy(dp, sp, n * sizeof(To));
                          return;
                        }
                        for (int64_t i = 0; i < n; ++i) dp[i * step[0]] = static_cast<To>(sp[i * step[1]]);
                      });
}

}  // namespace

void strided_copy(const Tensor& dst, const Tensor& src) {
  LOOM_CHECK(dst.shape() == src.shape(), "copy: destination shape ", shape_str(dst.shape()),
             " differs from source shape ", shape_str(src.shape()));
  if (dst.numel() == 0) return;
  if (dst.device().is_cuda() && src.device().is_cuda()) {
    LOOM_CHECK(dst.device() == src.device(), "copy: between different CUDA devices (", src.device().str(), " -> ",
               dst.device().str(), ") is not supported; go through the CPU");
    if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous()) {
      cuda_rt::copy_device_to_device(dst.raw_data(), src.raw_data(), dst.numel() * dtype_size(dst.dtype()),
                                     dst.device().index);
    } else {  // strided and/or converting: one kernel (kernels/cuda/copy.cu)
      cuda_rt::strided_copy_device(dst.raw_data(), dst.strides().data(), static_cast<int>(dst.dtype()),
                                   src.raw_data(), src.strides().data(), static_cast<int>(src.dtype()),
                                   dst.shape().data(), static_cast<int>(dst.dim()), dst.device().index);
    }
    return;
  }
  if (dst.device().is_cuda() || src.device().is_cuda()) {
    // Between host and device: make the source dense and of dst's dtype on
    // its own side, move the bytes, then scatter into dst's layout if needed.
    if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous()) {
      const size_t nbytes = dst.numel() * dtype_size(dst.dtype());
      if (dst.device().is_cuda())
        cuda_rt::copy_host_to_device(dst.raw_data(), src.raw_data(), nbytes, dst.device().index);
      else
        cuda_rt::copy_device_to_host(dst.raw_data(), src.raw_data(), nbytes, src.device().index);
      return;
    }
    Tensor staged = Tensor::empty(dst.shape(), dst.dtype(), src.device());  // dense, dst's dtype, src's side
    strided_copy(staged, src);
    Tensor moved = Tensor::empty(dst.shape(), dst.dtype(), dst.device());  // dense, on dst's side
    strided_copy(moved, staged);
    strided_copy(dst, moved);
    return;
  }
  LOOM_DISPATCH_ALL(dst.dtype(), "copy", [&] {
    using To = scalar_t;
    LOOM_DISPATCH_ALL(src.dtype(), "copy", [&] { copy_typed<To, scalar_t>(dst, src); });
  });
}

}  // namespace loom
