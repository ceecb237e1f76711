// storage.cpp: allocation and release of CPU (aligned) and CUDA blocks.
#include "tensor/storage.h"

#include <cstdlib>
#include <new>

#include "tensor/cuda_runtime.h"
#include "tensor/error.h"

namespace loom {

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  if (device.is_cpu()) {
    // aligned_alloc wants a size that is a multiple of the alignment.
    size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
    if (rounded == 0) rounded = kAlignment;
    data_ = std::aligned_alloc(kAlignment, rounded);
    LOOM_CHECK(data_ != nullptr, "Storage: out of CPU memory allocating ", nbytes, " bytes");
  } else {
    data_ = cuda_rt::malloc_device(nbytes, device.index);
  }
}

Storage::~Storage() {
  if (device_.is_cpu())
    std::free(data_);
  else
    cuda_rt::free_device(data_, device_.index);
}

}  // namespace loom
