// test_util.h: assertions shared by the test files: closeness against a
// reference computed in the test, bitwise equality, and "this throws a
// loom::Error whose message contains ...".
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace loom::testing {

// |got - ref| <= atol + rtol |ref| everywhere (NaN never passes); reports the
// first five offending elements.
inline void expect_close(const std::vector<double>& got, const std::vector<double>& ref, double atol, double rtol,
                         const char* what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  int reported = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = std::abs(got[i] - ref[i]);
    if (!(d <= atol + rtol * std::abs(ref[i])) && reported++ < 5)
      ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", expected " << ref[i];
  }
}

inline void expect_close(const Tensor& a, const std::vector<double>& ref, double atol, double rtol, const char* what) {
  expect_close(a.to_vector<double>(), ref, atol, rtol, what);
}

inline void expect_bitwise_equal(const Tensor& a, const Tensor& b, const char* what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  const std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (size_t i = 0; i < va.size(); ++i)
    if (va[i] != vb[i]) {
      ADD_FAILURE() << what << ": element " << i << " differs: " << va[i] << " vs " << vb[i];
      return;
    }
}

template <class F>
void expect_error_containing(F f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected a loom::Error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace loom::testing
