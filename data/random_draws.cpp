// random_draws.cpp: scalar and small-vector random draws (random_draws.h)
// through the Philox tensor factories.
#include "data/random_draws.h"

#include "tensor/error.h"

namespace loom::data {

double draw_uniform(Generator& gen, double lo, double hi) { return uniform({1}, lo, hi, gen, DType::Float64).item(); }

double draw_normal(Generator& gen, double mean, double std) {
  return normal({1}, mean, std, gen, DType::Float64).item();
}

int64_t draw_int(Generator& gen, int64_t lo, int64_t hi) {
  LOOM_CHECK(lo < hi, "draw_int: empty range [", lo, ", ", hi, ")");
  return static_cast<int64_t>(randint(lo, hi, {1}, gen).item());
}

bool draw_bool(Generator& gen, double p) { return draw_uniform(gen, 0.0, 1.0) < p; }

std::vector<double> draw_uniforms(Generator& gen, int64_t n, double lo, double hi) {
  if (n <= 0) return {};
  return uniform({n}, lo, hi, gen, DType::Float64).to_vector<double>();
}

std::vector<double> draw_normals(Generator& gen, int64_t n, double mean, double std) {
  if (n <= 0) return {};
  return normal({n}, mean, std, gen, DType::Float64).to_vector<double>();
}

}  // namespace loom::data
