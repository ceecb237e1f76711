// test_elementwise.cpp: CPU/CUDA parity of the elementwise kernels
// (kernels/cuda/unary.cu, binary.cu, copy.cu): every unary op and backward
// rule, every binary op, comparison, scalar variant and where, strided copies
// with dtype conversion and fills, in float32 and float64, on fresh random
// inputs of odd sizes (1 to 1000003 elements, so the vectorised kernel's tail
// runs), on special values (0, +-inf, NaN, clamp bounds), on dense, misaligned
// (offset 1: the strided kernel), transposed and broadcast views, and the
// autograd backward of composite expressions. The CPU ops are the oracle; every
// CUDA allocation is poisoned with NaN (cuda_test::parity) so an unwritten
// element fails. Without a GPU the GPU tests report SKIPPED; the error-path
// test at the end runs everywhere.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "kernels/ops.h"
#include "tests/cuda/cuda_test_util.h"

using namespace loom;
using cuda_test::parity;
using cuda_test::parity1;
using cuda_test::Tol;
using cuda_test::uniform;

namespace {

using Ins = std::vector<Tensor>;
using UnaryFn = std::function<Tensor(const Tensor&)>;
using PairFn = std::function<Tensor(const Tensor&, const Tensor&)>;

const std::vector<DType> kFloatTypes = {DType::Float32, DType::Float64};
const std::vector<DType> kAllTypes = {DType::Float32, DType::Float64, DType::Int64, DType::UInt8};
// 1 element, fewer than one vector, odd sizes (n % 4 == 3: a tail for float4 and double2).
const std::vector<int64_t> kSizes = {1, 3, 7, 33, 257, 4099};
// Large enough that every thread of the grid-stride loops goes round several times
// (LargeInputsMatchCpu: one op per family, to keep the file fast).
constexpr int64_t kLarge = 1000003;

// Transcendental ops: a few ulp between CUDA's libdevice and glibc.
Tol math_tol(DType dt) { return dt == DType::Float64 ? Tol{1e-13, 1e-12} : Tol{1e-6, 4e-6}; }
// +, -, *, /, sqrt, comparisons, selections and copies are correctly rounded on both: exact.
constexpr Tol kExact{0, 0};

struct UnaryCase {
  std::string name;
  UnaryFn f;
  double lo, hi;  // input range
  bool exact;
};

std::vector<UnaryCase> unary_cases() {
  return {
      {"neg", [](const Tensor& x) { return ops::neg(x); }, -3, 3, true},
      {"exp", [](const Tensor& x) { return ops::exp(x); }, -5, 5, false},
      {"log", [](const Tensor& x) { return ops::log(x); }, 0.01, 10, false},
      {"sqrt", [](const Tensor& x) { return ops::sqrt(x); }, 0, 10, true},
      {"tanh", [](const Tensor& x) { return ops::tanh(x); }, -4, 4, false},
      {"sigmoid", [](const Tensor& x) { return ops::sigmoid(x); }, -20, 20, false},
      {"relu", [](const Tensor& x) { return ops::relu(x); }, -2, 2, true},
      {"abs", [](const Tensor& x) { return ops::abs(x); }, -2, 2, true},
      {"sign", [](const Tensor& x) { return ops::sign(x); }, -2, 2, true},
      {"leaky_relu", [](const Tensor& x) { return ops::leaky_relu(x, 0.2); }, -2, 2, true},
      {"pow 2.5", [](const Tensor& x) { return ops::pow(x, 2.5); }, 0.01, 3, false},
      {"pow 3", [](const Tensor& x) { return ops::pow(x, 3.0); }, -3, 3, false},
      {"pow -1.5", [](const Tensor& x) { return ops::pow(x, -1.5); }, 0.1, 3, false},
      {"clamp", [](const Tensor& x) { return ops::clamp(x, -0.5, 0.75); }, -2, 2, true},
  };
}

struct PairCase {
  std::string name;
  PairFn f;       // f(grad, x)
  double lo, hi;  // range of x (or y)
  bool exact;
};

std::vector<PairCase> backward_cases() {
  return {
      {"relu_backward", [](const Tensor& g, const Tensor& x) { return ops::relu_backward(g, x); }, -2, 2, true},
      {"leaky_relu_backward", [](const Tensor& g, const Tensor& x) { return ops::leaky_relu_backward(g, x, 0.2); }, -2,
       2, true},
      {"clamp_backward", [](const Tensor& g, const Tensor& x) { return ops::clamp_backward(g, x, -0.5, 0.75); }, -2, 2,
       true},
      {"sigmoid_backward", [](const Tensor& g, const Tensor& y) { return ops::sigmoid_backward(g, y); }, 0, 1, false},
      {"tanh_backward", [](const Tensor& g, const Tensor& y) { return ops::tanh_backward(g, y); }, -1, 1, false},
      {"pow_backward 2.5", [](const Tensor& g, const Tensor& x) { return ops::pow_backward(g, x, 2.5); }, 0.01, 3,
       false},
      {"pow_backward 0", [](const Tensor& g, const Tensor& x) { return ops::pow_backward(g, x, 0.0); }, -3, 3, true},
  };
}

std::vector<PairCase> binary_cases() {
  return {
      {"add", [](const Tensor& a, const Tensor& b) { return ops::add(a, b); }, -3, 3, true},
      {"sub", [](const Tensor& a, const Tensor& b) { return ops::sub(a, b); }, -3, 3, true},
      {"mul", [](const Tensor& a, const Tensor& b) { return ops::mul(a, b); }, -3, 3, true},
      {"div", [](const Tensor& a, const Tensor& b) { return ops::div(a, b); }, 0.1, 3, true},
      {"maximum", [](const Tensor& a, const Tensor& b) { return ops::maximum(a, b); }, -3, 3, true},
      {"minimum", [](const Tensor& a, const Tensor& b) { return ops::minimum(a, b); }, -3, 3, true},
  };
}

std::vector<PairCase> comparison_cases() {
  return {
      {"eq", [](const Tensor& a, const Tensor& b) { return ops::eq(a, b); }, 0, 0, true},
      {"ne", [](const Tensor& a, const Tensor& b) { return ops::ne(a, b); }, 0, 0, true},
      {"lt", [](const Tensor& a, const Tensor& b) { return ops::lt(a, b); }, 0, 0, true},
      {"le", [](const Tensor& a, const Tensor& b) { return ops::le(a, b); }, 0, 0, true},
      {"gt", [](const Tensor& a, const Tensor& b) { return ops::gt(a, b); }, 0, 0, true},
      {"ge", [](const Tensor& a, const Tensor& b) { return ops::ge(a, b); }, 0, 0, true},
  };
}

std::string label(const std::string& op, DType dt, const Shape& shape) {
  return op + " " + dtype_name(dt) + " " + shape_str(shape);
}

// 0, +-0, +-inf, NaN, the clamp bounds and values around them, in dtype dt.
Tensor special_values(DType dt) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> v = {0.0,  -0.0, 1.0,        -1.0,      inf,   -inf,  nan,
                                 -0.5, 0.75, -0.5000001, 0.7500001, 1e-30, -1e-30};
  return Tensor::from_vector<double>(v, {static_cast<int64_t>(v.size())}).to(dt);
}

