// gemm_v2_coalesce.cu: GEMM version 2, global-memory coalescing. Same work as
// version 1 (one thread per C(i, j), k loop in global memory), but threadIdx.x
// now walks the COLUMNS j: the 32 threads of a warp read one A element (a
// broadcast) and 32 consecutive B elements (one 128-byte transaction for
// row-major B), and write 32 consecutive C elements. Several times faster
// than version 1 on large matrices for that mapping change alone.
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/gemm_common.cuh"

namespace loom::cuda::gemm {

namespace {

constexpr int kTile = 32;

__global__ void gemm_v2_coalesce(Params<float> p) {
  const int64_t i = static_cast<int64_t>(blockIdx.y) * kTile + threadIdx.y;
  const int64_t j = static_cast<int64_t>(blockIdx.x) * kTile + threadIdx.x;  // column: the fast thread index
  for (int64_t bz = blockIdx.z; bz < p.batch; bz += gridDim.z) {
    const BatchPtrs<float> ptr = batch_ptrs(p, bz);
    if (i >= p.m || j >= p.n) continue;
    float acc = 0.f;
    for (int64_t kk = 0; kk < p.k; ++kk) acc = fmaf(load_a(p, ptr.a, i, kk), load_b(p, ptr.b, kk, j), acc);
    store_c(p, ptr.c, i, j, acc);
  }
}

}  // namespace

void launch_v2_coalesce(const Args& args, cudaStream_t stream) {
  gemm_v2_coalesce<<<tile_grid(args, kTile, kTile, "2_coalesce"), dim3(kTile, kTile), 0, stream>>>(to_params(args));
  LOOM_CUDA_CHECK_LAUNCH("gemm_v2_coalesce");
}

}  // namespace loom::cuda::gemm
