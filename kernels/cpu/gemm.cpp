// gemm.cpp: loom's CPU matrix product, a BLIS-style packed, cache-blocked GEMM
//
//   C (M, N) = alpha * A (M, K) @ B (K, N) + beta * C
//
// and gemm_reference, the plain triple loop kept as the oracle.
//
// ---- Why not the triple loop? ------------------------------------------------
// The triple loop does 2 flops per element it loads. A core can do 32 fp32 flops
// per cycle (two 8-wide FMA pipes on Zen 4) but load only a few elements per
// cycle from L1 and far fewer from memory. Speed comes from REUSE: keep a small
// block of C in registers, a block of A in L2, a block of B in L1/L3, and do as
// many flops as possible on each before it is evicted.
//
// ---- The loop nest (Goto / BLIS) ----------------------------------------------
//   for jc in 0..N step NC                 B block  (KC x NC) lives in L3
//     for pc in 0..K step KC               (K split into near-equal blocks <= KC)
//       pack B(pc:pc+KC, jc:jc+NC) into NR-column micro-panels      [all threads]
//       for ic in 0..M step MC             [split over threads]  A block (MC x KC) in L2
//         pack A(ic:ic+MC, pc:pc+KC) into MR-row micro-panels       [per thread]
//         for jr in 0..NC step NR          one B micro-panel (KC x NR), reused MC/MR times
//           for ir in 0..MC step MR        A micro-panels stream in
//             micro-kernel: C(ir:ir+MR, jr:jr+NR) (+)= A panel @ B panel
//
// Packing copies each block into the exact order the micro-kernel reads it
// (k-major, MR or NR values per k, contiguous and 64-byte aligned), so the
// inner loop reads memory strictly sequentially whatever the strides of A and
// B were: a transposed view costs nothing extra. Panels at the edges are
// zero-padded to full MR / NR, so the micro-kernel never branches on size; the
// padding rows/columns of the tile are simply not written back. Row-major A
// panels (and transposed B panels) are packed 16 x 16 at a time through an
// in-register transpose (AVX-512 builds). When A has few rows (M <= 96) a
// row-major B is not copied at all: the micro-kernel reads its rows in place
// (packing would cost as much as it saves when each B value is used < 96 times).
//
// ---- The micro-kernel (gemm_ukernels.h) -----------------------------------------
// An MR x NR tile of C held in registers: AVX-512 12 x 32 floats (24 zmm
// accumulators), AVX2 6 x 16 (12 ymm); per k one rank-1 update
// acc += a(:, k) b(k, :). See gemm_ukernels.h for the register budget.
//
// ---- Block sizes (float, measured on a 2-core Zen 4 EPYC) -------------------------
// 32 KiB L1d and 1 MiB L2 per core, 32 MiB L3; fp32 peak 2 x 115 GFLOP/s.
//   KC = 512: every C tile is loaded and stored once per K block, so a deep
//             block halves that traffic against the textbook L1-sized KC = 256
//             (1024^3 on 2 threads: ~200 -> ~215 GFLOP/s). The B micro-panel
//             (512 x 32 floats, 64 KiB) then sits in L2, the A micro-panel
//             (12 x 512, 24 KiB) in L1; the hardware prefetchers keep the
//             kernel fed.
//   MC = 96:  A block 96 x 512 floats = 192 KiB, well inside L2 next to the
//             B micro-panel; small enough that M = 256 still splits evenly.
//   NC = 4096: B block 512 x 4096 floats = 8 MiB, shared in L3.
// 12 x 32, 14 x 32, 8 x 48, 6 x 64 (AVX-512) and 6 x 16 (AVX2) tiles all ran
// within a few percent of each other at n = 1024 (Zen 4 splits a 512-bit FMA
// into two 256-bit halves, so both ISAs have the same peak); 12 x 32 wasted
// the least on edge tiles at n = 256. `GemmConfig` overrides the block sizes
// (bench_matmul's BM_GemmBlocking sweeps them).
//
// ---- Determinism ---------------------------------------------------------------
// Each C element is summed as: for each K block in order, an FMA chain over the
// block in k order (in one register lane), then C = alpha * acc + beta * C on
// the first block and C = alpha * acc + C on the next ones. The K blocks depend
// only on K and KC, never on the thread count, and each C tile is written by
// one thread, so the result is bit-identical for any number of OpenMP threads.
// Threads split the M blocks (and, when M is too small to feed every thread,
// also the NR panels of the B block); K is never split.
#include "kernels/cpu/gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