// Small integers as dt, so comparisons see many ties.
Tensor small_integers(const Shape& shape, Generator& g, DType dt) { return randint(0, 4, shape, g).to(dt); }

}  // namespace

// ---- unary -------------------------------------------------------------------------

TEST(CudaElementwise, UnaryOpsMatchCpuOnDenseInputsOfOddSizes) {
  REQUIRE_GPU();
  Generator g(101);
  for (DType dt : kFloatTypes)
    for (int64_t n : kSizes)
      for (const UnaryCase& c : unary_cases()) {
        Tensor x = uniform({n}, g, c.lo, c.hi, dt);
        EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[0]); }, {x}, c.exact ? kExact : math_tol(dt)))
            << label(c.name, dt, {n});
      }
}

TEST(CudaElementwise, UnaryOpsMatchCpuOnSpecialValues) {
  REQUIRE_GPU();
  for (DType dt : kFloatTypes)
    for (const UnaryCase& c : unary_cases()) {
      Tensor x = special_values(dt);
      EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[0]); }, {x}, c.exact ? kExact : math_tol(dt)))
          << label(c.name, dt, x.shape());
    }
}

TEST(CudaElementwise, UnaryOpsMatchCpuOnMisalignedTransposedAndExpandedViews) {
  REQUIRE_GPU();
  Generator g(102);
  for (DType dt : kFloatTypes)
    for (const UnaryCase& c : unary_cases()) {
      const Tol tol = c.exact ? kExact : math_tol(dt);
      // offset 1: dense but not 16-byte aligned (the strided kernel), and offset 4 (aligned for float4).
      Tensor flat = uniform({1030}, g, c.lo, c.hi, dt);
      for (int64_t off : {1, 4})
        EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[0].slice(0, off, 1030)); }, {flat}, tol))
            << label(c.name, dt, flat.shape()) << " offset " << off;
      Tensor m = uniform({37, 53}, g, c.lo, c.hi, dt);
      EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[0].transpose(0, 1)); }, {m}, tol))
          << label(c.name, dt, m.shape()) << " transposed";
      EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[0].slice(1, 2, 53, 3)); }, {m}, tol))
          << label(c.name, dt, m.shape()) << " column slice step 3";
      Tensor row = uniform({1, 9}, g, c.lo, c.hi, dt);
      EXPECT_TRUE(parity1(
          [&](const Ins& in) {
            return c.f(in[0].expand({5, 9}));
          },
          {row}, tol))
          << label(c.name, dt, row.shape()) << " expanded";
    }
}

