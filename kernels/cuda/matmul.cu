// matmul.cu: cuda::matmul, the matrix product op on CUDA over gemm::run
// (kernels/cuda/gemm.h), with exactly the CPU op's shapes and errors
// (kernels/matmul_shape.h):
//   (M, K)    @ (K, N)    -> (M, N)
//   (B, M, K) @ (B, K, N) -> (B, M, N)   one strided-batched GEMM
//   (B, M, K) @ (K, N)    -> (B, M, N)   one GEMM of B*M rows when a's rows
//                                        continue across batches, else a
//                                        batched GEMM with b's stride 0
// An operand whose last two dims have a unit stride (row-major, or a
// transposed view) is read in place through gemm's trans flag and leading
// dimension; an expanded batch dim (stride 0) is read in place too; other
// views are made dense first. float32 runs the dispatcher's FP32 default
// (LOOM_GEMM / LOOM_BACKEND may force another), float64 the float64 kernel.
// The result is dense.
#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"
#include "kernels/cuda/gemm.h"
#include "kernels/matmul_shape.h"

namespace loom::cuda {

namespace {

// An operand as gemm reads it: op(X)(r, c) of batch b at
// data[b*batch_stride + (trans ? c*ld + r : r*ld + c)].
template <class T>
struct GemmOperand {
  const T* data;
  bool trans;
  int64_t ld, batch_stride;
};

// x's last two dims (rows, cols) as a GemmOperand; x is replaced by a dense
// copy when neither of them has a unit stride (after giving size-1 dims
// their natural strides) or the batch stride is negative.
template <class T>
GemmOperand<T> gemm_operand(Tensor& x) {
  const int64_t d = x.dim();
  const int64_t rows = x.shape()[d - 2], cols = x.shape()[d - 1];
  int64_t rs = x.strides()[d - 2], cs = x.strides()[d - 1];
  int64_t bs = d == 3 ? x.strides()[0] : 0;
  if (cols == 1) cs = 1;
  if (rows == 1) rs = cols * cs;
  if (d == 3 && x.shape()[0] == 1) bs = 0;
  if (cs == 1 && rs >= cols && bs >= 0) return {x.data<T>(), false, rs, bs};
  if (rs == 1 && cs >= rows && bs >= 0) return {x.data<T>(), true, cs, bs};
  x = dense(x);
  return {x.data<T>(), false, cols, d == 3 ? rows * cols : 0};
}

// Runs out = a @ b (shapes checked, out allocated) as one gemm::run call.
template <class T, class GemmArgs>
void run_matmul(Tensor a, Tensor b, Tensor& out) {
  const bool batched_a = a.dim() == 3, batched_b = b.dim() == 3;
  const int64_t batch = batched_a ? a.shape()[0] : 1;
  const int64_t m = a.shape()[a.dim() - 2], k = a.shape()[a.dim() - 1], n = b.shape()[b.dim() - 1];
  const GemmOperand<T> oa = gemm_operand<T>(a), ob = gemm_operand<T>(b);
  GemmArgs g;
  g.trans_a = oa.trans;
  g.trans_b = ob.trans;
  g.m = m;
  g.n = n;
  g.k = k;
  g.a = oa.data;
  g.lda = oa.ld;
  g.stride_a = oa.batch_stride;
  g.b = ob.data;
  g.ldb = ob.ld;
  g.stride_b = batched_b ? ob.batch_stride : 0;  // (B, M, K) @ (K, N): b broadcast to every batch
  g.c = out.data<T>();
  g.ldc = n;
  g.stride_c = m * n;
  g.batch = batch;
  // (B, M, K) @ (K, N) with a's rows continuing across batches: one GEMM of (B*M, K) @ (K, N).
  if (batched_a && !batched_b && !oa.trans && (batch == 1 || oa.batch_stride == m * oa.ld)) {
    g.m = batch * m;
    g.batch = 1;
    g.stride_a = g.stride_c = 0;
  }
  gemm::run(g);  // Args: FP32 through the dispatcher; ArgsF64: the float64 kernel
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_float_cuda(a, "matmul", "first input");
  check_float_cuda(b, "matmul", "second input");
  check_same_dtype_device(a, b, "matmul");
  check_matmul_shapes(a, b);
  Tensor out = empty_on(matmul_result_shape(a, b), a.dtype(), a);  // (B, M, N) or (M, N)
  if (out.numel() == 0) return out;
  set_device_of(a);
  if (a.dtype() == DType::Float64) run_matmul<double, gemm::ArgsF64>(a, b, out);
  else run_matmul<float, gemm::Args>(a, b, out);
  return out;
}

}  // namespace loom::cuda
