// gemm_ukernels.h: the register micro-kernels of the packed GEMM (gemm.cpp).
//
// A micro-kernel computes one MR x NR tile of C from two packed panels:
//
//   a: MR x kc, stored k-major:  a[k * MR + r] = A(i0 + r, k0 + k)
//   b: kc x NR, k-major:         b[k * ldb + c] = B(k0 + k, j0 + c)
//      (ldb = NR for a packed panel; the row stride of B itself when B is
//      read in place, see gemm.cpp)
//
//   acc (MR, NR) = sum_k  a[k, :]^T  b[k, :]      (a rank-1 update per k)
//   C tile       = alpha * acc + beta * C tile     (beta == 0: C not read)
//
// The whole MR x NR accumulator lives in SIMD registers for the full k loop:
// per k it loads NR/W vectors of b (W lanes each), broadcasts the MR scalars of
// a one at a time, and issues MR * NR/W fused multiply-adds. C is touched only
// once per tile, at the end. Why this is fast:
//   - each loaded b vector is reused MR times and each broadcast a value NR/W
//     times, so loads per FMA are (MR + NR/W) / (MR * NR/W): for 12 x 32 floats
//     on AVX-512 that is 14 loads for 24 FMAs;
//   - the MR * NR/W accumulators are independent chains, enough to hide the
//     FMA latency (4 cycles on Zen 4 / Skylake) at full FMA throughput;
//   - the registers must hold acc + the b vectors + one broadcast:
//     AVX-512 has 32 zmm: 12 x 2 acc + 2 b + 1 a = 27 (14 x 2 fits too, at 31);
//     AVX2 has 16 ymm: 6 x 2 acc + 2 b + 1 a = 15.
// Edge tiles (fewer than MR rows or NR columns of C left) still run the full
// kernel on the zero-padded panels and copy only the valid part out.
//
// Three families, all the same template over a tiny "vector traits" type:
//   Avx512Traits<T>  (__m512, 16 floats / 8 doubles)  when __AVX512F__
//   Avx2Traits<T>    (__m256,  8 floats / 4 doubles)  when __AVX2__ && __FMA__
//   portable_kernel  plain C++ loops (the compiler may vectorise them)
#pragma once
#include <cstdint>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace loom::cpu::gemm_detail {

// How a finished tile is merged into C (see the header comment):
//   C = alpha * acc + beta * C, and beta == 0 means C is never read.
template <class T>
inline void store_tile_scalar(const T* tile, int64_t ld_tile, T* C, int64_t rs_c, int64_t m_valid, int64_t n_valid,
                              T alpha, T beta) {
  for (int64_t r = 0; r < m_valid; ++r) {
    const T* t = tile + r * ld_tile;
    T* c = C + r * rs_c;
    if (beta == T(0)) {
      for (int64_t j = 0; j < n_valid; ++j) c[j] = alpha * t[j];
    } else if (beta == T(1)) {
      for (int64_t j = 0; j < n_valid; ++j) c[j] = alpha * t[j] + c[j];
    } else {
      for (int64_t j = 0; j < n_valid; ++j) c[j] = alpha * t[j] + beta * c[j];
    }
  }
}

// ---------------------------------------------------------------------------
// Portable micro-kernel: the same algorithm in plain C++ (the fallback on CPUs
// without AVX2, and a readable statement of what the SIMD kernels do).
template <class T, int MR_, int NR_>
struct PortableKernel {
  static constexpr int MR = MR_;
  static constexpr int NR = NR_;
  static void run(int64_t kc, const T* __restrict a, const T* __restrict b, int64_t ldb, T* C, int64_t rs_c,
                  int64_t m_valid, int64_t n_valid, T alpha, T beta) {
    T acc[MR][NR] = {};  // (MR, NR)
    for (int64_t k = 0; k < kc; ++k) {
      for (int r = 0; r < MR; ++r) {
        const T ar = a[k * MR + r];
        for (int c = 0; c < NR; ++c) acc[r][c] += ar * b[k * ldb + c];  // acc += a[k,:]^T b[k,:]
      }
    }
    store_tile_scalar(&acc[0][0], NR, C, rs_c, m_valid, n_valid, alpha, beta);
  }
};

// ---------------------------------------------------------------------------
// SIMD micro-kernel, generic over the vector traits V:
//   V::W lanes; V::vec the register type; load (aligned), loadu/storeu,
//   set1 (broadcast), fmadd(a, b, c) = a * b + c, mul, add, zero.
#if defined(__AVX2__) && defined(__FMA__)
#define LOOM_GEMM_HAVE_SIMD 1

template <class V, int MR_, int NV>
struct SimdKernel {
  using T = typename V::scalar;
  static constexpr int MR = MR_;
  static constexpr int NR = NV * V::W;

