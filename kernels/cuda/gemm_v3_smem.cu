// gemm_v3_smem.cu: GEMM version 3, shared-memory tiling (and the float64 GEMM).
// A block of 32 x 32 threads computes a 32 x 32 tile of C. For each 32-wide
// slice of K it first copies op(A)'s 32 x 32 tile and op(B)'s 32 x 32 tile to
// shared memory (coalesced, one element per thread each), synchronises, and
// then every thread runs 32 multiply-adds out of shared memory. Each global
// element is now read by the block once instead of 32 times, so the kernel
// stops being bound by global-memory bandwidth (shared memory then is the
// limit, which versions 4+ attack with register tiling).
// Templated on the element type: gemm::run(ArgsF64) uses it for float64.
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/gemm_common.cuh"

namespace loom::cuda::gemm {

namespace {

constexpr int kTile = 32;

template <class T>
__global__ void gemm_v3_smem(Params<T> p) {
  __shared__ T as[kTile][kTile + 1];  // op(A) tile (i, k); +1: a trans_a store is a column
  __shared__ T bs[kTile][kTile + 1];  // op(B) tile (k, j); +1: a trans_b store is a column, no bank conflicts
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t i0 = static_cast<int64_t>(blockIdx.y) * kTile, j0 = static_cast<int64_t>(blockIdx.x) * kTile;
  for (int64_t bz = blockIdx.z; bz < p.batch; bz += gridDim.z) {
    const BatchPtrs<T> ptr = batch_ptrs(p, bz);
    T acc = T(0);
    for (int64_t k0 = 0; k0 < p.k; k0 += kTile) {
      // Thread (ty, tx) loads A(i0+ty, k0+tx) and B(k0+ty, j0+tx); with the trans
      // flags the coalesced direction flips, so load the transposed element then.
      if (p.trans_a) as[tx][ty] = load_a(p, ptr.a, i0 + tx, k0 + ty);
      else as[ty][tx] = load_a(p, ptr.a, i0 + ty, k0 + tx);
      if (p.trans_b) bs[tx][ty] = load_b(p, ptr.b, k0 + tx, j0 + ty);
      else bs[ty][tx] = load_b(p, ptr.b, k0 + ty, j0 + tx);
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < kTile; ++kk) acc = fma(as[ty][kk], bs[kk][tx], acc);
      __syncthreads();
    }
    store_c(p, ptr.c, i0 + ty, j0 + tx, acc);
  }
}

}  // namespace

void launch_v3_smem(const Args& args, cudaStream_t stream) {
  gemm_v3_smem<float><<<tile_grid(args, kTile, kTile, "3_smem"), dim3(kTile, kTile), 0, stream>>>(to_params(args));
  LOOM_CUDA_CHECK_LAUNCH("gemm_v3_smem");
}

void launch_v3_smem_f64(const ArgsF64& args, cudaStream_t stream) {
  const dim3 grid = tile_grid(args.m, args.n, args.batch, kTile, kTile, "float64");
  gemm_v3_smem<double><<<grid, dim3(kTile, kTile), 0, stream>>>(to_params(args));
  LOOM_CUDA_CHECK_LAUNCH("gemm_v3_smem_f64");
}

}  // namespace loom::cuda::gemm
