// noise.cpp: periodic value noise (noise.h).
#include "data/fabric/noise.h"

#include <algorithm>
#include <cmath>

#include "data/pixel_math.h"
#include "tensor/error.h"

namespace loom::data::fabric {

PeriodicNoise::PeriodicNoise(int64_t rows, int64_t cols, Generator& gen) : rows_(rows), cols_(cols) {
  LOOM_CHECK(rows >= 1 && cols >= 1, "PeriodicNoise: lattice must be at least 1x1, got ", rows, "x", cols);
  values_ = rand({rows, cols}, gen).to_vector<float>();
}

namespace {

// floor(x) split into an index wrapped into [0, n) and the fraction in [0, 1).
inline void wrap_cell(double x, int64_t n, int64_t* i0, int64_t* i1, float* frac) {
  const double fl = std::floor(x);
  *frac = static_cast<float>(x - fl);
  int64_t i = static_cast<int64_t>(fl) % n;
  if (i < 0) i += n;
  *i0 = i;
  *i1 = (i + 1 == n) ? 0 : i + 1;
}

}  // namespace

float PeriodicNoise::at(double row, double col) const {
  int64_t r0, r1, c0, c1;
  float fr, fc;
  wrap_cell(row, rows_, &r0, &r1, &fr);
  wrap_cell(col, cols_, &c0, &c1, &fc);
  const float sr = smoothstep01(fr), sc = smoothstep01(fc);
  const float* v = values_.data();
  const float top = v[r0 * cols_ + c0] + sc * (v[r0 * cols_ + c1] - v[r0 * cols_ + c0]);
  const float bottom = v[r1 * cols_ + c0] + sc * (v[r1 * cols_ + c1] - v[r1 * cols_ + c0]);
  return top + sr * (bottom - top);
}

int64_t lattice_cells(double extent, double feature_px) {
  LOOM_CHECK(feature_px > 0, "lattice_cells: feature size must be positive, got ", feature_px);
  return std::max<int64_t>(2, static_cast<int64_t>(std::llround(extent / feature_px)));
}

}  // namespace loom::data::fabric