#include "kernels/cpu/gemm_ukernels.h"
#include "tensor/error.h"

namespace loom::cpu {

namespace {

using namespace gemm_detail;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// ---- scratch memory -------------------------------------------------------------
// Packed blocks live in per-thread, grow-only, 64-byte aligned buffers, so a
// GEMM allocates (and page-faults) only the first time a size is seen. Slot 0
// holds the packed A blocks (one slice per thread of the team), slot 1 the
// packed B block, of a gemm call that this thread started.
struct ScratchBuffer {
  void* data = nullptr;
  size_t bytes = 0;
  ~ScratchBuffer() { std::free(data); }
  void* get(size_t want) {
    if (want > bytes) {
      std::free(data);
      bytes = round_up(static_cast<int64_t>(want), 4096);
      data = std::aligned_alloc(64, bytes);
      if (!data) {
        bytes = 0;
        throw std::bad_alloc();
      }
    }
    return data;
  }
};

template <class T>
T* scratch(int slot, int64_t elements) {
  thread_local ScratchBuffer buffers[2];
  return static_cast<T*>(buffers[slot].get(static_cast<size_t>(elements) * sizeof(T)));
}

// ---- packing ------------------------------------------------------------------------
#ifdef LOOM_GEMM_HAVE_AVX512
// In-register transpose of a 16 x 16 float block: lane j of v[i] <-> lane i of v[j].
// (The maskz forms with an all-ones mask are the plain instructions; they avoid
// GCC 12's false "may be used uninitialized" warning on the unmasked intrinsics.)
inline void transpose16x16(__m512 v[16]) {
  constexpr __mmask16 all16 = 0xFFFF;
  constexpr __mmask8 all8 = 0xFF;
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {  // interleave pairs of rows (32-bit elements)
    t[2 * i] = _mm512_maskz_unpacklo_ps(all16, v[2 * i], v[2 * i + 1]);
    t[2 * i + 1] = _mm512_maskz_unpackhi_ps(all16, v[2 * i], v[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // then pairs of pairs (64-bit elements)
    const __m512d t0 = _mm512_castps_pd(t[4 * i]), t1 = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d t2 = _mm512_castps_pd(t[4 * i + 2]), t3 = _mm512_castps_pd(t[4 * i + 3]);
    v[4 * i] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(all8, t0, t2));
    v[4 * i + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(all8, t0, t2));
    v[4 * i + 2] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(all8, t1, t3));
    v[4 * i + 3] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(all8, t1, t3));
  }
  for (int i = 0; i < 4; ++i) {  // then 128-bit blocks, twice
    t[i] = _mm512_maskz_shuffle_f32x4(all16, v[i], v[i + 4], 0x88);
    t[i + 4] = _mm512_maskz_shuffle_f32x4(all16, v[i], v[i + 4], 0xdd);
    t[i + 8] = _mm512_maskz_shuffle_f32x4(all16, v[i + 8], v[i + 12], 0x88);
    t[i + 12] = _mm512_maskz_shuffle_f32x4(all16, v[i + 8], v[i + 12], 0xdd);
  }
  for (int i = 0; i < 8; ++i) {
    v[i] = _mm512_maskz_shuffle_f32x4(all16, t[i], t[i + 8], 0x88);
    v[i + 8] = _mm512_maskz_shuffle_f32x4(all16, t[i], t[i + 8], 0xdd);
  }
}

// Packs up to 16 "strips" that are contiguous along k (rows of a row-major A,
// or columns of a transposed B) into k-major order:
//   dst[k * ld + l] = src[l][k]   for l < n_src, k < kcur; lanes l >= n_src get 0.
// Sixteen k at a time go through a register transpose, so both the reads and
// the writes are whole vectors; `lanes` (<= 16) is how many values are stored
// per k (MR for A panels, 16 for each half of a 32-wide B panel).
inline void pack_strips_avx512(const float* const* src, int n_src, int lanes, int64_t kcur, float* dst, int64_t ld) {
  const __mmask16 mask = static_cast<__mmask16>((1u << lanes) - 1u);
  int64_t k = 0;
  for (; k + 16 <= kcur; k += 16) {
    __m512 v[16];
    for (int l = 0; l < 16; ++l) v[l] = l < n_src ? _mm512_loadu_ps(src[l] + k) : _mm512_setzero_ps();
    transpose16x16(v);  // v[kk] lane l = src[l][k + kk]
    for (int kk = 0; kk < 16; ++kk) _mm512_mask_storeu_ps(dst + (k + kk) * ld, mask, v[kk]);
  }
  for (; k < kcur; ++k)
    for (int l = 0; l < lanes; ++l) dst[k * ld + l] = l < n_src ? src[l][k] : 0.0f;
}
#endif

// A block (mcur rows, kcur cols, element (i, k) at A[i rs_a + k cs_a]) ->
// ceil(mcur / MR) panels, each (kcur, MR) k-major: dst[k MR + r] = A(p MR + r, k),
// rows past mcur zero.
template <int MR, class T>
void pack_a(int64_t mcur, int64_t kcur, const T* A, int64_t rs_a, int64_t cs_a, T* dst) {
  for (int64_t i0 = 0; i0 < mcur; i0 += MR, dst += MR * kcur) {
    const int64_t rows = std::min<int64_t>(MR, mcur - i0);
    const T* a = A + i0 * rs_a;
#ifdef LOOM_GEMM_HAVE_AVX512
    if constexpr (std::is_same_v<T, float> && MR <= 16) {
      if (cs_a == 1) {  // row-major A: transpose 16 x 16 blocks in registers
        const float* rows_src[16];
        for (int64_t r = 0; r < rows; ++r) rows_src[r] = a + r * rs_a;
        pack_strips_avx512(rows_src, static_cast<int>(rows), MR, kcur, dst, MR);
        continue;
      }
    }
#endif
    if (std::abs(cs_a) <= std::abs(rs_a)) {
      // Rows of A are (nearly) contiguous: read along k, write with stride MR.
      for (int64_t r = 0; r < rows; ++r) {
        const T* src = a + r * rs_a;
        for (int64_t k = 0; k < kcur; ++k) dst[k * MR + r] = src[k * cs_a];
      }
      for (int64_t r = rows; r < MR; ++r)
        for (int64_t k = 0; k < kcur; ++k) dst[k * MR + r] = T(0);
    } else {
      // Columns of A are contiguous (a transposed view): read along i.
      for (int64_t k = 0; k < kcur; ++k) {
        const T* src = a + k * cs_a;
        T* d = dst + k * MR;
        for (int64_t r = 0; r < rows; ++r) d[r] = src[r * rs_a];
        for (int64_t r = rows; r < MR; ++r) d[r] = T(0);
      }
    }
  }
}

// One B micro-panel (kcur rows, cols <= NR columns, element (k, j) at
// B[k rs_b + j cs_b]) -> (kcur, NR) k-major: dst[k NR + c] = B(k, c), columns
// past `cols` zero.
template <int NR, class T>
void pack_b_panel(int64_t kcur, int64_t cols, const T* B, int64_t rs_b, int64_t cs_b, T* dst) {
  if (cs_b == 1) {
    // Rows of B are contiguous: copy NR values per k.
    for (int64_t k = 0; k < kcur; ++k) {
      const T* src = B + k * rs_b;
      T* d = dst + k * NR;
      if (cols == NR) {
        std::memcpy(d, src, NR * sizeof(T));
      } else {
        for (int64_t c = 0; c < cols; ++c) d[c] = src[c];
        for (int64_t c = cols; c < NR; ++c) d[c] = T(0);
      }
    }
  } else if (std::abs(rs_b) <= std::abs(cs_b)) {
    // Columns of B are (nearly) contiguous (a transposed view): read along k.
#ifdef LOOM_GEMM_HAVE_AVX512
    if constexpr (std::is_same_v<T, float> && NR % 16 == 0) {
      if (rs_b == 1) {  // transpose 16 columns at a time in registers
        for (int c0 = 0; c0 < NR; c0 += 16) {
          const float* cols_src[16];
          const int n_src = static_cast<int>(std::clamp<int64_t>(cols - c0, 0, 16));
          for (int c = 0; c < n_src; ++c) cols_src[c] = B + (c0 + c) * cs_b;
          pack_strips_avx512(cols_src, n_src, 16, kcur, dst + c0, NR);
        }
        return;
      }
    }
#endif
    for (int64_t c = 0; c < cols; ++c) {
      const T* src = B + c * cs_b;
      for (int64_t k = 0; k < kcur; ++k) dst[k * NR + c] = src[k * rs_b];
    }
    for (int64_t k = 0; k < kcur; ++k)
      for (int64_t c = cols; c < NR; ++c) dst[k * NR + c] = T(0);
  } else {
    for (int64_t k = 0; k < kcur; ++k) {
      const T* src = B + k * rs_b;
      T* d = dst + k * NR;
      for (int64_t c = 0; c < cols; ++c) d[c] = src[c * cs_b];
      for (int64_t c = cols; c < NR; ++c) d[c] = T(0);
    }
  }
}

// C = beta * C over an M x N block (the whole answer when K == 0 or alpha == 0);
// beta == 0 writes zeros without reading C.
template <class T>
void scale_c(int64_t M, int64_t N, T beta, T* C, int64_t rs_c) {
#pragma omp parallel for schedule(static) if (M * N > 65536)
  for (int64_t i = 0; i < M; ++i) {
    T* c = C + i * rs_c;
    if (beta == T(0))
      for (int64_t j = 0; j < N; ++j) c[j] = T(0);
    else if (beta != T(1))
      for (int64_t j = 0; j < N; ++j) c[j] = beta * c[j];
  }
}

struct Blocking {
  int64_t mc, kc, nc;
};

// Up to this many rows of A, a row-major B is read in place instead of packed.
constexpr int64_t kInPlaceBMaxRows = 96;

// ---- the driver ---------------------------------------------------------------------
// Kernel: a micro-kernel type with MR, NR and
//   run(kc, a_panel, b_panel, ldb, C_tile, rs_c, m_valid, n_valid, alpha, beta).
template <class Kernel, class T>
void gemm_packed(Blocking blk, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rs_a, int64_t cs_a,
                 const T* B, int64_t rs_b, int64_t cs_b, T beta, T* C, int64_t rs_c) {
  constexpr int64_t MR = Kernel::MR, NR = Kernel::NR;
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == T(0)) {
    scale_c(M, N, beta, C, rs_c);  // C = beta C: A and B are not read
    return;
  }

