// philox_stream.h: philox_stream(seed, offset), the Generator at Philox state
// (seed, offset). The trainers and their data sources draw each purpose (noise,
// dropout, pool image i, ...) from its own offset of the one seed, so the
// streams are independent and a run is reproducible from (seed, cursor).
#pragma once
#include <cstdint>

#include "tensor/random.h"

namespace loom::train {

inline Generator philox_stream(uint64_t seed, uint64_t offset) {
  Generator gen(seed);
  gen.set_state({seed, offset});
  return gen;
}

}  // namespace loom::train
