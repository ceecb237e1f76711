// cuda_runtime_stub.cpp: the CPU-only build's version of tensor/cuda_runtime.h.
// Every call that would need a GPU says clearly that CUDA is not available;
// queries (device_count, built_with_cuda) answer honestly.
#ifndef LOOM_WITH_CUDA  // the whole file: CPU-only builds
#include "tensor/cuda_runtime.h"
#include "tensor/error.h"

namespace loom::cuda_rt {

namespace {
[[noreturn]] void no_cuda() {
  detail::throw_error("no CUDA device: loom was built without CUDA (configure with -DLOOM_CUDA=ON on a machine with nvcc)");
}
}  // namespace

bool built_with_cuda() { return false; }
int device_count() { return 0; }
void require_device(int) { no_cuda(); }
void check_device(int, const char*) { no_cuda(); }
int current_device() { no_cuda(); }
void set_device(int) { no_cuda(); }
std::string device_name(int) { no_cuda(); }
void synchronize(int) { no_cuda(); }

StreamHandle create_stream(int) { no_cuda(); }
void destroy_stream(StreamHandle, int) noexcept {}
StreamHandle current_stream(int) { return nullptr; }
void set_current_stream(int, StreamHandle) { no_cuda(); }
void synchronize_stream(StreamHandle, int) { no_cuda(); }

void* malloc_device(size_t, int) { no_cuda(); }
void free_device(void*, int) noexcept {}
MemoryStats memory_stats(int) { no_cuda(); }
void reset_peak_memory_stats(int) { no_cuda(); }
void empty_cache(int) { no_cuda(); }
void set_poison_allocations(bool) {}
std::string memory_stats_str(int) { no_cuda(); }

void* malloc_host_pinned(size_t) { no_cuda(); }
void free_host_pinned(void*) noexcept {}

void copy_host_to_device(void*, const void*, size_t, int) { no_cuda(); }
void copy_device_to_host(void*, const void*, size_t, int) { no_cuda(); }
void copy_device_to_device(void*, const void*, size_t, int) { no_cuda(); }
void strided_copy_device(void*, const int64_t*, int, const void*, const int64_t*, int, const int64_t*, int, int) {
  no_cuda();
}
void fill_device(void*, const int64_t*, const int64_t*, int, int, double, int) { no_cuda(); }
void philox_fill(void*, int64_t, int, int, double, double, uint64_t, uint64_t, int) { no_cuda(); }

}  // namespace loom::cuda_rt
#endif
