// reduce.cu: sum, mean, amax, amin, var and argmax on CUDA, over any set of
// dims of any strided view, with the CPU's semantics (kernels/cpu/reduce.cpp:
// dims empty = all dims, negative dims, the same errors, NaN propagating through
// amax/amin, argmax = index of the first maximum or of the first NaN).
//
// Every op reads its input as a (rows, R) matrix without copying it:
// element (row, r) sits at kept.offset(row) + reduced.offset(r) (reduce.cuh's
// ReduceGeometry), each output row combines its R elements. The ops differ
// only in three small functors: how an element is loaded into the accumulator
// (sum: as double; var: squared deviation from the row mean; argmax: (value,
// index)), how two accumulators combine (reduce.cuh: SumOp, ExtremeOp,
// ArgMaxOp), and how the result is stored (divided by a count for mean/var).
//
// Versions (force one with the environment variable LOOM_REDUCE_VERSION =
// v1_naive | v2_tree | v3_split, read at every call; unset or "auto": the
// default choice below):
//   reduce_v1_naive   one thread per output row, a serial loop over R. Teaches
//                     the semantics with nothing in the way. Coalesced only when
//                     neighbouring rows are neighbours in memory. Auto picks it
//                     for rows of at most 16 elements (a warp per row would idle).
//   reduce_v2_tree    a group of threads per row: a warp (8 rows per block) for
//                     R <= 1024, else the whole block of 256; each thread folds a
//                     strided slice of the row, then a warp shuffle tree and the
//                     8 warp partials combined in warp order (reduce.cuh
//                     group_allreduce). A FIXED order: the same bits every run,
//                     on any GPU; no float atomics. The default for rows whose
//                     reduced innermost dim is dense (threads walk along r:
//                     coalesced).
//   reduce_v2_columns the same contract when the reduced dims are NOT innermost
//                     but the kept innermost dim is dense (e.g. per-channel sums
//                     over N, H, W of (N, C, H, W) with H*W... or sum over dim 0 of
//                     (N, C)): a 32 x 8 tile, threadIdx.x along 32 neighbouring
//                     output rows (coalesced loads), threadIdx.y over 8 slices of
//                     R, the 8 partials combined in order through shared memory.
//   reduce_v3_split   two passes for few rows with long R (e.g. the sum of 1e8
//                     elements to a scalar): R is cut into S chunks (S from the
//                     shape alone, never from the GPU's size, so the answer is the
//                     same on every GPU); pass 1 (v2_tree or v2_columns over
//                     grid.y = S chunks) writes one partial per (row, chunk),
//                     pass 2 (v2_tree) combines each row's S partials in chunk
//                     order. Auto uses it when single-pass v2 would run fewer than
//                     1024 blocks and R is long enough to split.
//
// Accumulation: sums accumulate in double for float32 too. Reductions are
// bound by memory bandwidth: on an H100 a float64 add costs half a float32 add
// and there are ~80 flops of float64 per loaded float available, so the double
// accumulator is free there and keeps the result within a rounding of the CPU
// oracle (which also sums in double) for any R. (On a consumer GPU with 1/64-rate
// float64 this choice would cost; change SumOp::acc_t to float to measure it.)
// var is two passes (mean, then the sum of squared deviations from it), as the
// CPU: numerically sound for data with a large mean, unlike sum(x^2) - n mean^2.
//
// Status: compiled for sm_90; not yet run on a GPU at the time of writing.
#include <algorithm>
#include <cstdlib>
#include <string>

#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/reduce_shape.h"

