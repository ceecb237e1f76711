// gemm_common.cuh: what every GEMM version (kernels/cuda/gemm_v*.cu) shares:
// the kernel-side arguments (Params), operand element access through the
// trans flags with bounds guards, the alpha/beta epilogue (beta == 0 never
// reads C), the batch loop over blockIdx.z, a vectorised tile loader (float4
// when aligned, scalar otherwise) and the launcher declarations the
// dispatcher (gemm_dispatch.cu) calls.
//
// Row-major throughout (see gemm.h): op(A)(i, k) is a[i*lda + k], or with
// trans_a a[k*lda + i]; op(B)(k, j) is b[k*ldb + j], or with trans_b b[j*ldb + k].
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/gemm.h"

namespace loom::cuda::gemm {

// The arguments as kernels take them (by value), for element type T.
template <class T>
struct Params {
  int64_t m, n, k;
  T alpha, beta;
  const T* a;
  int64_t lda, stride_a;
  const T* b;
  int64_t ldb, stride_b;
  T* c;
  int64_t ldc, stride_c;
  int64_t batch;
  bool trans_a, trans_b;
  bool vec_a, vec_b;  // float4 loads allowed: 16-byte aligned pointer, ld and batch stride multiples of 4
};

Params<float> to_params(const Args& args);
Params<double> to_params(const ArgsF64& args);

// op(A)(i, k) of one batch's A (0 outside M x K).
template <class T>
__device__ __forceinline__ T load_a(const Params<T>& p, const T* a, int64_t i, int64_t kk) {
  if (i >= p.m || kk >= p.k) return T(0);
  return p.trans_a ? a[kk * p.lda + i] : a[i * p.lda + kk];
}

// op(B)(k, j) of one batch's B (0 outside K x N).
template <class T>
__device__ __forceinline__ T load_b(const Params<T>& p, const T* b, int64_t kk, int64_t j) {
  if (kk >= p.k || j >= p.n) return T(0);
  return p.trans_b ? b[j * p.ldb + kk] : b[kk * p.ldb + j];
}

// C(i, j) = alpha * acc + beta * C(i, j); beta == 0 writes without reading C.
template <class T>
__device__ __forceinline__ void store_c(const Params<T>& p, T* c, int64_t i, int64_t j, T acc) {
  if (i >= p.m || j >= p.n) return;
  T* dst = c + i * p.ldc + j;
  *dst = p.beta == T(0) ? p.alpha * acc : p.alpha * acc + p.beta * *dst;
}

// The batch's operand pointers (stride 0 broadcasts A or B to every batch).
template <class T>
struct BatchPtrs {
  const T* a;
  const T* b;
  T* c;
};
template <class T>
__device__ __forceinline__ BatchPtrs<T> batch_ptrs(const Params<T>& p, int64_t bz) {
  return {p.a + bz * p.stride_a, p.b + bz * p.stride_b, p.c + bz * p.stride_c};
}

// Loads one OUTER x INNER tile of a row-major matrix (element (o, i) at
// base[o*ld + i], INNER the contiguous dim) into registers with THREADS
// threads, 4 consecutive inner elements per chunk: one float4 load when `vec`
// and the 4 lie inside the matrix, else 4 guarded scalar loads (zeros outside
// outer_lim x inner_lim). fetch() then store() splits the global load from the
// shared-memory store so a kernel can compute in between (double buffering).
// inner0 must be a multiple of 4 (tile origins are).
template <int OUTER, int INNER, int THREADS>
struct TileLoader {
  static_assert(INNER % 4 == 0, "inner tile extent must be a multiple of 4");
  static_assert((OUTER * INNER / 4) % THREADS == 0, "tile chunks must divide among the threads");
  static constexpr int kChunksPerRow = INNER / 4;
  static constexpr int kChunks = OUTER * INNER / 4 / THREADS;
  float4 regs[kChunks];

  __device__ __forceinline__ void fetch(const float* base, int64_t ld, int64_t outer0, int64_t inner0,
                                        int64_t outer_lim, int64_t inner_lim, bool vec) {
#pragma unroll
    for (int q = 0; q < kChunks; ++q) {
      const int chunk = static_cast<int>(threadIdx.x) + q * THREADS;
      const int64_t o = outer0 + chunk / kChunksPerRow, in = inner0 + (chunk % kChunksPerRow) * 4;
      float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
      if (o < outer_lim) {
        const float* src = base + o * ld + in;
        if (vec && in + 3 < inner_lim) {
          v = __ldg(reinterpret_cast<const float4*>(src));
        } else {
          if (in + 0 < inner_lim) v.x = src[0];
          if (in + 1 < inner_lim) v.y = src[1];
          if (in + 2 < inner_lim) v.z = src[2];
          if (in + 3 < inner_lim) v.w = src[3];
        }
      }
      regs[q] = v;
    }
  }

