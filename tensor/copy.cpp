// copy.cpp: strided copy with dtype conversion on the CPU; contiguous
// same-dtype copies between or on CUDA devices go through the CUDA runtime.
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
  if (dst.device().is_cuda() || src.device().is_cuda()) {
    LOOM_CHECK(dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous(), "copy: on CUDA only ",
               "contiguous copies of one dtype are supported so far (got ", dtype_name(src.dtype()), " -> ",
               dtype_name(dst.dtype()), ")");
    const size_t nbytes = dst.numel() * dtype_size(dst.dtype());
    if (dst.device().is_cuda() && src.device().is_cuda()) {
      LOOM_CHECK(dst.device() == src.device(), "copy: between different CUDA devices is not supported");
      cuda_rt::copy_device_to_device(dst.raw_data(), src.raw_data(), nbytes, dst.device().index);
    } else if (dst.device().is_cuda()) {
      cuda_rt::copy_host_to_device(dst.raw_data(), src.raw_data(), nbytes, dst.device().index);
    } else {
      cuda_rt::copy_device_to_host(dst.raw_data(), src.raw_data(), nbytes, src.device().index);
    }
    return;
  }
  LOOM_DISPATCH_ALL(dst.dtype(), "copy", [&] {
    using To = scalar_t;
    LOOM_DISPATCH_ALL(src.dtype(), "copy", [&] { copy_typed<To, scalar_t>(dst, src); });
  });
}

}  // namespace loom
