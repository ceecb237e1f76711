// softmax.cu: softmax, log_softmax and their backward rules on CUDA, along any
// dim, with the CPU's formulas (kernels/cpu/reduce.cpp):
//   softmax_i            = exp(x_i - max) / sum_j exp(x_j - max)
//   log_softmax_i        = x_i - (max + log sum_j exp(x_j - max))
//   softmax_backward     dx_i = y_i (g_i - sum_j g_j y_j)
//   log_softmax_backward dx_i = g_i - exp(y_i) sum_j g_j
// The inputs are made dense and read as (outer, R, inner): row q = (o, i) has
// its R elements at o*R*inner + i + r*inner. The max is taken first (NaN
// skipped, as std::max does on the CPU; a NaN still reaches every output of
// its row through the sum), sums accumulate in double in a fixed order, so the
// same input gives the same bits every run. exp is evaluated in the element
// type (expf for float32: float64 exp would make the kernel compute-bound).
//
// Versions (force one with the environment variable LOOM_SOFTMAX_VERSION =
// v1_naive | v2_block, read at every call; unset or "auto": the default below):
//   softmax_v1_naive  one thread per row, three serial passes (max, sum, write).
//                     Teaches the algorithm plainly. When the dim is not the last
//                     (inner > 1), neighbouring threads take neighbouring i, so
//                     loads are coalesced: auto uses it there unless rows are
//                     too few to fill the GPU.
//   softmax_v2_block  a warp per row (8 rows per block) for R <= 1024, else the
//                     whole block of 256; each pass is a strided fold per thread
//                     and a fixed-order group all-reduce (reduce.cuh: shuffle
//                     tree, then warp partials in warp order). The default for
//                     the last dim (inner == 1: threads walk along the row).
//
// Status: compiled for sm_90; not yet run on a GPU at the time of writing.
#include <cmath>

#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"
#include "kernels/cuda/reduce.cuh"

namespace loom::cuda {

namespace {

using namespace reduce_detail;

enum class Kind { Softmax, LogSoftmax, SoftmaxBackward, LogSoftmaxBackward };

constexpr int64_t kWarpMaxR = 1024;       // v2: rows this short get a warp, longer a block
constexpr int64_t kFewRows = 4096;        // auto: below this many rows, v2 even when inner > 1
constexpr int64_t kMaxGridX = int64_t{1} << 20;

__device__ __forceinline__ float exp_of(float v) { return ::expf(v); }
__device__ __forceinline__ double exp_of(double v) { return ::exp(v); }

// The rows of a dense (outer, R, inner) tensor: row q starts at base(q), step inner.
struct Rows {
  int64_t count, R, inner;
  __device__ __forceinline__ int64_t base(int64_t q) const { return (q / inner) * R * inner + q % inner; }
};

// One row of op K by a group of TPR threads (lane = this thread's place in it).
// a = x (forward) or grad (backward), b = y (backward only). Every thread of the
// group calls it, `active` false for groups past the last row (they still take
// part in the all-reduces).
template <int TPR, Kind K, class T>
__device__ __forceinline__ void softmax_row(const T* a, const T* b, T* out, int64_t base, int64_t step, int64_t R,
                                            int lane, bool active) {
  const int64_t r_begin = active ? lane : R;  // inactive threads load nothing
  if constexpr (K == Kind::Softmax || K == Kind::LogSoftmax) {
    T mx = SoftmaxMaxOp<T>::identity();
    for (int64_t r = r_begin; r < R; r += TPR) mx = SoftmaxMaxOp<T>::combine(mx, a[base + r * step]);
    mx = group_allreduce<TPR, SoftmaxMaxOp<T>>(mx);
    double s = 0;  // sum_j exp(x_j - max)
    for (int64_t r = r_begin; r < R; r += TPR) s += static_cast<double>(exp_of(static_cast<T>(a[base + r * step] - mx)));
    s = group_allreduce<TPR, SumOp>(s);
    if constexpr (K == Kind::Softmax) {
      for (int64_t r = r_begin; r < R; r += TPR)
        out[base + r * step] = static_cast<T>(static_cast<double>(exp_of(static_cast<T>(a[base + r * step] - mx))) / s);
    } else {
      const double lse = static_cast<double>(mx) + ::log(s);
      for (int64_t r = r_begin; r < R; r += TPR)
        out[base + r * step] = static_cast<T>(static_cast<double>(a[base + r * step]) - lse);
    }
  } else {
    double s = 0;  // softmax: sum_j g_j y_j; log_softmax: sum_j g_j
    for (int64_t r = r_begin; r < R; r += TPR) {
      const double g = static_cast<double>(a[base + r * step]);
      s += K == Kind::SoftmaxBackward ? g * static_cast<double>(b[base + r * step]) : g;
    }
    s = group_allreduce<TPR, SumOp>(s);
    for (int64_t r = r_begin; r < R; r += TPR) {
      const int64_t at = base + r * step;
      const double g = static_cast<double>(a[at]);
      if constexpr (K == Kind::SoftmaxBackward)
        out[at] = static_cast<T>(static_cast<double>(b[at]) * (g - s));
      else
        out[at] = static_cast<T>(g - static_cast<double>(exp_of(b[at])) * s);
    }
  }
}

// v1_naive: thread per row.
template <Kind K, class T>
__global__ void softmax_v1_naive(const T* a, const T* b, T* out, Rows rows) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t q = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; q < rows.count; q += step)
    softmax_row<1, K>(a, b, out, rows.base(q), rows.inner, rows.R, 0, true);
}