TEST(CudaElementwise, UnaryBackwardRulesMatchCpu) {
  REQUIRE_GPU();
  Generator g(103);
  for (DType dt : kFloatTypes)
    for (int64_t n : kSizes)
      for (const PairCase& c : backward_cases()) {
        Tensor grad = uniform({n}, g, -2, 2, dt), x = uniform({n}, g, c.lo, c.hi, dt);
        EXPECT_TRUE(
            parity1([&](const Ins& in) { return c.f(in[0], in[1]); }, {grad, x}, c.exact ? kExact : math_tol(dt)))
            << label(c.name, dt, {n});
      }
}

TEST(CudaElementwise, UnaryBackwardRulesMatchCpuAtBoundsAndOnViews) {
  REQUIRE_GPU();
  Generator g(104);
  for (DType dt : kFloatTypes)
    for (const PairCase& c : backward_cases()) {
      const Tol tol = c.exact ? kExact : math_tol(dt);
      Tensor x = special_values(dt), grad = uniform(x.shape(), g, -2, 2, dt);
      if (c.name.rfind("pow", 0) != 0) {  // pow's rule at 0, inf and NaN is no boundary of interest
        EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[0], in[1]); }, {grad, x}, tol))
            << label(c.name, dt, x.shape()) << " special values";
      }
      Tensor gm = uniform({29, 31}, g, -2, 2, dt), xm = uniform({31, 29}, g, c.lo, c.hi, dt);
      EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[0], in[1].transpose(0, 1)); }, {gm, xm}, tol))
          << label(c.name, dt, gm.shape()) << " transposed input";
      Tensor gf = uniform({1001}, g, -2, 2, dt), xf = uniform({1001}, g, c.lo, c.hi, dt);
      EXPECT_TRUE(
          parity1([&](const Ins& in) { return c.f(in[0].slice(0, 1, 1001), in[1].slice(0, 1, 1001)); }, {gf, xf}, tol))
          << label(c.name, dt, gf.shape()) << " offset 1";
    }
}

// ---- binary ------------------------------------------------------------------------

TEST(CudaElementwise, BinaryOpsMatchCpuOnDenseInputsOfOddSizes) {
  REQUIRE_GPU();
  Generator g(201);
  for (DType dt : kFloatTypes)
    for (int64_t n : kSizes)
      for (const PairCase& c : binary_cases()) {
        Tensor a = uniform({n}, g, c.lo, c.hi, dt), b = uniform({n}, g, c.lo, c.hi, dt);
        EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[0], in[1]); }, {a, b}, kExact))
            << label(c.name, dt, {n});
      }
}

