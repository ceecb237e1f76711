// elementwise.cuh: the one generic elementwise kernel family every loom map
// uses (unary.cu, binary.cu, copy.cu): out = f(in_1, ..., in_k) for k = 0..3
// inputs, each with its own element type, over a shared index space. Each op
// is a small functor with a __device__ operator(); the kernels do the indexing.
//
//   map_v1_strided     a grid-stride loop; each linear index i is turned into
//                      the element offset of every operand through its strides
//                      (MultiIndexer), so any view works: transposed, sliced,
//                      broadcast (stride 0), offset. Teaches the index math.
//   map_v2_vectorized  all operands dense, one shape, and 16-byte aligned: each
//                      thread moves V elements per load/store (V = 16 bytes /
//                      the widest operand: float4, double2, ...), then a scalar
//                      grid-stride tail for the last n % V. Teaches memory
//                      transactions: same math, fewer and wider accesses.
//
// launch_map picks v2 when it can, else v1 (the default is "fastest that
// applies"; both compute exactly the same values).
#pragma once
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/cuda_util.cuh"

namespace loom::cuda::elementwise {

// The element offsets of N operands (out first, then the inputs) for one
// row-major linear index over the shared `sizes`: one div/mod chain for all.
template <int N>
struct MultiIndexer {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};

  __device__ void offsets(int64_t linear, int64_t (&off)[N]) const {
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t i = linear % sizes[d];
      linear /= sizes[d];
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += i * strides[k][d];
    }
  }
};

// V elements of T loaded or stored as one aligned access (16 bytes at most).
template <class T, int V>
struct alignas(sizeof(T) * V) Vec {
  T v[V];
};

// The operands of one map: out and up to three inputs of types A, B, C
// (unused inputs are null and never read).
template <class Out, class A, class B, class C>
struct Operands {
  Out* out = nullptr;
  const A* a = nullptr;
  const B* b = nullptr;
  const C* c = nullptr;
};

template <int Arity, class F, class A, class B, class C>
__device__ __forceinline__ auto apply(const F& f, const A& a, const B& b, const C& c) {
  if constexpr (Arity == 0) return f();
  else if constexpr (Arity == 1) return f(a);
  else if constexpr (Arity == 2) return f(a, b);
  else return f(a, b, c);
}

// ---- v1: any strides ---------------------------------------------------------
template <int Arity, class F, class Out, class A, class B, class C>
__global__ void map_v1_strided(Operands<Out, A, B, C> ops, MultiIndexer<Arity + 1> ix, int64_t n, F f) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t off[Arity + 1];
    ix.offsets(i, off);
    A a{};
    B b{};
    C c{};
    if constexpr (Arity >= 1) a = ops.a[off[1]];
    if constexpr (Arity >= 2) b = ops.b[off[2]];
    if constexpr (Arity >= 3) c = ops.c[off[3]];
    ops.out[off[0]] = static_cast<Out>(apply<Arity>(f, a, b, c));
  }
}

// ---- v2: dense, aligned, V elements per access --------------------------------
template <int V, int Arity, class F, class Out, class A, class B, class C>
__global__ void map_v2_vectorized(Operands<Out, A, B, C> ops, int64_t n, F f) {
  const int64_t first = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t n_vec = n / V;  // whole vectors; elements [n_vec * V, n) are the tail
  for (int64_t i = first; i < n_vec; i += step) {
    Vec<A, V> va{};
    Vec<B, V> vb{};
    Vec<C, V> vc{};
    if constexpr (Arity >= 1) va = reinterpret_cast<const Vec<A, V>*>(ops.a)[i];
    if constexpr (Arity >= 2) vb = reinterpret_cast<const Vec<B, V>*>(ops.b)[i];
    if constexpr (Arity >= 3) vc = reinterpret_cast<const Vec<C, V>*>(ops.c)[i];
    Vec<Out, V> vo;
#pragma unroll
    for (int j = 0; j < V; ++j) vo.v[j] = static_cast<Out>(apply<Arity>(f, va.v[j], vb.v[j], vc.v[j]));
    reinterpret_cast<Vec<Out, V>*>(ops.out)[i] = vo;
  }
  for (int64_t i = n_vec * V + first; i < n; i += step) {  // scalar tail, fewer than V elements
    A a{};
    B b{};
    C c{};
    if constexpr (Arity >= 1) a = ops.a[i];
    if constexpr (Arity >= 2) b = ops.b[i];
    if constexpr (Arity >= 3) c = ops.c[i];
    ops.out[i] = static_cast<Out>(apply<Arity>(f, a, b, c));
  }
}

// ---- host side -------------------------------------------------------------------

// One operand as the launcher sees it: its data (at the view's offset) and its
// strides over the shared index space (stride 0 on broadcast dims).
struct OperandView {
  const void* data = nullptr;
  const int64_t* strides = nullptr;
};

// True when `strides` are the row-major dense strides of `sizes` (size-1 dims ignored).
inline bool dense_strides(const int64_t* sizes, const int64_t* strides, int ndim) {
  int64_t expected = 1;
  for (int d = ndim - 1; d >= 0; --d) {
    if (sizes[d] == 1) continue;
    if (strides[d] != expected) return false;
    expected *= sizes[d];
  }
  return true;
}

