// gemm_blocktile.cuh: the scalar tile copy of versions 4a and 4b: op(A)'s
// BM x BK and op(B)'s BK x BN tiles from global to shared memory, THREADS
// threads, one guarded element per step, the coalesced direction chosen by the
// trans flags (consecutive threads read consecutive addresses in every layout).
#pragma once
#include "kernels/cuda/gemm_common.cuh"

namespace loom::cuda::gemm {

// as[i][k] = op(A)(i0 + i, k0 + k), bs[k][j] = op(B)(k0 + k, j0 + j), zeros outside.
template <int BM, int BN, int BK, int THREADS, int PAD_A, int PAD_B>
__device__ __forceinline__ void copy_tiles_scalar(const Params<float>& p, const BatchPtrs<float>& ptr, int64_t i0,
                                                  int64_t j0, int64_t k0, float (*as)[BK + PAD_A],
                                                  float (*bs)[BN + PAD_B]) {
  static_assert((BM * BK) % THREADS == 0 && (BK * BN) % THREADS == 0, "tiles must divide among the threads");
  const int t = threadIdx.x;
#pragma unroll
  for (int e = 0; e < BM * BK / THREADS; ++e) {
    const int idx = t + e * THREADS;
    // A stored (M, K): consecutive threads take consecutive k; stored (K, M): consecutive i.
    const int i = p.trans_a ? idx % BM : idx / BK, kk = p.trans_a ? idx / BM : idx % BK;
    as[i][kk] = load_a(p, ptr.a, i0 + i, k0 + kk);
  }
#pragma unroll
  for (int e = 0; e < BK * BN / THREADS; ++e) {
    const int idx = t + e * THREADS;
    // B stored (K, N): consecutive threads take consecutive j; stored (N, K): consecutive k.
    const int kk = p.trans_b ? idx % BK : idx / BN, j = p.trans_b ? idx / BK : idx % BN;
    bs[kk][j] = load_b(p, ptr.b, k0 + kk, j0 + j);
  }
}

}  // namespace loom::cuda::gemm
