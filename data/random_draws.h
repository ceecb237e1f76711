// random_draws.h: single random numbers (and short vectors of them) drawn from a
// loom::Generator, for the data code that makes a few scalar choices at a time:
// a transform's crop corner, a fabric thread's offset, a synthesized defect's
// position. Each draw goes through the tensor factories of tensor/random.h, so
// it claims counter blocks from the generator like any other draw and a
// (seed, offset) state replays it exactly.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/random.h"

namespace loom::data {

// U[lo, hi) in double precision.
double draw_uniform(Generator& gen, double lo, double hi);
// N(mean, std^2).
double draw_normal(Generator& gen, double mean, double std);
// An integer uniform in [lo, hi); requires lo < hi.
int64_t draw_int(Generator& gen, int64_t lo, int64_t hi);
// True with probability p.
bool draw_bool(Generator& gen, double p);
// n numbers U[lo, hi) / N(mean, std^2) in one draw.
std::vector<double> draw_uniforms(Generator& gen, int64_t n, double lo, double hi);
std::vector<double> draw_normals(Generator& gen, int64_t n, double mean, double std);

}  // namespace loom::data