template <class T, class... R>
constexpr size_t widest() {
  if constexpr (sizeof...(R) == 0) return sizeof(T);
  else return sizeof(T) > widest<R...>() ? sizeof(T) : widest<R...>();
}

inline bool aligned_to(const void* p, size_t bytes) {
  return p == nullptr || reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

// out = f(inputs...) over `sizes` (ndim dims, at most kMaxDims), n elements,
// on `stream`. Out, A, B, C are the element types (unused ones: pass any).
// Picks map_v2_vectorized when every operand is dense and 16-byte aligned
// (at the vector width of the widest operand), else map_v1_strided.
template <int Arity, class Out, class A, class B, class C, class F>
void launch_map(const char* op, cudaStream_t stream, void* out, const int64_t* out_strides,
                const OperandView (&inputs)[Arity > 0 ? Arity : 1], const int64_t* sizes, int ndim, F f) {
  LOOM_CHECK(ndim <= kMaxDims, op, ": CUDA kernels take at most ", kMaxDims, " dims, got ", ndim);
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) n *= sizes[d];
  if (n == 0) return;
  Operands<Out, A, B, C> ops;
  ops.out = static_cast<Out*>(out);
  if constexpr (Arity >= 1) ops.a = static_cast<const A*>(inputs[0].data);
  if constexpr (Arity >= 2) ops.b = static_cast<const B*>(inputs[1].data);
  if constexpr (Arity >= 3) ops.c = static_cast<const C*>(inputs[2].data);

  // The vector width: 16 bytes of the widest operand type this map touches.
  constexpr size_t widest_bytes = Arity == 0   ? sizeof(Out)
                                  : Arity == 1 ? widest<Out, A>()
                                  : Arity == 2 ? widest<Out, A, B>()
                                               : widest<Out, A, B, C>();
  constexpr int V = static_cast<int>(16 / widest_bytes);
  bool vectorizable = V > 1 && dense_strides(sizes, out_strides, ndim) && aligned_to(out, sizeof(Out) * V);
  for (int k = 0; k < Arity && vectorizable; ++k) {
    const size_t elem = k == 0 ? sizeof(A) : k == 1 ? sizeof(B) : sizeof(C);
    vectorizable = dense_strides(sizes, inputs[k].strides, ndim) && aligned_to(inputs[k].data, elem * V);
  }

  if constexpr (V > 1) {
    if (vectorizable) {
      map_v2_vectorized<V, Arity><<<blocks_for((n + V - 1) / V), kThreads, 0, stream>>>(ops, n, f);
      LOOM_CUDA_CHECK_LAUNCH(op);
      return;
    }
  }
  // The index space with size-1 dims dropped and neighbours merged where every
  // operand steps through them as one dim (outer stride = inner stride * inner
  // size): the same offsets with fewer div/mod steps per element.
  MultiIndexer<Arity + 1> ix;
  for (int d = 0; d < ndim; ++d) {
    if (sizes[d] == 1) continue;
    int64_t st[Arity + 1];
    st[0] = out_strides[d];
    for (int k = 0; k < Arity; ++k) st[k + 1] = inputs[k].strides[d];
    bool merges = ix.ndim > 0;
    for (int k = 0; k <= Arity && merges; ++k) merges = ix.strides[k][ix.ndim - 1] == st[k] * sizes[d];
    const int target = merges ? ix.ndim - 1 : ix.ndim++;
    ix.sizes[target] = merges ? ix.sizes[target] * sizes[d] : sizes[d];
    for (int k = 0; k <= Arity; ++k) ix.strides[k][target] = st[k];
  }
  map_v1_strided<Arity><<<blocks_for(n), kThreads, 0, stream>>>(ops, ix, n, f);
  LOOM_CUDA_CHECK_LAUNCH(op);
}

// out = f(inputs...) into a new dense tensor of `shape` and `out_dtype` on the
// inputs' device, each input read broadcast to `shape` (NumPy rules; the
// caller has computed `shape` with broadcast_shapes).
template <class Out, class A, class B, class C, int Arity, class F>
Tensor map_to_new(const char* op, const Shape& shape, DType out_dtype, const Tensor* const (&inputs)[Arity], F f) {
  static_assert(Arity >= 1, "map_to_new needs at least one input (its device)");
  Tensor out = empty_on(shape, out_dtype, *inputs[0]);
  if (out.numel() == 0) return out;
  set_device_of(out);
  StridedIndexer in_ix[Arity];
  OperandView views[Arity];
  for (int k = 0; k < Arity; ++k) {
    in_ix[k] = make_broadcast_indexer(*inputs[k], shape, op);
    views[k] = {inputs[k]->raw_data(), in_ix[k].strides};
  }
  const StridedIndexer out_ix = make_indexer(out, op);
  launch_map<Arity, Out, A, B, C>(op, stream_of(out), out.raw_data(), out_ix.strides, views, out_ix.sizes,
                                  out_ix.ndim, f);
  return out;
}

}  // namespace loom::cuda::elementwise
