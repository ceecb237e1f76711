// check.cuh: error checking for every CUDA call and kernel launch. A failure
// throws loom::Error naming the call or kernel, the file and line, and CUDA's
// error string: the library never aborts.
#pragma once
#include <cuda_runtime.h>

#include "tensor/error.h"

#define LOOM_CUDA_CHECK(call)                                                                          \
  do {                                                                                                 \
    cudaError_t loom_err_ = (call);                                                                    \
    if (loom_err_ != cudaSuccess)                                                                      \
      ::loom::detail::throw_error("CUDA error in ", #call, " at ", __FILE__, ":", __LINE__, ": ",      \
                                  cudaGetErrorString(loom_err_));                                      \
  } while (0)

// After a <<<...>>> launch: reports launch-configuration errors at once.
#define LOOM_CUDA_CHECK_LAUNCH(kernel_name)                                                            \
  do {                                                                                                 \
    cudaError_t loom_err_ = cudaGetLastError();                                                        \
    if (loom_err_ != cudaSuccess)                                                                      \
      ::loom::detail::throw_error("CUDA kernel ", kernel_name, " failed to launch at ", __FILE__, ":", \
                                  __LINE__, ": ", cudaGetErrorString(loom_err_));                      \
  } while (0)