  // K split into near-equal blocks of at most KC (depends on K only: determinism).
  const int64_t n_kblocks = ceil_div(K, std::max<int64_t>(1, blk.kc));
  const int64_t kc = ceil_div(K, n_kblocks);
  const int64_t nc = round_up(std::min(std::max<int64_t>(NR, blk.nc), N), NR);
  const int64_t row_tiles = ceil_div(M, MR);  // MR-row tiles of C
  const int64_t max_tiles_per_block = std::max<int64_t>(1, blk.mc / MR);

  // All scratch memory is claimed here, outside the parallel region, so an
  // allocation failure is an exception in the caller, not a terminate.
  const bool parallel = static_cast<double>(M) * N * K > 64.0 * 64 * 64 && !omp_in_parallel();
  const int64_t max_threads = parallel ? omp_get_max_threads() : 1;
  const int64_t a_slice = round_up(std::min(row_tiles, max_tiles_per_block) * MR * kc, 64 / sizeof(T));
  T* a_packs = scratch<T>(0, max_threads * a_slice);  // per thread: (tiles <= MC / MR, kc, MR)
  T* b_pack = scratch<T>(1, kc * nc);                 // (nc / NR) panels of (kc, NR)
  // Few rows of A (M <= 96): each B element is used by only a few rows, so
  // copying B costs about as much as it saves. A row-major B is then read in
  // place (its full NR-wide panels, row stride rs_b); only a ragged last panel
  // is packed, zero-padded. Same arithmetic either way, so the same bits.
  // (Measured, 2 threads, K = 576, N = 1024: M = 48 went from 145 to 215
  // GFLOP/s; for larger M the packed, contiguous panels win.)
  const bool b_in_place = cs_b == 1 && M <= kInPlaceBMaxRows;

