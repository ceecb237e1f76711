// test_random.cpp: Philox4x32-10 against the published known-answer vectors,
// reproducibility from (seed, offset), and the moments of each distribution.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "tensor/philox.h"
#include "tensor/random.h"

using namespace loom;

TEST(Philox, KnownAnswerVectors) {
  // Random123's kat_vectors for philox4x32_10.
  philox::Block zero = philox::philox4x32_10({{0, 0, 0, 0}}, 0, 0);
  EXPECT_EQ(zero.w[0], 0x6627e8d5u);
  EXPECT_EQ(zero.w[1], 0xe169c58du);
  EXPECT_EQ(zero.w[2], 0xbc57ac4cu);
  EXPECT_EQ(zero.w[3], 0x9b00dbd8u);
  philox::Block ones = philox::philox4x32_10({{~0u, ~0u, ~0u, ~0u}}, ~0u, ~0u);
  EXPECT_EQ(ones.w[0], 0x408f276du);
  EXPECT_EQ(ones.w[1], 0x41c83b0eu);
  EXPECT_EQ(ones.w[2], 0xa20bc7c6u);
  EXPECT_EQ(ones.w[3], 0x6d5451fdu);
  philox::Block pi = philox::philox4x32_10({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u,
                                           0x299f31d0u);
  EXPECT_EQ(pi.w[0], 0xd16cfe09u);
  EXPECT_EQ(pi.w[1], 0x94fdccebu);
  EXPECT_EQ(pi.w[2], 0x5001e420u);
  EXPECT_EQ(pi.w[3], 0x24126ea1u);
}

TEST(Philox, DeterministicLogAndSincosAreAccurate) {
  for (double x : {1e-300, 1e-10, 0.001, 0.3, 0.5, 0.7071, 0.9999999, 1.0}) {
    EXPECT_NEAR(philox::philox_log(x), std::log(x), 4e-16 * std::max(1.0, std::abs(std::log(x)))) << x;
  }
  for (int i = 0; i < 1000; ++i) {
    const double u = i / 1000.0;
    double s, c;
    philox::philox_sincos_2pi(u, &s, &c);
    EXPECT_NEAR(s, std::sin(2 * M_PI * u), 1e-15) << u;
    EXPECT_NEAR(c, std::cos(2 * M_PI * u), 1e-15) << u;
  }
}

TEST(Generator, SameSeedSameNumbersAndStateRestores) {
  Generator g1(42), g2(42);
  EXPECT_EQ(randn({1000}, g1).to_vector<float>(), randn({1000}, g2).to_vector<float>());
  Generator::State saved = g1.state();
  std::vector<float> next = rand({77}, g1).to_vector<float>();
  g1.set_state(saved);
  EXPECT_EQ(rand({77}, g1).to_vector<float>(), next);
  Generator g3(43);
  EXPECT_NE(rand({16}, g3).to_vector<float>(), rand({16}, g2).to_vector<float>());
  // Draws advance the offset by whole blocks.
  Generator g4(1);
  (void)rand({5}, g4);
  EXPECT_EQ(g4.offset(), 2u);
}

TEST(Generator, MomentsOfDistributions) {
  Generator g(7);
  const int64_t n = 200000;
  Tensor u = rand({n}, g, DType::Float64);
  EXPECT_NEAR(mean(u).item(), 0.5, 0.005);
  EXPECT_NEAR(var(u).item(), 1.0 / 12.0, 0.002);
  EXPECT_GE(amax(u).item() < 1.0, true);
  EXPECT_GE(-amax(-u).item(), 0.0);
  Tensor z = normal({n}, 2.0, 3.0, g);
  EXPECT_NEAR(mean(z).item(), 2.0, 0.05);
  EXPECT_NEAR(std::sqrt(var(z).item()), 3.0, 0.05);
  Tensor b = bernoulli({n}, 0.3, g);
  EXPECT_NEAR(mean(b).item(), 0.3, 0.005);
  Tensor ri = randint(-3, 5, {n}, g);
  std::vector<int64_t> v = ri.to_vector<int64_t>();
  EXPECT_EQ(*std::min_element(v.begin(), v.end()), -3);
  EXPECT_EQ(*std::max_element(v.begin(), v.end()), 4);
}

TEST(Generator, RandpermIsAPermutation) {
  Generator g(3);
  std::vector<int64_t> p = randperm(1000, g).to_vector<int64_t>();
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_NE(p, sorted);
}