TEST(CudaElementwise, BinaryOpsMatchCpuOnBroadcastTransposedAndMisalignedInputs) {
  REQUIRE_GPU();
  Generator g(202);
  for (DType dt : kFloatTypes)
    for (const PairCase& c : binary_cases()) {
      Tensor a = uniform({5, 1, 7}, g, c.lo, c.hi, dt), b = uniform({3, 1}, g, c.lo, c.hi, dt);
      EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[0], in[1]); }, {a, b}, kExact))
          << label(c.name, dt, {5, 3, 7}) << " broadcast (5,1,7) with (3,1)";
      EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[1], in[0]); }, {a, b}, kExact))
          << label(c.name, dt, {5, 3, 7}) << " broadcast (3,1) with (5,1,7)";
      Tensor s = uniform({}, g, c.lo, c.hi, dt), big = uniform({1003}, g, c.lo, c.hi, dt);
      EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[0], in[1]); }, {big, s}, kExact))
          << label(c.name, dt, {1003}) << " with a 0-dim tensor";
      Tensor m = uniform({33, 65}, g, c.lo, c.hi, dt), mt = uniform({65, 33}, g, c.lo, c.hi, dt);
      EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[0], in[1].transpose(0, 1)); }, {m, mt}, kExact))
          << label(c.name, dt, m.shape()) << " second input transposed";
      EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[0].slice(0, 1, 1003), in[1].slice(0, 0, 1002)); },
                          {big, big}, kExact))
          << label(c.name, dt, {1002}) << " offsets 1 and 0";
    }
}

TEST(CudaElementwise, MaximumAndMinimumPropagateNaNAsTheCpu) {
  REQUIRE_GPU();
  for (DType dt : kFloatTypes) {
    Tensor a = special_values(dt);
    // The same values in reverse order: NaN meets a number on one side and the other, inf meets -inf, ...
    const std::vector<double> va = a.to_vector<double>();
    Tensor b = Tensor::from_vector<double>(std::vector<double>(va.rbegin(), va.rend()), a.shape()).to(dt);
    Tensor nan = Tensor::full({}, std::numeric_limits<double>::quiet_NaN(), dt);
    for (const PairCase& c : binary_cases()) {
      if (c.name != "maximum" && c.name != "minimum") continue;
      EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[0], in[1]); }, {a, b}, kExact))
          << label(c.name, dt, a.shape());
      EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[0], in[1]); }, {a, nan}, kExact))
          << label(c.name, dt, a.shape()) << " with a NaN scalar";
    }
  }
}

TEST(CudaElementwise, ComparisonsMatchCpuForEveryDtype) {
  REQUIRE_GPU();
  Generator g(203);
  for (DType dt : kAllTypes)
    for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{4099}})
      for (const PairCase& c : comparison_cases()) {
        Tensor a = small_integers({n}, g, dt), b = small_integers({n}, g, dt);
        EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[0], in[1]); }, {a, b}, kExact))
            << label(c.name, dt, {n});
        Tensor row = small_integers({1, 11}, g, dt), col = small_integers({6, 1}, g, dt);
        EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[0], in[1]); }, {row, col}, kExact))
            << label(c.name, dt, {6, 11}) << " broadcast";
        Tensor m = small_integers({9, 13}, g, dt);
        EXPECT_TRUE(parity1([&](const Ins& in) { return c.f(in[0].transpose(0, 1), in[1]); },
                            {m, m.transpose(0, 1).contiguous()}, kExact))
            << label(c.name, dt, {13, 9}) << " transposed";
      }
}

TEST(CudaElementwise, ScalarVariantsMatchCpu) {
  REQUIRE_GPU();
  Generator g(204);
  const std::vector<std::pair<std::string, UnaryFn>> cases = {
      {"add_scalar", [](const Tensor& x) { return ops::add_scalar(x, 0.3); }},
      {"mul_scalar", [](const Tensor& x) { return ops::mul_scalar(x, -1.7); }},
      {"rsub_scalar", [](const Tensor& x) { return ops::rsub_scalar(x, 2.25); }},
      {"rdiv_scalar", [](const Tensor& x) { return ops::rdiv_scalar(x, 0.1); }},
  };
  for (DType dt : kFloatTypes)
    for (int64_t n : kSizes)
      for (const auto& [name, f] : cases) {
        Tensor x = uniform({n}, g, 0.5, 3, dt);
        EXPECT_TRUE(parity1([&](const Ins& in) { return f(in[0]); }, {x}, kExact)) << label(name, dt, {n});
        EXPECT_TRUE(parity1([&](const Ins& in) { return f(in[0].slice(0, n > 1 ? 1 : 0, n)); }, {x}, kExact))
            << label(name, dt, {n}) << " offset 1";
      }
}