  // (`parallel` above: small products are not worth waking the thread team;
  // inside a caller's parallel region, e.g. one gemm per batch item, the
  // calling thread does the whole product.)
#pragma omp parallel if (parallel)
  {
    const int64_t n_threads = omp_get_num_threads();
    T* a_pack = a_packs + omp_get_thread_num() * a_slice;
    // M blocks: at least one per thread (a multiple of the team size when
    // possible, for balance), each at most MC rows, made of whole MR tiles.
    int64_t n_ic = ceil_div(row_tiles, max_tiles_per_block);
    n_ic = std::min(row_tiles, round_up(n_ic, n_threads));

    for (int64_t jc = 0; jc < N; jc += nc) {
      const int64_t ncur = std::min(nc, N - jc);
      const int64_t n_panels = ceil_div(ncur, NR);  // NR-column panels of this B block
      // When there are fewer M blocks than threads, also split the B panels.
      const int64_t n_jg = n_ic >= n_threads ? 1 : std::min(n_panels, ceil_div(n_threads, n_ic));
      for (int64_t pc = 0; pc < K; pc += kc) {
        const int64_t kcur = std::min(kc, K - pc);
        const T beta_block = pc == 0 ? beta : T(1);  // later K blocks accumulate into C

#pragma omp for schedule(static)
        for (int64_t q = 0; q < n_panels; ++q) {
          const int64_t cols = std::min(NR, ncur - q * NR);
          if (b_in_place && cols == NR) continue;  // read in place below
          pack_b_panel<NR>(kcur, cols, B + pc * rs_b + (jc + q * NR) * cs_b, rs_b, cs_b, b_pack + q * NR * kcur);
        }
        // (implicit barrier: the B block is packed)

#pragma omp for schedule(static)
        for (int64_t item = 0; item < n_ic * n_jg; ++item) {
          const int64_t block = item / n_jg, group = item % n_jg;
          const int64_t tile0 = row_tiles * block / n_ic, tile1 = row_tiles * (block + 1) / n_ic;
          const int64_t ic = tile0 * MR;
          const int64_t mcur = std::min(tile1 * MR, M) - ic;
          const int64_t q0 = n_panels * group / n_jg, q1 = n_panels * (group + 1) / n_jg;
          pack_a<MR>(mcur, kcur, A + ic * rs_a + pc * cs_a, rs_a, cs_a, a_pack);
          for (int64_t q = q0; q < q1; ++q) {  // B micro-panel q is reused by ...
            const int64_t j = jc + q * NR;
            const int64_t n_valid = std::min(NR, N - j);
            const bool direct = b_in_place && n_valid == NR;
            const T* b_panel = direct ? B + pc * rs_b + j : b_pack + q * NR * kcur;  // (kcur, NR) rows ldb apart
            const int64_t ldb = direct ? rs_b : NR;
            for (int64_t i0 = 0; i0 < mcur; i0 += MR) {  // ... every A micro-panel of the block
              const int64_t m_valid = std::min(MR, mcur - i0);
              Kernel::run(kcur, a_pack + i0 * kcur, b_panel, ldb, C + (ic + i0) * rs_c + j, rs_c, m_valid, n_valid, alpha,
                          beta_block);
            }
          }
        }
        // (implicit barrier: the B block may be overwritten)
      }
    }
  }
}

