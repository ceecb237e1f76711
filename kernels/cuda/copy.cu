// copy.cu: STUB. Strided copy with dtype conversion and fill on the device
// (tensor/cuda_runtime.h: strided_copy_device, fill_device).
#include "kernels/cuda/cuda_util.cuh"

namespace loom::cuda_rt {

void strided_copy_device(void*, const int64_t*, int, const void*, const int64_t*, int, const int64_t*, int, int) {
  detail::throw_error("strided_copy_device: not implemented on CUDA yet");
}
void fill_device(void*, const int64_t*, const int64_t*, int, int, double, int) {
  detail::throw_error("fill_device: not implemented on CUDA yet");
}

}  // namespace loom::cuda_rt