  static void run(int64_t kc, const T* __restrict a, const T* __restrict b, int64_t ldb, T* C, int64_t rs_c,
                  int64_t m_valid, int64_t n_valid, T alpha, T beta) {
    using vec = typename V::vec;
    vec acc[MR][NV];  // (MR, NR) in MR * NV registers
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = V::zero();

    // Warm the cache lines of the C tile we will write at the end.
    if (m_valid == MR)
      for (int r = 0; r < MR; ++r) {
        _mm_prefetch(reinterpret_cast<const char*>(C + r * rs_c), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(C + r * rs_c + NR - 1), _MM_HINT_T0);
      }

    for (int64_t k = 0; k < kc; ++k) {
      vec bv[NV];  // b[k, :] as NV vectors
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) bv[v] = V::loadu(b + v * V::W);
      _mm_prefetch(reinterpret_cast<const char*>(a + 8 * MR), _MM_HINT_T0);  // A, 8 steps ahead
#pragma GCC unroll 32
      for (int r = 0; r < MR; ++r) {
        const vec ar = V::set1(a[r]);  // broadcast A(i0 + r, k)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[r][v] = V::fmadd(ar, bv[v], acc[r][v]);  // acc[r,:] += a[r] b[k,:]
      }
      a += MR;
      b += ldb;
    }

    const vec alpha_v = V::set1(alpha);
    if (m_valid == MR && n_valid == NR) {
      // Full tile: merge straight into C.
      if (beta == T(0)) {
        for (int r = 0; r < MR; ++r)
          for (int v = 0; v < NV; ++v) V::storeu(C + r * rs_c + v * V::W, V::mul(alpha_v, acc[r][v]));  // alpha acc
      } else if (beta == T(1)) {
        for (int r = 0; r < MR; ++r)
          for (int v = 0; v < NV; ++v) {
            T* c = C + r * rs_c + v * V::W;
            V::storeu(c, V::fmadd(alpha_v, acc[r][v], V::loadu(c)));  // alpha acc + C
          }
      } else {
        const vec beta_v = V::set1(beta);
        for (int r = 0; r < MR; ++r)
          for (int v = 0; v < NV; ++v) {
            T* c = C + r * rs_c + v * V::W;
            V::storeu(c, V::fmadd(alpha_v, acc[r][v], V::mul(beta_v, V::loadu(c))));  // alpha acc + beta C
          }
      }
    } else {
      // Edge tile: spill the accumulators and copy the valid part.
      alignas(64) T tile[MR * NR];  // (MR, NR)
      for (int r = 0; r < MR; ++r)
        for (int v = 0; v < NV; ++v) V::storeu(tile + r * NR + v * V::W, acc[r][v]);
      store_tile_scalar(tile, NR, C, rs_c, m_valid, n_valid, alpha, beta);
    }
  }
};

template <class T>
struct Avx2Traits;
template <>
struct Avx2Traits<float> {
  using scalar = float;
  using vec = __m256;
  static constexpr int W = 8;
  static vec zero() { return _mm256_setzero_ps(); }
  static vec load(const float* p) { return _mm256_load_ps(p); }
  static vec loadu(const float* p) { return _mm256_loadu_ps(p); }
  static void storeu(float* p, vec x) { _mm256_storeu_ps(p, x); }
  static vec set1(float x) { return _mm256_set1_ps(x); }
  static vec fmadd(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
  static vec mul(vec a, vec b) { return _mm256_mul_ps(a, b); }
};
template <>
struct Avx2Traits<double> {
  using scalar = double;
  using vec = __m256d;
  static constexpr int W = 4;
  static vec zero() { return _mm256_setzero_pd(); }
  static vec load(const double* p) { return _mm256_load_pd(p); }
  static vec loadu(const double* p) { return _mm256_loadu_pd(p); }
  static void storeu(double* p, vec x) { _mm256_storeu_pd(p, x); }
  static vec set1(double x) { return _mm256_set1_pd(x); }
  static vec fmadd(vec a, vec b, vec c) { return _mm256_fmadd_pd(a, b, c); }
  static vec mul(vec a, vec b) { return _mm256_mul_pd(a, b); }
};
#endif  // __AVX2__ && __FMA__

#if defined(__AVX512F__)
#define LOOM_GEMM_HAVE_AVX512 1
template <class T>
struct Avx512Traits;
template <>
struct Avx512Traits<float> {
  using scalar = float;
  using vec = __m512;
  static constexpr int W = 16;
  static vec zero() { return _mm512_setzero_ps(); }
  static vec load(const float* p) { return _mm512_load_ps(p); }
  static vec loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, vec x) { _mm512_storeu_ps(p, x); }
  static vec set1(float x) { return _mm512_set1_ps(x); }
  static vec fmadd(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
  static vec mul(vec a, vec b) { return _mm512_mul_ps(a, b); }
};
template <>
struct Avx512Traits<double> {
  using scalar = double;
  using vec = __m512d;
  static constexpr int W = 8;
  static vec zero() { return _mm512_setzero_pd(); }
  static vec load(const double* p) { return _mm512_load_pd(p); }
  static vec loadu(const double* p) { return _mm512_loadu_pd(p); }
  static void storeu(double* p, vec x) { _mm512_storeu_pd(p, x); }
  static vec set1(double x) { return _mm512_set1_pd(x); }
  static vec fmadd(vec a, vec b, vec c) { return _mm512_fmadd_pd(a, b, c); }
  static vec mul(vec a, vec b) { return _mm512_mul_pd(a, b); }
};
#endif  // __AVX512F__

}  // namespace loom::cpu::gemm_detail