// ---- kernel table -----------------------------------------------------------------------
// Tile shapes and default block sizes of each kernel, per element type.
template <class T>
struct Kernels;

template <>
struct Kernels<float> {
#ifdef LOOM_GEMM_HAVE_AVX512
  using Avx512 = SimdKernel<Avx512Traits<float>, 12, 2>;  // 12 x 32
  static constexpr Blocking avx512_blocking{96, 512, 4096};
#endif
#ifdef LOOM_GEMM_HAVE_SIMD
  using Avx2 = SimdKernel<Avx2Traits<float>, 6, 2>;  // 6 x 16
  static constexpr Blocking avx2_blocking{96, 512, 4096};
#endif
  using Portable = PortableKernel<float, 4, 16>;
  static constexpr Blocking portable_blocking{96, 256, 4096};
};

template <>
struct Kernels<double> {
#ifdef LOOM_GEMM_HAVE_AVX512
  using Avx512 = SimdKernel<Avx512Traits<double>, 12, 2>;  // 12 x 16
  static constexpr Blocking avx512_blocking{96, 256, 2048};
#endif
#ifdef LOOM_GEMM_HAVE_SIMD
  using Avx2 = SimdKernel<Avx2Traits<double>, 6, 2>;  // 6 x 8
  static constexpr Blocking avx2_blocking{96, 256, 2048};
#endif
  using Portable = PortableKernel<double, 4, 8>;
  static constexpr Blocking portable_blocking{96, 256, 2048};
};

GemmKernel resolve(GemmKernel kernel) {
  if (kernel != GemmKernel::Auto) return kernel;
#if defined(LOOM_GEMM_HAVE_AVX512)
  return GemmKernel::Avx512;
#elif defined(LOOM_GEMM_HAVE_SIMD)
  return GemmKernel::Avx2;
#else
  return GemmKernel::Portable;
#endif
}

