// noise.h: periodic value noise, the smooth random fields behind the fabric's
// thread meander, slubs (thickness changes along a yarn), hairiness and stain
// outlines. A field is a lattice of (rows, cols) random values in [0, 1);
// sampling at a point interpolates the four surrounding lattice values with the
// smoothstep weight s(f) = f^2 (3 - 2 f), so the field is C1-continuous.
// Coordinates are in lattice cells and wrap modulo the lattice size: a field
// whose lattice spans exactly the image is seamless across the image borders.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/random.h"

namespace loom::data::fabric {

class PeriodicNoise {
 public:
  PeriodicNoise() = default;
  // rows, cols >= 1 lattice cells; values drawn from gen.
  PeriodicNoise(int64_t rows, int64_t cols, Generator& gen);

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  // The field at (row, col) in lattice units, in [0, 1).
  float at(double row, double col) const;
  // A 1-D field: the first lattice row only.
  float at(double col) const { return at(0.0, col); }

 private:
  int64_t rows_ = 0, cols_ = 0;
  std::vector<float> values_;  // (rows, cols)
};

// Number of lattice cells across `extent` pixels for features about `feature_px`
// wide: rounded to the nearest integer so that the lattice tiles the extent
// exactly, and at least 2 (one cell would make the field constant).
int64_t lattice_cells(double extent, double feature_px);

}  // namespace loom::data::fabric