namespace loom::cuda {

namespace reduce_detail {

Version version_from_env(const char* env_var, bool has_v3) {
  const char* raw = std::getenv(env_var);
  const std::string v = raw ? raw : "";
  if (v.empty() || v == "auto") return Version::Auto;
  if (v == "v1_naive" || v == "naive" || v == "1") return Version::V1Naive;
  if (v == "v2_tree" || v == "tree" || v == "2" || (!has_v3 && (v == "v2_block" || v == "block")))
    return Version::V2Tree;
  if (has_v3 && (v == "v3_split" || v == "split" || v == "3")) return Version::V3Split;
  detail::throw_error(env_var, "=", v, " is not a kernel version; use ",
                      has_v3 ? "auto, v1_naive, v2_tree or v3_split" : "auto, v1_naive or v2_block");
}

StridedIndexer coalesced_indexer(const std::vector<std::pair<int64_t, int64_t>>& dims, const char* op) {
  std::vector<std::pair<int64_t, int64_t>> kept;  // (size, stride), outer to inner
  for (const auto& [size, stride] : dims) {
    if (size == 1) continue;  // walks nothing
    // The previous (outer) dim continues this one in memory: one dim of both sizes.
    if (!kept.empty() && kept.back().second == size * stride) {
      kept.back() = {kept.back().first * size, stride};
      continue;
    }
    kept.push_back({size, stride});
  }
  LOOM_CHECK(static_cast<int>(kept.size()) <= kMaxDims, op, ": CUDA reductions take at most ", kMaxDims,
             " non-mergeable dims, got ", kept.size());
  StridedIndexer ix;
  ix.ndim = static_cast<int>(kept.size());
  for (int d = 0; d < ix.ndim; ++d) {
    ix.sizes[d] = kept[d].first;
    ix.strides[d] = kept[d].second;
  }
  return ix;
}

ReduceGeometry make_geometry(const Tensor& x, const std::vector<bool>& reduced, bool any_order, const char* op) {
  std::vector<std::pair<int64_t, int64_t>> kept_dims, reduced_dims;  // (size, stride)
  ReduceGeometry g;
  for (int64_t d = 0; d < x.dim(); ++d) {
    const std::pair<int64_t, int64_t> dim{x.shape()[d], x.strides()[d]};
    if (reduced[d]) {
      reduced_dims.push_back(dim);
      g.R *= dim.first;
    } else {
      kept_dims.push_back(dim);
      g.rows *= dim.first;
    }
  }
  // Largest stride outermost: r then walks memory as densely as the view allows.
  if (any_order)
    std::stable_sort(reduced_dims.begin(), reduced_dims.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
  g.kept = coalesced_indexer(kept_dims, op);
  g.reduced = coalesced_indexer(reduced_dims, op);
  return g;
}

}  // namespace reduce_detail

namespace {

using namespace reduce_detail;

constexpr int kColumnTile = 32;        // output rows per v2_columns block (threadIdx.x)
constexpr int kColumnSlices = 8;       // slices of R per v2_columns block (threadIdx.y)
constexpr int64_t kNaiveMaxR = 16;     // auto: rows this short go to v1_naive
constexpr int64_t kWarpMaxR = 1024;    // auto: rows this short get a warp, longer a block
constexpr int64_t kTargetBlocks = 1024;  // auto: below this many blocks, split R (v3)
constexpr int64_t kMinChunk = 4096;    // auto v3: no chunk shorter than this
constexpr int64_t kForcedChunk = 257;  // forced v3: short odd chunks, so small tests split too
constexpr int64_t kMaxGridX = int64_t{1} << 20;  // grid-stride beyond this many blocks

// ---- loaders: element (row, r) as the accumulator type ----
// base(row) is computed once per row; at(base, r) reads one element.
template <class T>
struct XView {
  const T* x;
  StridedIndexer kept, reduced;
  __device__ __forceinline__ int64_t base(int64_t row) const { return offset_of(kept, row); }
  __device__ __forceinline__ T at(int64_t b, int64_t r) const { return x[b + offset_of(reduced, r)]; }
};

template <class T>
struct LoadValue {  // amax, amin
  XView<T> v;
  __device__ int64_t base(int64_t row) const { return v.base(row); }
  __device__ T operator()(int64_t, int64_t b, int64_t r) const { return v.at(b, r); }
};

template <class T>
struct LoadAsDouble {  // sum, mean, the mean of var
  XView<T> v;
  __device__ int64_t base(int64_t row) const { return v.base(row); }
  __device__ double operator()(int64_t, int64_t b, int64_t r) const { return static_cast<double>(v.at(b, r)); }
};

template <class T>
struct LoadSquaredDeviation {  // var: (x - mean_row)^2
  XView<T> v;
  const double* row_mean;  // (rows,)
  __device__ int64_t base(int64_t row) const { return v.base(row); }
  __device__ double operator()(int64_t row, int64_t b, int64_t r) const {
    const double d = static_cast<double>(v.at(b, r)) - row_mean[row];
    return d * d;
  }
};

template <class T>
struct LoadWithIndex {  // argmax: (value, r)
  XView<T> v;
  __device__ int64_t base(int64_t row) const { return v.base(row); }
  __device__ ArgBest operator()(int64_t, int64_t b, int64_t r) const {
    return {static_cast<double>(v.at(b, r)), r};
  }
};

template <class Acc>
struct LoadPartial {  // v3 pass 2: the (rows, S) partials, dense
  const Acc* partial;
  int64_t splits;
  __device__ int64_t base(int64_t row) const { return row * splits; }
  __device__ Acc operator()(int64_t, int64_t b, int64_t s) const { return partial[b + s]; }
};

// ---- stores: (row, chunk, accumulator) -> memory ----
template <class Out>
struct StoreDivided {  // sum (divisor 1), mean (count), var (R - correction)
  Out* out;
  double divisor;
  __device__ void operator()(int64_t row, int64_t, double acc) const { out[row] = static_cast<Out>(acc / divisor); }
};

template <class T>
struct StoreValue {  // amax, amin
  T* out;
  __device__ void operator()(int64_t row, int64_t, T acc) const { out[row] = acc; }
};

struct StoreIndex {  // argmax
  int64_t* out;
  __device__ void operator()(int64_t row, int64_t, ArgBest acc) const { out[row] = acc.index; }
};

template <class Acc>
struct StorePartial {  // v3 pass 1: partial[row, chunk]
  Acc* partial;
  int64_t splits;
  __device__ void operator()(int64_t row, int64_t s, Acc acc) const { partial[row * splits + s] = acc; }
};

// ---- kernels ----

// v1_naive: thread per row, r = 0, 1, ..., R-1 in order.
template <class Op, class Load, class Store>
__global__ void reduce_v1_naive(Load load, Store store, int64_t rows, int64_t R) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; row < rows; row += step) {
    const int64_t b = load.base(row);
    typename Op::acc_t acc = Op::identity();
    for (int64_t r = 0; r < R; ++r) acc = Op::combine(acc, load(row, b, r));
    store(row, 0, acc);
  }
}

// v2_tree: TPR threads per row (32 or 256), kBlockThreads / TPR rows per block;
// blockIdx.y = the chunk [y*chunk, min(R, (y+1)*chunk)) of r this block folds
// (one chunk of all of R unless v3 split it).
template <int TPR, class Op, class Load, class Store>
__global__ void __launch_bounds__(kBlockThreads)
    reduce_v2_tree(Load load, Store store, int64_t rows, int64_t R, int64_t chunk) {
  constexpr int kRowsPerBlock = kBlockThreads / TPR;
  const int group = threadIdx.x / TPR, lane = threadIdx.x % TPR;
  const int64_t split = blockIdx.y;
  const int64_t r_begin = split * chunk, r_end = R < r_begin + chunk ? R : r_begin + chunk;
  const int64_t step = static_cast<int64_t>(gridDim.x) * kRowsPerBlock;
  // The loop bound is the same for every thread of the block (base is per
  // block), so every thread reaches group_allreduce's barriers.
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock; base < rows; base += step) {
    const int64_t row = base + group;
    typename Op::acc_t acc = Op::identity();
    if (row < rows) {
      const int64_t b = load.base(row);
      // Unrolled so that several independent loads are in flight per thread
      // (the combines still run in r order: the same bits).
#pragma unroll 4
      for (int64_t r = r_begin + lane; r < r_end; r += TPR) acc = Op::combine(acc, load(row, b, r));
    }
    acc = group_allreduce<TPR, Op>(acc);
    if (lane == 0 && row < rows) store(row, split, acc);
  }
}

