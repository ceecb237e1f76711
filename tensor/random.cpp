// random.cpp: CPU implementation of the Philox tensor factories (random.h).
// Compiled with FMA contraction off (CMakeLists.txt) so that the double-precision
// transforms in philox.h give the same bits as the CUDA kernel.
#include "tensor/random.h"

#include <algorithm>
#include <numeric>
#include <type_traits>

#include "tensor/cuda_runtime.h"
#include "tensor/philox.h"

namespace loom {

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

namespace {

uint64_t blocks_for(int64_t n, philox::Dist dist, bool is_double) {
  const uint64_t per = philox::elements_per_block(dist, is_double);
  return (static_cast<uint64_t>(n) + per - 1) / per;
}

// Fills dense t with element i = a + b * X_i, X_i from `dist`.
void fill_random(Tensor& t, philox::Dist dist, double a, double b, Generator& gen) {
  LOOM_CHECK(is_floating(t.dtype()) || (dist == philox::Dist::Bernoulli && t.dtype() == DType::UInt8),
             "random: cannot fill a ", dtype_name(t.dtype()), " tensor");
  const int64_t n = t.numel();
  const bool is_double = t.dtype() == DType::Float64;
  const uint64_t seed = gen.seed();
  const uint64_t offset = gen.reserve(blocks_for(n, dist, is_double));
  if (t.device().is_cuda()) {
    cuda_rt::philox_fill(t.raw_data(), n, static_cast<int>(t.dtype()), static_cast<int>(dist), a, b, seed, offset,
                         t.device().index);
    return;
  }
  LOOM_DISPATCH_ALL(t.dtype(), "random", [&] {
    scalar_t* p = t.data<scalar_t>();
    _Pragma("omp parallel for schedule(static) if (n > 65536)")
    for (int64_t i = 0; i < n; ++i) {
      double v = 0;
      switch (dist) {
        case philox::Dist::Uniform:
          if constexpr (std::is_floating_point_v<scalar_t>) {
            p[i] = philox::uniform_in_range<scalar_t>(a, b, philox::uniform_at(seed, offset, i, is_double));
            continue;
          }
          break;
        case philox::Dist::Normal: v = a + b * philox::normal_at(seed, offset, i); break;
        case philox::Dist::Bernoulli: v = philox::uniform_at(seed, offset, i, is_double) < a ? 1.0 : 0.0; break;
        default: break;
      }
      p[i] = static_cast<scalar_t>(v);
    }
  });
}

}  // namespace

Tensor uniform(const Shape& shape, double lo, double hi, Generator& gen, DType dtype, Device device) {
  LOOM_CHECK(lo <= hi, "uniform: lo ", lo, " is above hi ", hi);
  Tensor t = Tensor::empty(shape, dtype, device);
  fill_random(t, philox::Dist::Uniform, lo, hi - lo, gen);
  return t;
}

Tensor rand(const Shape& shape, Generator& gen, DType dtype, Device device) {
  return uniform(shape, 0.0, 1.0, gen, dtype, device);
}

Tensor normal(const Shape& shape, double mean, double std, Generator& gen, DType dtype, Device device) {
  LOOM_CHECK(std >= 0, "normal: std must be non-negative, got ", std);
  Tensor t = Tensor::empty(shape, dtype, device);
  fill_random(t, philox::Dist::Normal, mean, std, gen);
  return t;
}

Tensor randn(const Shape& shape, Generator& gen, DType dtype, Device device) {
  return normal(shape, 0.0, 1.0, gen, dtype, device);
}

Tensor bernoulli(const Shape& shape, double p, Generator& gen, DType dtype, Device device) {
  LOOM_CHECK(p >= 0 && p <= 1, "bernoulli: p must be in [0, 1], got ", p);
  Tensor t = Tensor::empty(shape, dtype, device);
  fill_random(t, philox::Dist::Bernoulli, p, 0.0, gen);
  return t;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen, Device device) {
  LOOM_CHECK(low < high, "randint: empty range [", low, ", ", high, ")");
  Tensor t = Tensor::empty(shape, DType::Int64, Device::cpu());
  const int64_t n = t.numel();
  const uint64_t seed = gen.seed();
  const uint64_t offset = gen.reserve(blocks_for(n, philox::Dist::Bits64, true));
  const uint64_t range = static_cast<uint64_t>(high - low);
  int64_t* p = t.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) p[i] = low + static_cast<int64_t>(philox::bits64_at(seed, offset, i) % range);
  return device.is_cpu() ? t : t.to(device);
}

Tensor randperm(int64_t n, Generator& gen, Device device) {
  LOOM_CHECK(n >= 0, "randperm: n must be non-negative, got ", n);
  const uint64_t seed = gen.seed();
  const uint64_t offset = gen.reserve(blocks_for(n, philox::Dist::Bits64, true));
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::vector<uint64_t> key(n);
  for (int64_t i = 0; i < n; ++i) key[i] = philox::bits64_at(seed, offset, i);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t x, int64_t y) { return key[x] < key[y]; });
  Tensor t = Tensor::from_vector(idx, {n});
  return device.is_cpu() ? t : t.to(device);
}

void uniform_(Tensor& t, double lo, double hi, Generator& gen) {
  Tensor fresh = uniform(t.shape(), lo, hi, gen, t.dtype(), t.device());
  t.copy_(fresh);
}

void normal_(Tensor& t, double mean, double std, Generator& gen) {
  Tensor fresh = normal(t.shape(), mean, std, gen, t.dtype(), t.device());
  t.copy_(fresh);
}

}  // namespace loom
