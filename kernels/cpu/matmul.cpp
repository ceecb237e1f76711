// matmul.cpp: cpu::matmul, the raw (non-differentiable) matrix product over
// kernels/cpu/gemm.h, for the three shape families
//   (M, K)    @ (K, N)    -> (M, N)
//   (B, M, K) @ (B, K, N) -> (B, M, N)      (batched, one GEMM per batch)
//   (B, M, K) @ (K, N)    -> (B, M, N)      (one GEMM with B*M rows when the
//                                            batch and row dims of a merge)
// Operands are handed to gemm as (pointer, row stride, column stride), so any
// view whose last two dims have a unit stride (row-major or a transpose) is
// read in place; other views are made dense first. The result is dense.
#include <omp.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_util.h"
#include "kernels/cpu/gemm.h"
#include "kernels/matmul_shape.h"

namespace loom::cpu {

namespace {

// A matrix operand as gemm reads it: element (r, c) of batch b at
// data[b * batch_stride + r * rs + c * cs].
template <class T>
struct MatrixView {
  const T* data;
  int64_t batch_stride, rs, cs;
};

// True when gemm can read the last two dims of x in place: one of their
// strides is 1 (a size-1 dim places no constraint on its stride).
bool gemm_readable(const Tensor& x) {
  const int64_t d = x.dim();
  const int64_t rows = x.shape()[d - 2], cols = x.shape()[d - 1];
  const int64_t rs = x.strides()[d - 2], cs = x.strides()[d - 1];
  return cs == 1 || rs == 1 || rows == 1 || cols == 1;
}

// x as a MatrixView; x is replaced by a dense copy when gemm cannot read it.
template <class T>
MatrixView<T> matrix_view(Tensor& x) {
  if (!gemm_readable(x)) x = raw_contiguous(x);
  const int64_t d = x.dim();
  int64_t rs = x.strides()[d - 2], cs = x.strides()[d - 1];
  // Size-1 dims may carry any stride; give gemm the natural ones.
  if (x.shape()[d - 1] == 1) cs = 1;
  if (x.shape()[d - 2] == 1) rs = x.shape()[d - 1] * cs;
  return {x.data<T>(), d == 3 ? x.strides()[0] : 0, rs, cs};
}

template <class T>
Tensor matmul_typed(Tensor a, Tensor b) {
  const bool batched_a = a.dim() == 3, batched_b = b.dim() == 3;
  const int64_t batch = batched_a ? a.shape()[0] : 1;
  const int64_t M = a.shape()[a.dim() - 2], K = a.shape()[a.dim() - 1];
  const int64_t N = b.shape()[b.dim() - 1];
  Tensor out = Tensor::empty(matmul_result_shape(a, b), a.dtype());  // (B, M, N) or (M, N)
  if (out.numel() == 0) return out;
  T* c = out.data<T>();

  const MatrixView<T> va = matrix_view<T>(a), vb = matrix_view<T>(b);
  // (B, M, K) @ (K, N) where a's rows continue across batches: one GEMM of
  // (B*M, K) @ (K, N), the best case for blocking and threads.
  if (batched_a && !batched_b && (batch == 1 || va.batch_stride == M * va.rs)) {
    gemm(batch * M, N, K, T(1), va.data, va.rs, va.cs, vb.data, vb.rs, vb.cs, T(0), c, N);
    return out;
  }
  // One GEMM per batch: C_b (M, N) = A_b (M, K) @ B_b (K, N). Large products
  // thread inside gemm; many small ones are spread over threads by batch
  // (each C_b is written by one thread either way: same bits for any count).
  // The two loops are kept apart on purpose: a gemm inside even an inactive
  // `omp parallel ... if (false)` region would be a nested region, and GOMP
  // creates fresh threads for nested teams on every call.
  auto one_batch = [&](int64_t i) {
    gemm(M, N, K, T(1), va.data + i * va.batch_stride, va.rs, va.cs, vb.data + i * vb.batch_stride, vb.rs, vb.cs, T(0),
         c + i * M * N, N);
  };
  const double work = static_cast<double>(M) * N * K;  // multiply-adds per batch
  if (batch > 1 && work < 64.0 * 64 * 64 && work * batch >= 64.0 * 64 * 64) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < batch; ++i) one_batch(i);
  } else {
    for (int64_t i = 0; i < batch; ++i) one_batch(i);
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_float(a, "matmul", "first input");
  check_float(b, "matmul", "second input");
  check_same_dtype_device(a, b, "matmul");
  check_matmul_shapes(a, b);
  return LOOM_DISPATCH_FLOATING(a.dtype(), "matmul", [&] { return matmul_typed<scalar_t>(a, b); });
}

}  // namespace loom::cpu