TEST(CudaElementwise, WhereMatchesCpuWithThreeWayBroadcast) {
  REQUIRE_GPU();
  Generator g(205);
  for (DType dt : kAllTypes) {
    Tensor cond = bernoulli({4, 1, 6}, 0.5, g, DType::UInt8);
    Tensor a = small_integers({1, 5, 1}, g, dt), b = small_integers({6}, g, dt);
    EXPECT_TRUE(parity1([](const Ins& in) { return ops::where(in[0], in[1], in[2]); }, {cond, a, b}, kExact))
        << label("where", dt, {4, 5, 6});
    for (int64_t n : kSizes) {  // dense, one shape: the vectorised kernel (uchar4 cond with float4 values etc.)
      Tensor c1 = bernoulli({n}, 0.3, g, DType::UInt8), a1 = small_integers({n}, g, dt),
             b1 = small_integers({n}, g, dt);
      EXPECT_TRUE(parity1([](const Ins& in) { return ops::where(in[0], in[1], in[2]); }, {c1, a1, b1}, kExact))
          << label("where", dt, {n});
    }
  }
}

// ---- copies and fills ----------------------------------------------------------------

TEST(CudaElementwise, CopiesConvertBetweenEveryPairOfDtypes) {
  REQUIRE_GPU();
  Generator g(301);
  for (DType from : kAllTypes)
    for (DType to : kAllTypes)
      for (int64_t n : {int64_t{1}, int64_t{33}, int64_t{4099}}) {
        // Integers in [0, 250) and, for float sources, fractions: every value fits every dtype.
        Tensor x = (randint(0, 250, {n}, g).to(DType::Float64) + rand({n}, g, DType::Float64) * 0.9).to(from);
        EXPECT_TRUE(parity1([&](const Ins& in) { return in[0].to(to); }, {x}, kExact))
            << "copy " << dtype_name(from) << " -> " << dtype_name(to) << " n " << n;
        Tensor m = x.slice(0, 0, n - n % 3).reshape({3, -1});
        EXPECT_TRUE(parity1([&](const Ins& in) { return in[0].transpose(0, 1).to(to); }, {m}, kExact))
            << "copy of a transposed view " << dtype_name(from) << " -> " << dtype_name(to) << " n " << n;
      }
}

TEST(CudaElementwise, StridedCopiesIntoAndOutOfViews) {
  REQUIRE_GPU();
  Generator g(302);
  for (DType dt : kAllTypes) {
    Tensor x = small_integers({4, 6, 10}, g, dt);
    // contiguous() of permuted, sliced and expanded views.
    EXPECT_TRUE(parity1(
        [](const Ins& in) {
          return in[0].permute({2, 0, 1}).contiguous();
        },
        {x}, kExact))
        << dtype_name(dt) << " permute";
    EXPECT_TRUE(
        parity1([](const Ins& in) { return in[0].slice(2, 1, 10, 3).slice(0, 1, 4).contiguous(); }, {x}, kExact))
        << dtype_name(dt) << " slices";
    EXPECT_TRUE(parity1(
        [](const Ins& in) {
          return in[0].slice(1, 2, 3).expand({4, 5, 10}).contiguous();
        },
        {x}, kExact))
        << dtype_name(dt) << " expanded";
    EXPECT_TRUE(parity1([](const Ins& in) { return in[0].slice(0, 1, 4).clone(); }, {x}, kExact))
        << dtype_name(dt) << " clone of an offset view";
    // copy_ into a strided destination (every other column of a zeroed tensor), converting to float64.
    EXPECT_TRUE(parity1(
        [](const Ins& in) {
          Tensor dst = Tensor::zeros({6, 20, 4}, DType::Float64, in[0].device());
          dst.slice(1, 0, 20, 2).copy_(in[0].permute({1, 2, 0}));
          return dst;
        },
        {x}, kExact))
        << dtype_name(dt) << " copy_ into a strided view";
  }
}

TEST(CudaElementwise, FillsWriteEveryElementOfAStridedView) {
  REQUIRE_GPU();
  for (DType dt : kAllTypes) {
    for (int64_t n : kSizes)
      EXPECT_TRUE(parity1([&](const Ins& in) { return Tensor::full({n}, 3.0, dt, in[0].device()); },
                          {Tensor::zeros({1})}, kExact))
          << dtype_name(dt) << " full n " << n;
    EXPECT_TRUE(parity1(
        [&](const Ins& in) {
          Tensor t = Tensor::full({7, 9, 5}, 2.0, dt, in[0].device());
          t.slice(1, 1, 9, 3).transpose(0, 2).fill_(7.0);
          t.slice(0, 6, 7).fill_(1.0);
          return t;
        },
        {Tensor::zeros({1})}, kExact))
        << dtype_name(dt) << " fill of strided views";
    EXPECT_TRUE(parity1(
        [&](const Ins& in) {
          Tensor t = Tensor::zeros({1001}, dt, in[0].device());
          t.slice(0, 1, 1001).fill_(5.0);  // dense but misaligned: the strided kernel
          return t;
        },
        {Tensor::zeros({1})}, kExact))
        << dtype_name(dt) << " fill at offset 1";
  }
}

