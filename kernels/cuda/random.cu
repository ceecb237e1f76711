// random.cu: the Philox stream on the GPU. One thread per element computes
// exactly what the CPU loop in tensor/random.cpp computes, through the same
// functions of tensor/philox.h, so a seed and offset give the same numbers on
// both devices. Compiled with --fmad=false (CMakeLists.txt) so nothing is
// contracted differently from the CPU.
//
// Version 1 (this one): one element per thread, grid-stride loop. A student's
// next step would be one Philox block (4 words) per thread.
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/check.cuh"
#include "tensor/cuda_runtime.h"
#include "tensor/dtype.h"
#include "tensor/philox.h"

namespace loom::cuda_rt {

namespace {

template <class T>
__global__ void philox_fill_kernel(T* dst, int64_t n, int dist, double a, double b, uint64_t seed, uint64_t offset,
                                   bool is_double) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double v = 0;
    switch (static_cast<philox::Dist>(dist)) {
      case philox::Dist::Uniform:
        if constexpr (std::is_floating_point_v<T>) {
          dst[i] = philox::uniform_in_range<T>(a, b, philox::uniform_at(seed, offset, i, is_double));
          continue;
        }
        break;
      case philox::Dist::Normal: v = a + b * philox::normal_at(seed, offset, i); break;
      case philox::Dist::Bernoulli: v = philox::uniform_at(seed, offset, i, is_double) < a ? 1.0 : 0.0; break;
      default: break;
    }
    dst[i] = static_cast<T>(v);
  }
}

}  // namespace

void philox_fill(void* dst, int64_t n, int dtype, int dist, double a, double b, uint64_t seed, uint64_t offset,
                 int index) {
  if (n == 0) return;
  require_device(index);
  // The current stream, like every loom kernel: the tensor was allocated (and
  // poisoned) on it, and the next op that reads it runs on it.
  const cudaStream_t stream = static_cast<cudaStream_t>(current_stream(index));
  const int threads = 256;
  const int blocks = static_cast<int>(std::min<int64_t>((n + threads - 1) / threads, 65535));
  switch (static_cast<DType>(dtype)) {
    case DType::Float32:
      philox_fill_kernel<float><<<blocks, threads, 0, stream>>>(static_cast<float*>(dst), n, dist, a, b, seed, offset, false);
      break;
    case DType::Float64:
      philox_fill_kernel<double><<<blocks, threads, 0, stream>>>(static_cast<double*>(dst), n, dist, a, b, seed, offset, true);
      break;
    case DType::UInt8:
      philox_fill_kernel<uint8_t><<<blocks, threads, 0, stream>>>(static_cast<uint8_t*>(dst), n, dist, a, b, seed, offset, false);
      break;
    default:
      detail::throw_error("philox_fill: unsupported dtype ", dtype_name(static_cast<DType>(dtype)));
  }
  LOOM_CUDA_CHECK_LAUNCH("philox_fill_kernel");
}

}  // namespace loom::cuda_rt