// v2_columns: block (32, 8); threadIdx.x = one of 32 neighbouring rows,
// threadIdx.y = the slice r = r_begin + y, + 8, ...; partials combined y = 0..7.
template <class Op, class Load, class Store>
__global__ void __launch_bounds__(kColumnTile* kColumnSlices)
    reduce_v2_columns(Load load, Store store, int64_t rows, int64_t R, int64_t chunk) {
  using acc_t = typename Op::acc_t;
  __shared__ acc_t slice_partials[kColumnSlices][kColumnTile + 1];  // (8, 32) padded
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t split = blockIdx.y;
  const int64_t r_begin = split * chunk, r_end = R < r_begin + chunk ? R : r_begin + chunk;
  const int64_t step = static_cast<int64_t>(gridDim.x) * kColumnTile;
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kColumnTile; base < rows; base += step) {
    const int64_t row = base + tx;
    acc_t acc = Op::identity();
    if (row < rows) {
      const int64_t b = load.base(row);
#pragma unroll 4
      for (int64_t r = r_begin + ty; r < r_end; r += kColumnSlices) acc = Op::combine(acc, load(row, b, r));
    }
    slice_partials[ty][tx] = acc;
    __syncthreads();
    if (ty == 0 && row < rows) {
      acc_t total = slice_partials[0][tx];
#pragma unroll
      for (int k = 1; k < kColumnSlices; ++k) total = Op::combine(total, slice_partials[k][tx]);
      store(row, split, total);
    }
    __syncthreads();  // slice_partials is rewritten by the next tile
  }
}

// ---- the launcher ----