// ---- large inputs: one op of each family ---------------------------------------------

TEST(CudaElementwise, LargeInputsMatchCpu) {
  REQUIRE_GPU();
  Generator g(350);
  const int64_t n = kLarge;
  for (DType dt : kFloatTypes) {
    Tensor x = uniform({n}, g, -3, 3, dt), y = uniform({n}, g, 0.1, 3, dt), grad = uniform({n}, g, -1, 1, dt);
    EXPECT_TRUE(parity1([](const Ins& in) { return ops::sigmoid(in[0]); }, {x}, math_tol(dt))) << dtype_name(dt);
    EXPECT_TRUE(parity1([](const Ins& in) { return ops::exp(in[0].slice(0, 1, kLarge)); }, {x}, math_tol(dt)))
        << dtype_name(dt) << " offset 1";
    EXPECT_TRUE(parity1([](const Ins& in) { return ops::clamp_backward(in[0], in[1], -1, 1); }, {grad, x}, kExact))
        << dtype_name(dt);
    EXPECT_TRUE(parity1([](const Ins& in) { return ops::div(in[0], in[1]); }, {x, y}, kExact)) << dtype_name(dt);
    EXPECT_TRUE(
        parity1([](const Ins& in) { return ops::maximum(in[0].slice(0, 1, kLarge), in[1].slice(0, 0, kLarge - 1)); },
                {x, y}, kExact))
        << dtype_name(dt) << " offsets 1 and 0";
    EXPECT_TRUE(parity1([](const Ins& in) { return ops::rdiv_scalar(in[0], 1.5); }, {y}, kExact)) << dtype_name(dt);
    EXPECT_TRUE(parity1([](const Ins& in) { return ops::lt(in[0], in[1]); }, {x, y}, kExact)) << dtype_name(dt);
    EXPECT_TRUE(parity1([](const Ins& in) { return ops::where(ops::gt(in[0], in[1]), in[0], in[1]); }, {x, y}, kExact))
        << dtype_name(dt);
  }
  Tensor m = uniform({1001, 999}, g, 0, 250, DType::Float64);
  EXPECT_TRUE(parity1([](const Ins& in) { return in[0].to(DType::Float32); }, {m}, kExact)) << "float64 -> float32";
  EXPECT_TRUE(parity1([](const Ins& in) { return in[0].transpose(0, 1).to(DType::UInt8); }, {m}, kExact))
      << "transposed float64 -> uint8";
  EXPECT_TRUE(
      parity1([](const Ins& in) { return Tensor::full({kLarge}, -2.5, DType::Float64, in[0].device()); }, {m}, kExact))
      << "full";
}

// ---- autograd through the CUDA kernels -------------------------------------------------

TEST(CudaElementwise, AutogradOfCompositeExpressionsMatchesCpu) {
  REQUIRE_GPU();
  Generator g(401);
  for (DType dt : kFloatTypes) {
    Tensor x = uniform({17, 23}, g, -2, 2, dt), w = uniform({17, 23}, g, 0.5, 2, dt),
           seed = uniform({17, 23}, g, -1, 1, dt);
    auto run = [](const Ins& in) {
      Tensor a = in[0].detach().requires_grad_(), b = in[1].detach().requires_grad_();
      // sigmoid(a) tanh(a) + relu(a) / b - leaky_relu(a)^2 + clamp(a, -1, 1) * sqrt(b) - maximum(a, b) exp(-|a|)
      Tensor y = sigmoid(a) * tanh(a) + relu(a) / b - pow(leaky_relu(a, 0.1), 2.0) + clamp(a, -1, 1) * sqrt(b) -
                 maximum(a, b) * exp(-abs(a)) + where(gt(a, b), log(b), 1.0 - a);
      y.backward(in[2]);
      return std::vector<Tensor>{y.detach(), a.grad(), b.grad()};
    };
    EXPECT_TRUE(parity(run, {x, w, seed}, cuda_test::tol_for(dt))) << dtype_name(dt);
    // The same on transposed leaves (strided inputs all the way down).
    auto run_t = [&](const Ins& in) {
      Ins t = {in[0].transpose(0, 1), in[1].transpose(0, 1), in[2].transpose(0, 1)};
      return run(t);
    };
    EXPECT_TRUE(parity(run_t, {x, w, seed}, cuda_test::tol_for(dt))) << dtype_name(dt) << " transposed";
  }
}

