// reduce.cuh: the device building blocks shared by reduce.cu and softmax.cu:
// warp shuffles (also of the (value, index) pair argmax carries), a group
// all-reduce in a FIXED order (shuffle tree inside a warp, then the warps'
// partials combined in warp order), the combine rules (sum, NaN-propagating
// max/min, first-maximum argmax), the index math of a reduction over any
// strided view (coalesced kept/reduced indexers), and how a launcher is told
// which kernel version to run (LOOM_REDUCE_VERSION, LOOM_SOFTMAX_VERSION).
#pragma once
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cuda/cuda_util.cuh"

namespace loom::cuda::reduce_detail {

constexpr int kBlockThreads = 256;  // every reduction/softmax block has 256 threads
constexpr int kWarpSize = 32;
constexpr int kWarpsPerBlock = kBlockThreads / kWarpSize;

// ---- the version a launcher runs ---------------------------------------------
// Auto picks per shape (see each .cu's header); the others force one version
// for every shape (tests and benchmarks compare them).
enum class Version { Auto, V1Naive, V2Tree, V3Split };

// Reads `env_var` (unset or "" or "auto": Auto; "v1_naive"/"naive"/"1";
// "v2_tree"/"tree"/"2" (softmax: also "v2_block"/"block"); "v3_split"/"split"/"3";
// softmax has no v3). Anything else throws, naming the variable and the choices.
Version version_from_env(const char* env_var, bool has_v3);

// ---- warp shuffles --------------------------------------------------------------
// argmax carries the best value and its index; ties go to the smaller index.
struct ArgBest {
  double value;
  int64_t index;
};

template <class T>
__device__ __forceinline__ T shfl_down(T v, int offset) {
  return __shfl_down_sync(0xffffffffu, v, offset);
}
__device__ __forceinline__ ArgBest shfl_down(ArgBest v, int offset) {
  return {__shfl_down_sync(0xffffffffu, v.value, offset), __shfl_down_sync(0xffffffffu, v.index, offset)};
}
template <class T>
__device__ __forceinline__ T shfl_lane0(T v) {
  return __shfl_sync(0xffffffffu, v, 0);
}
__device__ __forceinline__ ArgBest shfl_lane0(ArgBest v) {
  return {__shfl_sync(0xffffffffu, v.value, 0), __shfl_sync(0xffffffffu, v.index, 0)};
}

// ---- combine rules (associative, so any fixed tree gives the CPU's answer up
// to the rounding of sums) -------------------------------------------------------
struct SumOp {
  using acc_t = double;  // float32 too: see reduce.cu's header for why
  static __device__ __forceinline__ acc_t identity() { return 0.0; }
  static __device__ __forceinline__ acc_t combine(acc_t a, acc_t b) { return a + b; }
};

// max/min where NaN wins (propagates), as the CPU's amax/amin.
template <class T, bool IsMax>
struct ExtremeOp {
  using acc_t = T;
  static __device__ __forceinline__ acc_t identity() {
    return IsMax ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  }
  static __device__ __forceinline__ acc_t combine(acc_t a, acc_t b) {
    if (isnan(a)) return a;
    if (isnan(b)) return b;
    return (IsMax ? b > a : b < a) ? b : a;
  }
};

// The first maximum, where the first NaN counts as the maximum (the CPU's argmax):
// a NaN beats any number, a larger value beats a smaller, equals go to the smaller index.
struct ArgMaxOp {
  using acc_t = ArgBest;
  static __device__ __forceinline__ acc_t identity() {
    return {-std::numeric_limits<double>::infinity(), std::numeric_limits<int64_t>::max()};
  }
  static __device__ __forceinline__ acc_t combine(acc_t a, acc_t b) {
    const bool a_nan = isnan(a.value), b_nan = isnan(b.value);
    if (a_nan != b_nan) return a_nan ? a : b;
    if (!a_nan && a.value != b.value) return a.value > b.value ? a : b;
    return a.index <= b.index ? a : b;
  }
};

// The softmax max: NaN is skipped (std::max(m, NaN) keeps m on the CPU; the NaN
// then reaches every output through the sum of exponentials).
template <class T>
struct SoftmaxMaxOp {
  using acc_t = T;
  static __device__ __forceinline__ acc_t identity() { return -std::numeric_limits<T>::infinity(); }
  static __device__ __forceinline__ acc_t combine(acc_t a, acc_t b) { return a < b ? b : a; }
};

// ---- fixed-order reductions inside a block -------------------------------------
// Shuffle tree inside one warp: lane 0 ends with lanes 0..31 combined as
// ((l0+l16)+(l8+l24))+... -- a fixed order, so the same bits every run.
template <class Op>
__device__ __forceinline__ typename Op::acc_t warp_reduce(typename Op::acc_t v) {
#pragma unroll
  for (int offset = kWarpSize / 2; offset > 0; offset >>= 1) v = Op::combine(v, shfl_down(v, offset));
  return v;
}

// All threads of a group of TPR consecutive threads (TPR = 1, 32 or the whole
// block of 256) get the group's combined value. The block-wide form writes
// each warp's result to shared memory and every thread combines those 8 in
// warp order. Must be called by every thread of the block (it syncs when
// TPR == kBlockThreads).
template <int TPR, class Op>
__device__ __forceinline__ typename Op::acc_t group_allreduce(typename Op::acc_t v) {
  static_assert(TPR == 1 || TPR == kWarpSize || TPR == kBlockThreads, "group size");
  using acc_t = typename Op::acc_t;
  if constexpr (TPR == 1) {
    return v;
  } else if constexpr (TPR == kWarpSize) {
    return shfl_lane0(warp_reduce<Op>(v));
  } else {
    __shared__ acc_t warp_partials[kWarpsPerBlock];
    v = warp_reduce<Op>(v);
    if ((threadIdx.x & (kWarpSize - 1)) == 0) warp_partials[threadIdx.x / kWarpSize] = v;
    __syncthreads();
    acc_t total = warp_partials[0];
#pragma unroll
    for (int w = 1; w < kWarpsPerBlock; ++w) total = Op::combine(total, warp_partials[w]);
    __syncthreads();  // warp_partials may be rewritten by the next call
    return total;
  }
}

// ---- index math of a reduction over a strided view -------------------------------
// offset of linear index i over ix: the cheap common cases first.
__device__ __forceinline__ int64_t offset_of(const StridedIndexer& ix, int64_t i) {
  if (ix.ndim == 0) return 0;
  if (ix.ndim == 1) return i * ix.strides[0];
  return ix.offset(i);
}

// The input read as (rows, R): element (row, r) lies at
// kept.offset(row) + reduced.offset(r), where `kept` walks the kept dims and
// `reduced` the reduced dims, each in input order (so rows come out in the
// output's row-major order). Size-1 dims are dropped and neighbours that walk
// memory as one dim are merged, so a dense input reducing trailing dims has
// one reduced dim of stride 1.
struct ReduceGeometry {
  StridedIndexer kept, reduced;
  int64_t rows = 1, R = 1;
};

// Merges (size, stride) dims given outer to inner; throws naming `op` when more
// than kMaxDims remain.
StridedIndexer coalesced_indexer(const std::vector<std::pair<int64_t, int64_t>>& dims, const char* op);

// The geometry of reducing x over the dims flagged in `reduced` (one flag per
// dim). any_order: r may visit the reduced elements in any order (all but
// argmax), so the reduced dims are ordered by stride, largest outermost, before
// merging (a transposed or channels-last view then still reads densely).
ReduceGeometry make_geometry(const Tensor& x, const std::vector<bool>& reduced, bool any_order, const char* op);

}  // namespace loom::cuda::reduce_detail