// Rows go to v2_columns when r does not walk memory densely but rows do.
bool column_layout(const ReduceGeometry& g) {
  if (g.rows == 1 || g.kept.ndim == 0) return false;
  const bool r_dense = g.reduced.ndim == 0 || g.reduced.strides[g.reduced.ndim - 1] == 1;
  const bool rows_dense = g.kept.strides[g.kept.ndim - 1] == 1;
  return !r_dense && rows_dense;
}

int grid_x(int64_t blocks) { return static_cast<int>(std::max<int64_t>(1, std::min(blocks, kMaxGridX))); }

// One pass of v2 (tree or columns) over chunks of `chunk` elements of r.
template <class Op, class Load, class Store>
void launch_v2(bool columns, const Load& load, const Store& store, int64_t rows, int64_t R, int64_t chunk,
               int64_t splits, cudaStream_t stream) {
  if (columns) {
    const dim3 grid(grid_x((rows + kColumnTile - 1) / kColumnTile), static_cast<unsigned>(splits));
    reduce_v2_columns<Op><<<grid, dim3(kColumnTile, kColumnSlices), 0, stream>>>(load, store, rows, R, chunk);
    LOOM_CUDA_CHECK_LAUNCH("reduce_v2_columns");
  } else if (chunk <= kWarpMaxR) {
    const int64_t rows_per_block = kBlockThreads / kWarpSize;
    const dim3 grid(grid_x((rows + rows_per_block - 1) / rows_per_block), static_cast<unsigned>(splits));
    reduce_v2_tree<kWarpSize, Op><<<grid, kBlockThreads, 0, stream>>>(load, store, rows, R, chunk);
    LOOM_CUDA_CHECK_LAUNCH("reduce_v2_tree (warp per row)");
  } else {
    const dim3 grid(grid_x(rows), static_cast<unsigned>(splits));
    reduce_v2_tree<kBlockThreads, Op><<<grid, kBlockThreads, 0, stream>>>(load, store, rows, R, chunk);
    LOOM_CUDA_CHECK_LAUNCH("reduce_v2_tree (block per row)");
  }
}

// How many chunks v3 cuts R into: a function of the shape only.
int64_t split_count(Version version, bool columns, int64_t rows, int64_t R) {
  constexpr int64_t kMaxSplits = 65535;  // grid.y limit
  if (version == Version::V2Tree || R <= 1) return 1;
  if (version == Version::V3Split) return std::min(kMaxSplits, (R + kForcedChunk - 1) / kForcedChunk);
  const int64_t rows_per_block = columns ? kColumnTile : (R <= kWarpMaxR ? kBlockThreads / kWarpSize : 1);
  const int64_t blocks = (rows + rows_per_block - 1) / rows_per_block;
  if (blocks >= kTargetBlocks || R < 2 * kMinChunk) return 1;
  const int64_t by_length = R / kMinChunk;  // chunks of at least kMinChunk
  const int64_t by_blocks = (kTargetBlocks + blocks - 1) / blocks;
  return std::max<int64_t>(1, std::min({kMaxSplits, by_length, by_blocks}));
}

// Runs the reduction (rows, R) -> store with the version chosen (header comment).
template <class Op, class Load, class Store>
void run_reduction(const ReduceGeometry& g, const Load& load, const Store& store, const Tensor& x) {
  using acc_t = typename Op::acc_t;
  if (g.rows == 0) return;  // nothing to write
  set_device_of(x);
  const cudaStream_t stream = stream_of(x);
  const Version version = version_from_env("LOOM_REDUCE_VERSION", true);
  if (version == Version::V1Naive || (version == Version::Auto && g.R <= kNaiveMaxR && g.rows > 1)) {
    reduce_v1_naive<Op><<<grid_x((g.rows + kBlockThreads - 1) / kBlockThreads), kBlockThreads, 0, stream>>>(
        load, store, g.rows, g.R);
    LOOM_CUDA_CHECK_LAUNCH("reduce_v1_naive");
    return;
  }
  const bool columns = column_layout(g);
  int64_t splits = split_count(version, columns, g.rows, g.R);
  const int64_t chunk = splits > 1 ? (g.R + splits - 1) / splits : std::max<int64_t>(g.R, 1);
  if (splits > 1) splits = (g.R + chunk - 1) / chunk;  // no empty trailing chunk
  if (splits == 1) {
    launch_v2<Op>(columns, load, store, g.rows, g.R, chunk, 1, stream);
    return;
  }
  // v3: pass 1 into (rows, splits) partials, pass 2 combines each row in chunk order.
  Tensor partial_bytes = Tensor::empty({g.rows * splits * static_cast<int64_t>(sizeof(acc_t))}, DType::UInt8,
                                       x.device());  // (rows, splits) of acc_t
  acc_t* partial = static_cast<acc_t*>(partial_bytes.raw_data());
  launch_v2<Op>(columns, load, StorePartial<acc_t>{partial, splits}, g.rows, g.R, chunk, splits, stream);
  launch_v2<Op>(false, LoadPartial<acc_t>{partial, splits}, store, g.rows, splits, std::max<int64_t>(splits, 1), 1,
                stream);
}

