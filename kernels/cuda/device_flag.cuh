// device_flag.cuh: a one-word error flag that kernels set and the host reads
// back after the launch, for ops whose CPU version refuses bad data values
// (out-of-range one_hot labels, max-pool indices outside the plane). The flag
// holds the smallest flat position that was bad, so the host can name the
// same element as the CPU's message. Reading it synchronises the stream.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/check.cuh"

namespace loom::cuda {

// The "nothing was bad" value of a flag.
constexpr unsigned long long kFlagClear = ~0ull;

// A device word set to kFlagClear on `stream` (released by the returned tensor).
struct DeviceFlag {
  Tensor storage;  // (1) int64
  unsigned long long* word = nullptr;

  DeviceFlag(const Tensor& like, cudaStream_t stream) {
    storage = Tensor::empty({1}, DType::Int64, like.device());
    word = static_cast<unsigned long long*>(storage.raw_data());
    LOOM_CUDA_CHECK(cudaMemsetAsync(word, 0xFF, sizeof(unsigned long long), stream));
  }

  // The smallest bad position, or -1 when every element was fine (waits for the stream).
  int64_t read(cudaStream_t stream) const {
    unsigned long long host = kFlagClear;
    LOOM_CUDA_CHECK(cudaMemcpyAsync(&host, word, sizeof host, cudaMemcpyDeviceToHost, stream));
    LOOM_CUDA_CHECK(cudaStreamSynchronize(stream));
    return host == kFlagClear ? -1 : static_cast<int64_t>(host);
  }
};

// Device side: records `position` as bad (the smallest one wins: deterministic).
__device__ inline void flag_bad(unsigned long long* word, int64_t position) {
  atomicMin(word, static_cast<unsigned long long>(position));
}

}  // namespace loom::cuda
