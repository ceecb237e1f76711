// synth_test_util.h: helpers of the defect-synthesis tests (test_synth.cpp,
// test_synth_draws.cpp): 8-bit-grid noise images, the changed-pixel set
// computed here (not by the code under test), mask checks (exact for hard
// pastes, a superset for soft blends), seed determinism, bounding boxes.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "data/synth/synth.h"
#include "tensor/random.h"

namespace loom::data::synth {

// A (C, H, W) test image of random values on the 8-bit grid in [lo, hi]
// (the way images loaded from 8-bit files look).
inline Tensor noise_image(int64_t c, int64_t h, int64_t w, uint64_t seed, double lo = 0.15, double hi = 0.85) {
  Generator gen(seed);
  std::vector<float> v = uniform({c, h, w}, lo, hi, gen).to_vector<float>();
  for (float& x : v) x = std::round(x * 255.0f) / 255.0f;
  return Tensor::from_vector(v, {c, h, w});
}

// 1 where some channel of `after` differs from `before`.
inline std::vector<uint8_t> changed_bits(const Tensor& before, const Tensor& after) {
  const int64_t c = before.size(0), plane = before.size(1) * before.size(2);
  const std::vector<float> a = before.to_vector<float>(), b = after.to_vector<float>();
  std::vector<uint8_t> changed(static_cast<size_t>(plane), 0);
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t k = 0; k < plane; ++k)
      if (a[static_cast<size_t>(ch * plane + k)] != b[static_cast<size_t>(ch * plane + k)])
        changed[static_cast<size_t>(k)] = 1;
  return changed;
}

// The mask as 0/1 bytes, after checking its shape and that it holds only 0 and 1.
inline std::vector<uint8_t> mask_bits(const SynthResult& r, const Tensor& image) {
  EXPECT_EQ(r.mask.shape(), Shape({1, image.size(1), image.size(2)}));
  EXPECT_EQ(r.mask.dtype(), DType::Float32);
  std::vector<uint8_t> bits;
  for (float m : r.mask.to_vector<float>()) {
    EXPECT_TRUE(m == 0.0f || m == 1.0f) << "mask value " << m;
    bits.push_back(m == 1.0f ? 1 : 0);
  }
  return bits;
}

inline int64_t count(const std::vector<uint8_t>& bits) { return std::count(bits.begin(), bits.end(), 1); }

inline void expect_image_shape_and_range(const SynthResult& r, const Tensor& image) {
  ASSERT_EQ(r.image.shape(), image.shape());
  ASSERT_EQ(r.image.dtype(), DType::Float32);
  for (float v : r.image.to_vector<float>()) ASSERT_TRUE(v >= 0.0f && v <= 1.0f) << "value " << v;
}

// Hard paste: the mask is exactly the changed set, and not empty.
inline void expect_exact_mask(const Tensor& image, const SynthResult& r, const char* what) {
  expect_image_shape_and_range(r, image);
  const std::vector<uint8_t> mask = mask_bits(r, image), changed = changed_bits(image, r.image);
  EXPECT_GT(count(mask), 0) << what << ": empty mask";
  EXPECT_EQ(mask, changed) << what << ": mask != changed pixels (" << count(mask) << " vs " << count(changed) << ")";
}

// Soft blend: changed is a non-empty subset of the mask; outside the mask every
// value is bit-identical (changed_bits compares every channel exactly).
inline void expect_superset_mask(const Tensor& image, const SynthResult& r, const char* what) {
  expect_image_shape_and_range(r, image);
  const std::vector<uint8_t> mask = mask_bits(r, image), changed = changed_bits(image, r.image);
  EXPECT_GT(count(changed), 0) << what << ": nothing changed";
  for (size_t k = 0; k < mask.size(); ++k)
    if (changed[k] && !mask[k]) {
      ADD_FAILURE() << what << ": pixel " << k << " changed outside the mask";
      return;
    }
}

inline bool same_bytes(const Tensor& a, const Tensor& b) { return a.to_vector<float>() == b.to_vector<float>(); }

// Runs `method(image, gen)` for two equal seeds and one different seed.
template <class Method>
void expect_seed_determinism(const Tensor& image, Method method, const char* what) {
  Generator g1(7), g2(7), g3(8);
  const SynthResult a = method(image, g1), b = method(image, g2), c = method(image, g3);
  EXPECT_TRUE(same_bytes(a.image, b.image) && same_bytes(a.mask, b.mask)) << what << ": same seed, different bytes";
  EXPECT_FALSE(same_bytes(a.image, c.image)) << what << ": seeds 7 and 8 gave the same image";
}

struct Box {
  int64_t top, left, height, width;
};
// Bounding box of the set bits of an (H, W) mask.
inline Box bounding_box(const std::vector<uint8_t>& bits, int64_t h, int64_t w) {
  int64_t i0 = h, i1 = -1, j0 = w, j1 = -1;
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j)
      if (bits[static_cast<size_t>(i * w + j)])
        i0 = std::min(i0, i), i1 = std::max(i1, i), j0 = std::min(j0, j), j1 = std::max(j1, j);
  return {i0, j0, i1 - i0 + 1, j1 - j0 + 1};
}

}  // namespace loom::data::synth