  // put(o, i, value) for every element fetched, o and i relative to the tile origin.
  template <class Put>
  __device__ __forceinline__ void store(Put put) const {
#pragma unroll
    for (int q = 0; q < kChunks; ++q) {
      const int chunk = static_cast<int>(threadIdx.x) + q * THREADS;
      const int o = chunk / kChunksPerRow, in = (chunk % kChunksPerRow) * 4;
      put(o, in + 0, regs[q].x);
      put(o, in + 1, regs[q].y);
      put(o, in + 2, regs[q].z);
      put(o, in + 3, regs[q].w);
    }
  }
};

// The loader of op(A)'s BM x BK tile at (i0, k0): A stored (M, K) reads rows
// i, contiguous k; trans_a stored (K, M) reads rows k, contiguous i. put(i, k, v).
template <int BM, int BK, int THREADS, bool TRANS_A>
struct ATileLoader {
  TileLoader<TRANS_A ? BK : BM, TRANS_A ? BM : BK, THREADS> tile;
  __device__ __forceinline__ void fetch(const Params<float>& p, const float* a, int64_t i0, int64_t k0) {
    if (TRANS_A) tile.fetch(a, p.lda, k0, i0, p.k, p.m, p.vec_a);
    else tile.fetch(a, p.lda, i0, k0, p.m, p.k, p.vec_a);
  }
  template <class Put>
  __device__ __forceinline__ void store(Put put) const {
    if (TRANS_A) tile.store([&](int kk, int i, float v) { put(i, kk, v); });
    else tile.store(put);
  }
};

// The loader of op(B)'s BK x BN tile at (k0, j0): B stored (K, N) reads rows
// k, contiguous j; trans_b stored (N, K) reads rows j, contiguous k. put(k, j, v).
template <int BK, int BN, int THREADS, bool TRANS_B>
struct BTileLoader {
  TileLoader<TRANS_B ? BN : BK, TRANS_B ? BK : BN, THREADS> tile;
  __device__ __forceinline__ void fetch(const Params<float>& p, const float* b, int64_t k0, int64_t j0) {
    if (TRANS_B) tile.fetch(b, p.ldb, j0, k0, p.n, p.k, p.vec_b);
    else tile.fetch(b, p.ldb, k0, j0, p.k, p.n, p.vec_b);
  }
  template <class Put>
  __device__ __forceinline__ void store(Put put) const {
    if (TRANS_B) tile.store([&](int j, int kk, float v) { put(kk, j, v); });
    else tile.store(put);
  }
};

// Grid of (N tiles, M tiles, batch) blocks for BM x BN output tiles; throws
// when M needs more than 65535 block rows. Batches beyond 65535 are walked by
// the kernels' batch loop (bz += gridDim.z).
dim3 tile_grid(const Args& args, int bm, int bn, const char* version);
dim3 tile_grid(int64_t m, int64_t n, int64_t batch, int bm, int bn, const char* version);

// Calls f.template operator()<TRANS_A, TRANS_B>() for the runtime flags, so
// kernels that template on the layout get one instance per NN/NT/TN/TT.
template <class F>
void with_layout(bool trans_a, bool trans_b, F&& f) {
  if (trans_a) {
    if (trans_b) f.template operator()<true, true>();
    else f.template operator()<true, false>();
  } else {
    if (trans_b) f.template operator()<false, true>();
    else f.template operator()<false, false>();
  }
}

// The versions, one launcher each (args already validated: sizes > 0).
void launch_v1_naive(const Args& args, cudaStream_t stream);
void launch_v2_coalesce(const Args& args, cudaStream_t stream);
void launch_v3_smem(const Args& args, cudaStream_t stream);
void launch_v3_smem_f64(const ArgsF64& args, cudaStream_t stream);
void launch_v4a_blocktile1d(const Args& args, cudaStream_t stream);
void launch_v4b_blocktile2d(const Args& args, cudaStream_t stream);
void launch_v5_vectorize(const Args& args, cudaStream_t stream);
void launch_v6_warptile(const Args& args, cudaStream_t stream);
void launch_v7_mma(const Args& args, Precision precision, cudaStream_t stream);

}  // namespace loom::cuda::gemm