template <class T>
XView<T> view_of(const Tensor& x, const ReduceGeometry& g) {
  return {x.data<T>(), g.kept, g.reduced};
}

// sum and mean: out[row] = (sum_r x[row, r]) / divisor.
Tensor sum_like(const Tensor& x, const ReduceShape& s, bool is_mean, const char* op) {
  const ReduceGeometry g = make_geometry(x, s.reduced, true, op);
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor out = empty_on(s.out_shape, x.dtype(), x);
    const double divisor = is_mean ? static_cast<double>(s.R) : 1.0;  // mean of nothing: 0/0 = NaN, as the CPU
    run_reduction<SumOp>(g, LoadAsDouble<scalar_t>{view_of<scalar_t>(x, g)},
                         StoreDivided<scalar_t>{out.data<scalar_t>(), divisor}, x);
    return out;
  });
}

template <bool IsMax>
Tensor extreme(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, const char* op) {
  check_float_cuda(x, op);
  LOOM_CHECK(x.numel() > 0, op, ": cannot reduce an empty tensor (shape ", shape_str(x.shape()), ")");
  const ReduceShape s = reduce_shape(x.shape(), dims, keepdim, op);
  const ReduceGeometry g = make_geometry(x, s.reduced, true, op);
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor out = empty_on(s.out_shape, x.dtype(), x);
    run_reduction<ExtremeOp<scalar_t, IsMax>>(g, LoadValue<scalar_t>{view_of<scalar_t>(x, g)},
                                              StoreValue<scalar_t>{out.data<scalar_t>()}, x);
    return out;
  });
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  check_float_cuda(x, "sum");
  return sum_like(x, reduce_shape(x.shape(), dims, keepdim, "sum"), false, "sum");
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const ReduceShape s = reduce_shape(x.shape(), dims, keepdim, "mean");  // the CPU checks dims first too
  check_float_cuda(x, "mean");
  return sum_like(x, s, true, "mean");
}

Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme<true>(x, dims, keepdim, "amax");
}
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme<false>(x, dims, keepdim, "amin");
}

// var = sum_r (x - mean_row)^2 / (R - correction): the mean first, then the squared deviations.
Tensor var(const Tensor& x, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) {
  check_float_cuda(x, "var");
  const ReduceShape s = reduce_shape(x.shape(), dims, keepdim, "var");
  LOOM_CHECK(s.R - correction > 0, "var: ", s.R, " elements are too few for correction ", correction);
  const ReduceGeometry g = make_geometry(x, s.reduced, true, "var");
  return LOOM_DISPATCH_FLOATING(x.dtype(), "var", [&] {
    Tensor out = empty_on(s.out_shape, x.dtype(), x);
    Tensor row_mean = empty_on({s.rows}, DType::Float64, x);  // (rows,)
    const XView<scalar_t> view = view_of<scalar_t>(x, g);
    run_reduction<SumOp>(g, LoadAsDouble<scalar_t>{view},
                         StoreDivided<double>{row_mean.data<double>(), static_cast<double>(s.R)}, x);
    run_reduction<SumOp>(g, LoadSquaredDeviation<scalar_t>{view, row_mean.data<double>()},
                         StoreDivided<scalar_t>{out.data<scalar_t>(), static_cast<double>(s.R - correction)}, x);
    return out;
  });
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  check_float_cuda(x, "argmax");
  const ReduceShape s = reduce_shape(x.shape(), {dim}, keepdim, "argmax");
  LOOM_CHECK(s.R > 0, "argmax: dim ", dim, " is empty");
  const ReduceGeometry g = make_geometry(x, s.reduced, false, "argmax");
  return LOOM_DISPATCH_FLOATING(x.dtype(), "argmax", [&] {
    Tensor out = empty_on(s.out_shape, DType::Int64, x);
    run_reduction<ArgMaxOp>(g, LoadWithIndex<scalar_t>{view_of<scalar_t>(x, g)}, StoreIndex{out.data<int64_t>()},
                            x);
    return out;
  });
}

}  // namespace loom::cuda
