// philox.h: the Philox4x32-10 counter-based generator (Salmon et al., "Parallel
// random numbers: as easy as 1, 2, 3", SC 2011) and the transforms from its
// 32-bit words to uniform and normal numbers. Header-only and usable from CUDA
// device code, so that the CPU and the GPU compute the same bits.
//
// The stream: a draw that starts at generator offset `o` gives element i from
// block b = o + i / E (E elements per block, depends on the distribution); a
// block is philox(counter = {lo32(b), hi32(b), 0, 0}, key = {lo32(seed), hi32(seed)}).
//
// Bit-identical normals: Box-Muller needs log, sin and cos, and libm and CUDA
// may differ in the last bit. philox_log and philox_sincos_2pi below use only
// +, *, /, frexp/ldexp and explicit fma, each correctly rounded by IEEE 754 on
// both devices, so their double results are identical everywhere. (The file
// that calls them is compiled without FMA contraction.)
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define LOOM_HD __host__ __device__
#else
#define LOOM_HD
#endif

namespace loom::philox {

struct Block {
  uint32_t w[4];
};

LOOM_HD inline uint32_t mulhi32(uint32_t a, uint32_t b) {
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
}

// Ten rounds of Philox4x32 on counter c with key k.
LOOM_HD inline Block philox4x32_10(Block c, uint32_t k0, uint32_t k1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;  // round multipliers
  constexpr uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;  // Weyl key increments
  for (int round = 0; round < 10; ++round) {
    const uint32_t hi0 = mulhi32(M0, c.w[0]), lo0 = M0 * c.w[0];
    const uint32_t hi1 = mulhi32(M1, c.w[2]), lo1 = M1 * c.w[2];
    c = Block{{hi1 ^ c.w[1] ^ k0, lo1, hi0 ^ c.w[3] ^ k1, lo0}};
    k0 += W0;
    k1 += W1;
  }
  return c;
}

// The block with index `block` of the stream for `seed`.
LOOM_HD inline Block block_at(uint64_t seed, uint64_t block) {
  Block c{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0u, 0u}};
  return philox4x32_10(c, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// Uniform in [0, 1) with 24 random bits (float) or 53 (double).
LOOM_HD inline float uniform_float(uint32_t w) { return static_cast<float>(w >> 8) * (1.0f / 16777216.0f); }
LOOM_HD inline double uniform_double(uint32_t hi, uint32_t lo) {
  const uint64_t x = (static_cast<uint64_t>(hi) << 32) | lo;
  return static_cast<double>(x >> 11) * (1.0 / 9007199254740992.0);
}

// Natural log of x > 0 in double: x = m 2^e with m in [::sqrt(1/2), ::sqrt(2)),
// log m = 2 atanh(s) = 2 s (1 + s^2/3 + s^4/5 + ...), s = (m - 1) / (m + 1), |s| < 0.172.
LOOM_HD inline double philox_log(double x) {
  int e = 0;
  double m = ::frexp(x, &e);  // m in [0.5, 1)
  if (m < 0.70710678118654752440) {
    m = m * 2.0;
    e -= 1;
  }
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double p = 1.0 / 25.0;  // Horner over 1/(2k+1), k = 12 .. 0
  p = ::fma(p, s2, 1.0 / 23.0);
  p = ::fma(p, s2, 1.0 / 21.0);
  p = ::fma(p, s2, 1.0 / 19.0);
  p = ::fma(p, s2, 1.0 / 17.0);
  p = ::fma(p, s2, 1.0 / 15.0);
  p = ::fma(p, s2, 1.0 / 13.0);
  p = ::fma(p, s2, 1.0 / 11.0);
  p = ::fma(p, s2, 1.0 / 9.0);
  p = ::fma(p, s2, 1.0 / 7.0);
  p = ::fma(p, s2, 1.0 / 5.0);
  p = ::fma(p, s2, 1.0 / 3.0);
  p = ::fma(p, s2, 1.0);
  const double two_s = 2.0 * s;
  return ::fma(static_cast<double>(e), 0.69314718055994530942, two_s * p);
}

// sin and cos of 2 pi u for u in [0, 1): split into a quadrant q = floor(4u)
// and t = (4u - q) pi/2 in [0, pi/2), then Taylor series to degree 23.
LOOM_HD inline void philox_sincos_2pi(double u, double* sin_out, double* cos_out) {
  const double u4 = u * 4.0;  // exact
  const int q = static_cast<int>(u4);
  const double t = (u4 - static_cast<double>(q)) * 1.57079632679489661923;
  const double t2 = t * t;
  // sin t = t (1 - t^2/3! + t^4/5! - ...), cos t = 1 - t^2/2! + t^4/4! - ...
  double ps = -1.0 / 25852016738884976640000.0;  // -1/23!
  ps = ::fma(ps, t2, 1.0 / 51090942171709440000.0);  // 1/21!
  ps = ::fma(ps, t2, -1.0 / 121645100408832000.0);   // -1/19!
  ps = ::fma(ps, t2, 1.0 / 355687428096000.0);       // 1/17!
  ps = ::fma(ps, t2, -1.0 / 1307674368000.0);        // -1/15!
  ps = ::fma(ps, t2, 1.0 / 6227020800.0);            // 1/13!
  ps = ::fma(ps, t2, -1.0 / 39916800.0);             // -1/11!
  ps = ::fma(ps, t2, 1.0 / 362880.0);                // 1/9!
  ps = ::fma(ps, t2, -1.0 / 5040.0);                 // -1/7!
  ps = ::fma(ps, t2, 1.0 / 120.0);                   // 1/5!
  ps = ::fma(ps, t2, -1.0 / 6.0);                    // -1/3!
  ps = ::fma(ps, t2, 1.0);
  const double s = t * ps;
  double pc = 1.0 / 1124000727777607680000.0;      // 1/22!
  pc = ::fma(pc, t2, -1.0 / 2432902008176640000.0);  // -1/20!
  pc = ::fma(pc, t2, 1.0 / 6402373705728000.0);      // 1/18!
  pc = ::fma(pc, t2, -1.0 / 20922789888000.0);       // -1/16!
  pc = ::fma(pc, t2, 1.0 / 87178291200.0);           // 1/14!
  pc = ::fma(pc, t2, -1.0 / 479001600.0);            // -1/12!
  pc = ::fma(pc, t2, 1.0 / 3628800.0);               // 1/10!
  pc = ::fma(pc, t2, -1.0 / 40320.0);                // -1/8!
  pc = ::fma(pc, t2, 1.0 / 720.0);                   // 1/6!
  pc = ::fma(pc, t2, -1.0 / 24.0);                   // -1/4!
  pc = ::fma(pc, t2, 1.0 / 2.0);                     // 1/2!  (subtracted below)
  const double c = ::fma(-t2, pc, 1.0);
  switch (q & 3) {
    case 0: *sin_out = s; *cos_out = c; break;
    case 1: *sin_out = c; *cos_out = -s; break;
    case 2: *sin_out = -s; *cos_out = -c; break;
    default: *sin_out = -c; *cos_out = s; break;
  }
}

// Box-Muller: two uniforms in [0,1) -> two independent standard normals.
// 1 - u1 lies in (0, 1], so the log is finite.
LOOM_HD inline void box_muller(double u1, double u2, double* z0, double* z1) {
  const double r = ::sqrt(-2.0 * philox_log(1.0 - u1));
  double s, c;
  philox_sincos_2pi(u2, &s, &c);
  *z0 = r * c;
  *z1 = r * s;
}

// Rounding lo + width u (u < 1) to float can land exactly on the upper bound;
// keep results in [lo, hi) by stepping such values down one ulp.
LOOM_HD inline float below(float hi, float lo) { return ::nextafterf(hi, lo); }
LOOM_HD inline double below(double hi, double lo) { return ::nextafter(hi, lo); }
template <class T>
LOOM_HD inline T uniform_in_range(double lo, double width, double u) {
  const T r = static_cast<T>(lo + width * u);
  const T hi = static_cast<T>(lo + width);
  return (width > 0 && !(r < hi)) ? below(hi, static_cast<T>(lo)) : r;
}

// ---- per-element definitions, shared by the CPU loop and the CUDA kernel ----
// Each returns element i of a draw that starts at block `offset`.
enum class Dist : int { Uniform, Normal, Bernoulli, Bits64 };

// Elements per block: float uniform/bernoulli use one word each (4 per block);
// a double uniform, a 64-bit integer or a Box-Muller pair uses two words (2 per block).
LOOM_HD inline uint64_t elements_per_block(Dist d, bool is_double) {
  return (d == Dist::Bits64 || d == Dist::Normal || is_double) ? 2 : 4;
}

// Uniform in [0,1) for element i (float or double precision).
LOOM_HD inline double uniform_at(uint64_t seed, uint64_t offset, uint64_t i, bool is_double) {
  if (is_double) {
    const Block b = block_at(seed, offset + i / 2);
    const int k = static_cast<int>(i % 2) * 2;
    return uniform_double(b.w[k], b.w[k + 1]);
  }
  const Block b = block_at(seed, offset + i / 4);
  return uniform_float(b.w[i % 4]);
}

// Standard normal for element i: block offset + i/2 gives a Box-Muller pair
// from two 53-bit uniforms; even i takes the cosine branch, odd the sine.
LOOM_HD inline double normal_at(uint64_t seed, uint64_t offset, uint64_t i) {
  const Block b = block_at(seed, offset + i / 2);
  double z0, z1;
  box_muller(uniform_double(b.w[0], b.w[1]), uniform_double(b.w[2], b.w[3]), &z0, &z1);
  return (i % 2 == 0) ? z0 : z1;
}

// 64 random bits for element i (randint, permutation keys).
LOOM_HD inline uint64_t bits64_at(uint64_t seed, uint64_t offset, uint64_t i) {
  const Block b = block_at(seed, offset + i / 2);
  const int k = static_cast<int>(i % 2) * 2;
  return (static_cast<uint64_t>(b.w[k]) << 32) | b.w[k + 1];
}

}  // namespace loom::philox
