// random.h: the Philox random-number generator object and the tensor factories
// that draw from it. A Generator is (seed, offset): a draw of n numbers uses
// counter blocks offset, offset+1, ... and advances the offset past them, so
// saving and restoring (seed, offset) replays the same numbers, on the CPU or on
// CUDA (see philox.h for the exact stream).
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace loom {

class Generator {
 public:
  struct State {
    uint64_t seed = 0;
    uint64_t offset = 0;
    bool operator==(const State&) const = default;
  };

  explicit Generator(uint64_t seed = 0) : state_{seed, 0} {}
  uint64_t seed() const { return state_.seed; }
  uint64_t offset() const { return state_.offset; }
  State state() const { return state_; }
  void set_state(const State& s) { state_ = s; }
  void manual_seed(uint64_t seed) { state_ = {seed, 0}; }
  // Claims `blocks` counter blocks and returns the first one.
  uint64_t reserve(uint64_t blocks) {
    const uint64_t first = state_.offset;
    state_.offset += blocks;
    return first;
  }

 private:
  State state_;
};

// The process-wide generator used when none is given (seed 0 until manual_seed).
Generator& default_generator();
void manual_seed(uint64_t seed);

// U[lo, hi) in float32 or float64.
Tensor uniform(const Shape& shape, double lo, double hi, Generator& gen = default_generator(),
               DType dtype = DType::Float32, Device device = Device::cpu());
Tensor rand(const Shape& shape, Generator& gen = default_generator(), DType dtype = DType::Float32,
            Device device = Device::cpu());
// N(mean, std^2) by Box-Muller.
Tensor normal(const Shape& shape, double mean, double std, Generator& gen = default_generator(),
              DType dtype = DType::Float32, Device device = Device::cpu());
Tensor randn(const Shape& shape, Generator& gen = default_generator(), DType dtype = DType::Float32,
             Device device = Device::cpu());
// 1 with probability p, else 0 (float32, float64 or uint8).
Tensor bernoulli(const Shape& shape, double p, Generator& gen = default_generator(), DType dtype = DType::Float32,
                 Device device = Device::cpu());
// Integers uniform in [low, high), int64. (64 random bits reduced modulo the
// range: the bias is below range / 2^64.)
Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen = default_generator(),
               Device device = Device::cpu());
// A random permutation of 0..n-1 (int64): indices sorted by 64-bit random keys.
Tensor randperm(int64_t n, Generator& gen = default_generator(), Device device = Device::cpu());

// In place: fill an existing float tensor (used by initialisers).
void uniform_(Tensor& t, double lo, double hi, Generator& gen = default_generator());
void normal_(Tensor& t, double mean, double std, Generator& gen = default_generator());

}  // namespace loom