// v2_block: TPR threads (32 or 256) per row, kBlockThreads / TPR rows per block.
template <int TPR, Kind K, class T>
__global__ void __launch_bounds__(kBlockThreads) softmax_v2_block(const T* a, const T* b, T* out, Rows rows) {
  constexpr int kRowsPerBlock = kBlockThreads / TPR;
  const int group = threadIdx.x / TPR, lane = threadIdx.x % TPR;
  const int64_t step = static_cast<int64_t>(gridDim.x) * kRowsPerBlock;
  // first depends on the block only: every thread runs the loop equally often.
  for (int64_t first = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock; first < rows.count; first += step) {
    const int64_t q = first + group;
    const bool active = q < rows.count;
    softmax_row<TPR, K>(a, b, out, active ? rows.base(q) : 0, rows.inner, rows.R, lane, active);
  }
}

int grid_x(int64_t blocks) { return static_cast<int>(std::max<int64_t>(1, std::min(blocks, kMaxGridX))); }

template <Kind K>
Tensor run_softmax(const Tensor& a_in, const Tensor& b_in, int64_t dim, const char* op) {
  check_float_cuda(a_in, op);
  if (b_in.defined()) {
    check_same_dtype_device(a_in, b_in, op);
    LOOM_CHECK(b_in.shape() == a_in.shape(), op, ": shapes ", shape_str(a_in.shape()), " and ",
               shape_str(b_in.shape()), " differ");
  }
  const int64_t d = normalize_dim(dim, a_in.dim(), op);
  Tensor out = empty_on(a_in.shape(), a_in.dtype(), a_in);
  if (a_in.numel() == 0) return out;
  const Tensor a = dense(a_in), b = b_in.defined() ? dense(b_in) : Tensor();
  Rows rows{1, a.shape()[d], 1};
  for (int64_t k = 0; k < a.dim(); ++k)
    if (k > d) rows.inner *= a.shape()[k];
  rows.count = a.numel() / rows.R;  // outer * inner
  set_device_of(a);
  const cudaStream_t stream = stream_of(a);
  const Version version = version_from_env("LOOM_SOFTMAX_VERSION", false);
  const bool use_v2 = version == Version::V2Tree ||
                      (version == Version::Auto && (rows.inner == 1 || rows.count < kFewRows));
  LOOM_DISPATCH_FLOATING(a.dtype(), op, [&] {
    const scalar_t* ap = a.data<scalar_t>();
    const scalar_t* bp = b.defined() ? b.data<scalar_t>() : nullptr;
    scalar_t* op_out = out.data<scalar_t>();
    if (!use_v2) {
      softmax_v1_naive<K><<<grid_x((rows.count + kBlockThreads - 1) / kBlockThreads), kBlockThreads, 0, stream>>>(
          ap, bp, op_out, rows);
      LOOM_CUDA_CHECK_LAUNCH("softmax_v1_naive");
    } else if (rows.R <= kWarpMaxR) {
      const int64_t rows_per_block = kBlockThreads / kWarpSize;
      softmax_v2_block<kWarpSize, K>
          <<<grid_x((rows.count + rows_per_block - 1) / rows_per_block), kBlockThreads, 0, stream>>>(ap, bp, op_out,
                                                                                                   rows);
      LOOM_CUDA_CHECK_LAUNCH("softmax_v2_block (warp per row)");
    } else {
      softmax_v2_block<kBlockThreads, K><<<grid_x(rows.count), kBlockThreads, 0, stream>>>(ap, bp, op_out, rows);
      LOOM_CUDA_CHECK_LAUNCH("softmax_v2_block (block per row)");
    }
  });
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return run_softmax<Kind::Softmax>(x, Tensor(), dim, "softmax"); }
Tensor log_softmax(const Tensor& x, int64_t dim) {
  return run_softmax<Kind::LogSoftmax>(x, Tensor(), dim, "log_softmax");
}
Tensor softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim) {
  return run_softmax<Kind::SoftmaxBackward>(grad, y, dim, "softmax_backward");
}
Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim) {
  return run_softmax<Kind::LogSoftmaxBackward>(grad, y, dim, "log_softmax_backward");
}

}  // namespace loom::cuda