Blocking with_overrides(Blocking b, const GemmConfig& cfg) {
  if (cfg.mc > 0) b.mc = cfg.mc;
  if (cfg.kc > 0) b.kc = cfg.kc;
  if (cfg.nc > 0) b.nc = cfg.nc;
  return b;
}

template <class T>
void gemm_dispatch(const GemmConfig& cfg, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rs_a,
                   int64_t cs_a, const T* B, int64_t rs_b, int64_t cs_b, T beta, T* C, int64_t rs_c) {
  using Ks = Kernels<T>;
  switch (resolve(cfg.kernel)) {
#ifdef LOOM_GEMM_HAVE_AVX512
    case GemmKernel::Avx512:
      return gemm_packed<typename Ks::Avx512>(with_overrides(Ks::avx512_blocking, cfg), M, N, K, alpha, A, rs_a,
                                              cs_a, B, rs_b, cs_b, beta, C, rs_c);
#endif
#ifdef LOOM_GEMM_HAVE_SIMD
    case GemmKernel::Avx2:
      return gemm_packed<typename Ks::Avx2>(with_overrides(Ks::avx2_blocking, cfg), M, N, K, alpha, A, rs_a, cs_a,
                                            B, rs_b, cs_b, beta, C, rs_c);
#endif
    case GemmKernel::Portable:
      return gemm_packed<typename Ks::Portable>(with_overrides(Ks::portable_blocking, cfg), M, N, K, alpha, A, rs_a,
                                                cs_a, B, rs_b, cs_b, beta, C, rs_c);
    default:
      detail::throw_error("gemm: kernel '", gemm_kernel_name(cfg.kernel), "' is not compiled into this build");
  }
}

}  // namespace

bool gemm_kernel_available(GemmKernel kernel) {
  switch (kernel) {
    case GemmKernel::Auto:
    case GemmKernel::Portable:
      return true;
    case GemmKernel::Avx2:
#ifdef LOOM_GEMM_HAVE_SIMD
      return true;
#else
      return false;
#endif
    case GemmKernel::Avx512:
#ifdef LOOM_GEMM_HAVE_AVX512
      return true;
#else
      return false;
#endif
  }
  return false;
}

const char* gemm_kernel_name(GemmKernel kernel, bool is_double) {
  switch (resolve(kernel)) {
    case GemmKernel::Avx512:
      return is_double ? "avx512 12x16 (f64)" : "avx512 12x32 (f32)";
    case GemmKernel::Avx2:
      return is_double ? "avx2 6x8 (f64)" : "avx2 6x16 (f32)";
    case GemmKernel::Portable:
      return is_double ? "portable 4x8 (f64)" : "portable 4x16 (f32)";
    default:
      return "unknown";
  }
}

void gemm(const GemmConfig& config, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t rs_a,
          int64_t cs_a, const float* B, int64_t rs_b, int64_t cs_b, float beta, float* C, int64_t rs_c) {
  gemm_dispatch<float>(config, M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c);
}
void gemm(const GemmConfig& config, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rs_a,
          int64_t cs_a, const double* B, int64_t rs_b, int64_t cs_b, double beta, double* C, int64_t rs_c) {
  gemm_dispatch<double>(config, M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c);
}

void gemm(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t rs_a, int64_t cs_a, const float* B,
          int64_t rs_b, int64_t cs_b, float beta, float* C, int64_t rs_c) {
  gemm_dispatch<float>(GemmConfig{}, M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c);
}
void gemm(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rs_a, int64_t cs_a,
          const double* B, int64_t rs_b, int64_t cs_b, double beta, double* C, int64_t rs_c) {
  gemm_dispatch<double>(GemmConfig{}, M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c);
}

// C = alpha A B + beta C by the definition, summed in double in k order.
void gemm_reference(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rs_a, int64_t cs_a,
                    const double* B, int64_t rs_b, int64_t cs_b, double beta, double* C, int64_t rs_c) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += A[i * rs_a + k * cs_a] * B[k * rs_b + j * cs_b];  // (A B)(i, j)
      C[i * rs_c + j] = alpha * s + (beta == 0 ? 0.0 : beta * C[i * rs_c + j]);
    }
}

}  // namespace loom::cpu