// Broadcast operands: their gradients go through sum_to (a CUDA reduction, kernels/cuda/reduce.cu).
TEST(CudaElementwise, AutogradOfBroadcastExpressionsMatchesCpu) {
  REQUIRE_GPU();
  Generator g(402);
  for (DType dt : kFloatTypes) {
    Tensor x = uniform({6, 1, 9}, g, -2, 2, dt), bias = uniform({5, 1}, g, -1, 1, dt),
           seed = uniform({6, 5, 9}, g, -1, 1, dt);
    auto run = [](const Ins& in) {
      Tensor a = in[0].detach().requires_grad_(), b = in[1].detach().requires_grad_();
      Tensor y = tanh(a * b + b) - sigmoid(a) * 0.5;
      y.backward(in[2]);
      return std::vector<Tensor>{y.detach(), a.grad(), b.grad()};
    };
    EXPECT_TRUE(parity(run, {x, bias, seed}, cuda_test::tol_for(dt))) << dtype_name(dt);
  }
}

namespace {
// The message f throws, or "no error".
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(CudaElementwise, InvalidArgumentsGiveTheCpuErrorMessages) {
  REQUIRE_GPU();
  const std::vector<std::pair<std::string, std::function<void(Device)>>> cases = {
      {"add float32 + float64",
       [](Device d) {
         ops::add(Tensor::zeros({2, 3}, DType::Float32, d), Tensor::zeros({2, 3}, DType::Float64, d));
       }},
      {"mul of unbroadcastable shapes",
       [](Device d) {
         ops::mul(Tensor::zeros({2, 3}, DType::Float32, d), Tensor::zeros({4}, DType::Float32, d));
       }},
      {"exp of int64", [](Device d) { ops::exp(Tensor::zeros({5}, DType::Int64, d)); }},
      {"add_scalar of uint8", [](Device d) { ops::add_scalar(Tensor::zeros({5}, DType::UInt8, d), 1.0); }},
      {"clamp with lo > hi", [](Device d) { ops::clamp(Tensor::zeros({5}, DType::Float32, d), 1.0, -1.0); }},
      {"eq float32 vs int64",
       [](Device d) { ops::eq(Tensor::zeros({3}, DType::Float32, d), Tensor::zeros({3}, DType::Int64, d)); }},
      {"where with a float condition",
       [](Device d) {
         ops::where(Tensor::zeros({3}, DType::Float32, d), Tensor::zeros({3}, DType::Float32, d),
                    Tensor::zeros({3}, DType::Float32, d));
       }},
      {"tanh_backward of other shapes",
       [](Device d) {
         ops::tanh_backward(Tensor::zeros({3}, DType::Float64, d), Tensor::zeros({4}, DType::Float64, d));
       }},
  };
  for (const auto& [name, f] : cases) {
    const std::string cpu = error_of([&] { f(Device::cpu()); }), cuda = error_of([&] { f(cuda_test::gpu()); });
    EXPECT_NE(cpu, "no error") << name;
    EXPECT_EQ(cuda, cpu) << name;
  }
}

// ---- errors (no GPU needed: the shared checks on the CPU; on a GPU the same on CUDA) ----

TEST(CudaElementwise, BackwardRulesRefuseAGradientOfAnotherShapeOnBothDevices) {
  std::vector<Device> devices = {Device::cpu()};
  if (cuda_test::have_gpu()) devices.push_back(cuda_test::gpu());
  for (const Device& d : devices) {
    Tensor grad = Tensor::zeros({3, 4}, DType::Float32, d), x = Tensor::zeros({4, 3}, DType::Float32, d);
    try {
      ops::relu_backward(grad, x);
      FAIL() << "expected an error on " << d.str();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("relu_backward: grad shape [3, 4] differs from input shape [4, 3]"),
                std::string::npos)
          << e.what();
    }
  }
}
