// test_reduce_softmax.cpp: the CUDA reductions (sum, mean, var, amax, amin,
// argmax) and softmax family (softmax, log_softmax, both backward rules)
// against the CPU oracle (kernels/cpu/reduce.cpp), for every kernel version
// (forced through LOOM_REDUCE_VERSION / LOOM_SOFTMAX_VERSION), float32 and
// float64, single/several/all/negative dims, keepdim, non-contiguous and
// broadcast views, odd sizes up to 1000003 elements and rows longer than a
// block; exact equality for amax/amin/argmax (ties, NaN, -inf); bitwise
// determinism; the same errors as the CPU. The shared shape rules
// (kernels/reduce_shape.h) are checked without a GPU; everything else SKIPs
// without one.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>

#include "autograd/functions.h"  // Tensor * double (cuda_test_util.h uses it)
#include "kernels/ops.h"
#include "kernels/reduce_shape.h"
#include "tests/cuda/cuda_test_util.h"

using namespace loom;
using namespace loom::cuda_test;

namespace {

// Sets an environment variable for a scope (the kernel version), then restores it.
class EnvGuard {
 public:
  EnvGuard(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) previous_ = old;
    if (value == "auto")
      unsetenv(name);
    else
      setenv(name, value.c_str(), 1);
  }
  ~EnvGuard() {
    if (previous_)
      setenv(name_, previous_->c_str(), 1);
    else
      unsetenv(name_);
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  const char* name_;
  std::optional<std::string> previous_;
};

const std::vector<std::string> kReduceVersions = {"auto", "v1_naive", "v2_tree", "v3_split"};
const std::vector<std::string> kSoftmaxVersions = {"auto", "v1_naive", "v2_block"};

// A reduction case: the input shape, a view applied to the input on both
// devices (so the CUDA kernel sees a strided view), and the dims.
struct Case {
  Shape shape;
  std::function<Tensor(const Tensor&)> view;  // identity when empty
  std::vector<int64_t> dims;
  bool keepdim;
  std::string name;
};

Tensor apply(const Case& c, const Tensor& x) { return c.view ? c.view(x) : x; }

std::vector<Case> reduce_cases() {
  return {
      {{7}, nullptr, {}, false, "(7) all"},
      {{1}, nullptr, {0}, false, "(1) dim 0"},
      {{}, nullptr, {}, false, "0-dim all"},
      {{1000003}, nullptr, {}, false, "(1000003) all"},
      {{1000003}, nullptr, {0}, true, "(1000003) dim 0 keepdim"},
      {{33, 257}, nullptr, {1}, false, "(33,257) dim 1"},
      {{33, 257}, nullptr, {0}, false, "(33,257) dim 0"},
      {{33, 257}, nullptr, {-1}, true, "(33,257) dim -1 keepdim"},
      {{33, 257}, nullptr, {0, 1}, true, "(33,257) both keepdim"},
      {{3, 2000}, nullptr, {1}, false, "(3,2000) rows longer than a block"},
      {{2, 5000, 3}, nullptr, {1}, false, "(2,5000,3) inner-dim reduction"},
      {{1000, 7}, nullptr, {1}, false, "(1000,7) short rows"},
      {{4, 5, 6, 7}, nullptr, {0, 2, 3}, false, "(4,5,6,7) per-channel"},
      {{4, 5, 6, 7}, nullptr, {1, 3}, false, "(4,5,6,7) dims 1,3"},
      {{4, 5, 6, 7}, nullptr, {-1, -3}, true, "(4,5,6,7) dims -1,-3 keepdim"},
      {{2, 3, 1, 5}, nullptr, {2}, false, "size-1 dim"},
      {{33, 257}, [](const Tensor& t) { return t.transpose(0, 1); }, {1}, false, "transposed dim 1"},
      {{33, 257}, [](const Tensor& t) { return t.transpose(0, 1); }, {}, false, "transposed all"},
      {{40, 31}, [](const Tensor& t) { return t.slice(0, 1, 40, 3); }, {0}, false, "sliced step 3, dim 0"},
      {{1, 7}, [](const Tensor& t) { return t.expand({5, 7}); }, {0}, false, "broadcast (stride 0) dim 0"},
      {{3, 4, 5, 6}, [](const Tensor& t) { return t.permute({0, 2, 3, 1}); }, {0, 1, 2}, false,
       "channels-last per-channel"},
      {{3, 4, 5, 6}, [](const Tensor& t) { return t.permute({3, 1, 0, 2}); }, {1, 3}, true, "permuted dims 1,3"},
  };
}

// Reference magnitude of a row's sum: sum |x| over the whole input (an upper
// bound of every row's). Both sides accumulate in double and round once, so a
// float32 result differs by about one ulp and the double sums by far less
// than 1e-9 of this; a lost or doubled element differs by far more.
double abs_sum(const Tensor& x) { return ops::sum(ops::abs(x), {}, false).item(); }

Tol sum_tol(DType dt, double magnitude) {
  return dt == DType::Float64 ? Tol{1e-11 * magnitude + 1e-300, 1e-12} : Tol{1e-9 * magnitude + 1e-30, 2e-6};
}

std::vector<DType> float_types() { return {DType::Float32, DType::Float64}; }

}  // namespace

// ---- without a GPU: the shared shape rules --------------------------------------

TEST(ReduceShape, DimsOutputShapeAndPermutation) {
  const ReduceShape s = reduce_shape({2, 3, 4, 5}, {-1, 1}, false, "sum");
  EXPECT_EQ(s.perm, (std::vector<int64_t>{0, 2, 1, 3}));
  EXPECT_EQ(s.out_shape, (Shape{2, 4}));
  EXPECT_EQ(s.rows, 8);
  EXPECT_EQ(s.R, 15);
  const ReduceShape k = reduce_shape({2, 3, 4, 5}, {1, 3}, true, "sum");
  EXPECT_EQ(k.out_shape, (Shape{2, 1, 4, 1}));
  const ReduceShape all = reduce_shape({2, 3}, {}, false, "sum");
  EXPECT_EQ(all.out_shape, Shape{});
  EXPECT_EQ(all.R, 6);
  EXPECT_EQ(all.rows, 1);
  const ReduceShape scalar = reduce_shape({}, {}, true, "sum");
  EXPECT_EQ(scalar.R, 1);
  EXPECT_EQ(scalar.out_shape, Shape{});
}

TEST(ReduceShape, BadDimsAreErrors) {
  EXPECT_THROW(reduce_shape({2, 3}, {1, -1}, false, "sum"), Error);  // twice
  EXPECT_THROW(reduce_shape({2, 3}, {2}, false, "sum"), Error);      // out of range
  EXPECT_THROW(reduce_shape({2, 3}, {-3}, false, "sum"), Error);
  EXPECT_THROW(reduce_shape({}, {0}, false, "sum"), Error);  // 0-dim has no dims
  try {
    reduce_shape({2, 3}, {0, 0}, false, "mean");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mean: dim 0 appears twice"), std::string::npos) << e.what();
  }
}

// ---- parity with the CPU ---------------------------------------------------------

TEST(CudaReduce, SumMeanVarEveryVersion) {
  REQUIRE_GPU();
  Generator g(11);
  for (const std::string& version : kReduceVersions) {
    EnvGuard env("LOOM_REDUCE_VERSION", version);
    for (DType dt : float_types())
      for (const Case& c : reduce_cases()) {
        // An offset mean makes var's two passes matter (cancellation in sum x^2 - n mean^2).
        const Tensor x = uniform(c.shape, g, -1, 1, dt) + 3.0;
        const Tensor xv = apply(c, x);
        const double mag = abs_sum(xv);
        const int64_t R = reduce_shape(xv.shape(), c.dims, c.keepdim, "test").R;
        const std::string where = version + " " + dtype_name(dt) + " " + c.name;
        EXPECT_TRUE(parity1([&](const auto& in) { return ops::sum(apply(c, in[0]), c.dims, c.keepdim); }, {x},
                            sum_tol(dt, mag)))
            << "sum " << where;
        EXPECT_TRUE(parity1([&](const auto& in) { return ops::mean(apply(c, in[0]), c.dims, c.keepdim); }, {x},
                            sum_tol(dt, mag / static_cast<double>(R))))
            << "mean " << where;
        for (int64_t correction : {0, 1}) {
          if (R - correction <= 0) continue;
          // sum (x - mean)^2 <= 4 R here (|x - mean| <= 2); scaled like the sum.
          const double var_mag = 4.0 * static_cast<double>(xv.numel()) / static_cast<double>(R - correction);
          EXPECT_TRUE(parity1(
              [&](const auto& in) { return ops::var(apply(c, in[0]), c.dims, correction, c.keepdim); }, {x},
              sum_tol(dt, var_mag)))
              << "var correction " << correction << " " << where;
        }
      }
  }
}

TEST(CudaReduce, AmaxAminExactEveryVersion) {
  REQUIRE_GPU();
  Generator g(12);
  for (const std::string& version : kReduceVersions) {
    EnvGuard env("LOOM_REDUCE_VERSION", version);
    for (DType dt : float_types())
      for (const Case& c : reduce_cases()) {
        const Tensor x = uniform(c.shape, g, -5, 5, dt);
        const std::string where = version + " " + dtype_name(dt) + " " + c.name;
        EXPECT_TRUE(parity1([&](const auto& in) { return ops::amax(apply(c, in[0]), c.dims, c.keepdim); }, {x},
                            Tol{0, 0}))
            << "amax " << where;
        EXPECT_TRUE(parity1([&](const auto& in) { return ops::amin(apply(c, in[0]), c.dims, c.keepdim); }, {x},
                            Tol{0, 0}))
            << "amin " << where;
      }
  }
}

// NaN propagates through amax/amin and argmax picks the first NaN; all -inf rows.
TEST(CudaReduce, NanAndInfinityAsTheCpu) {
  REQUIRE_GPU();
  Generator g(13);
  for (const std::string& version : kReduceVersions) {
    EnvGuard env("LOOM_REDUCE_VERSION", version);
    for (DType dt : float_types()) {
      // (6, 300): row 1 one NaN, row 2 two NaNs, row 3 all -inf, row 4 +inf and NaN, row 5 -inf and numbers.
      std::vector<double> v = uniform({6, 300}, g, -1, 1, DType::Float64).to_vector<double>();
      const double nan = std::nan(""), inf = INFINITY;
      v[1 * 300 + 17] = nan;
      v[2 * 300 + 250] = nan;
      v[2 * 300 + 40] = nan;
      for (int i = 0; i < 300; ++i) v[3 * 300 + i] = -inf;
      v[4 * 300 + 3] = inf;
      v[4 * 300 + 299] = nan;
      v[5 * 300 + 0] = -inf;
      const Tensor x = Tensor::from_vector(v, {6, 300}).to(dt);
      const std::string where = version + " " + dtype_name(dt);
      for (int64_t dim : {0, 1, -1}) {
        EXPECT_TRUE(parity1([&](const auto& in) { return ops::amax(in[0], {dim}, false); }, {x}, Tol{0, 0}))
            << "amax dim " << dim << " " << where;
        EXPECT_TRUE(parity1([&](const auto& in) { return ops::amin(in[0], {dim}, true); }, {x}, Tol{0, 0}))
            << "amin dim " << dim << " " << where;
        EXPECT_TRUE(parity1([&](const auto& in) { return ops::argmax(in[0], dim, false); }, {x}, Tol{0, 0}))
            << "argmax dim " << dim << " " << where;
      }
      EXPECT_TRUE(parity1([&](const auto& in) { return ops::amax(in[0], {}, false); }, {x}, Tol{0, 0})) << where;
    }
  }
}

// Ties: integers in [0, 3) give many equal maxima; the first one wins.
TEST(CudaReduce, ArgmaxFirstMaximumEveryVersion) {
  REQUIRE_GPU();
  Generator g(14);
  const std::vector<std::pair<Shape, int64_t>> cases = {
      {{7}, 0},          {{1}, 0},         {{1000003}, 0},   {{33, 257}, 1}, {{33, 257}, 0}, {{33, 257}, -2},
      {{3, 2000}, 1},    {{2, 5000, 3}, 1}, {{4, 5, 6, 7}, 2}, {{1000, 7}, 1}, {{1000, 7}, 0},
  };
  for (const std::string& version : kReduceVersions) {
    EnvGuard env("LOOM_REDUCE_VERSION", version);
    for (DType dt : float_types())
      for (const auto& [shape, dim] : cases)
        for (bool keepdim : {false, true})
          for (bool ties : {false, true}) {
            const Tensor x = ties ? randint(0, 3, shape, g).to(dt) : uniform(shape, g, -1, 1, dt);
            EXPECT_TRUE(parity1([&](const auto& in) { return ops::argmax(in[0], dim, keepdim); }, {x}, Tol{0, 0}))
                << version << " " << dtype_name(dt) << " " << shape_str(shape) << " dim " << dim
                << (ties ? " ties" : "");
          }
    // A non-contiguous view: argmax along the transposed dims.
    const Tensor x = randint(0, 4, {33, 257}, g).to(DType::Float32);
    for (int64_t dim : {0, 1})
      EXPECT_TRUE(
          parity1([&](const auto& in) { return ops::argmax(in[0].transpose(0, 1), dim, false); }, {x}, Tol{0, 0}))
          << version << " transposed dim " << dim;
  }
}

// Empty reductions and empty outputs, as the CPU: sum of nothing 0, mean NaN.
TEST(CudaReduce, ZeroSizes) {
  REQUIRE_GPU();
  for (const std::string& version : kReduceVersions) {
    EnvGuard env("LOOM_REDUCE_VERSION", version);
    const Tensor x = Tensor::zeros({3, 0, 2});
    for (const std::vector<int64_t>& dims : std::vector<std::vector<int64_t>>{{1}, {0}, {}, {0, 2}}) {
      EXPECT_TRUE(parity1([&](const auto& in) { return ops::sum(in[0], dims, false); }, {x}, Tol{0, 0}))
          << version << " sum";
      EXPECT_TRUE(parity1([&](const auto& in) { return ops::mean(in[0], dims, true); }, {x}, Tol{0, 0}))
          << version << " mean";
    }
  }
}

// The same errors as the CPU, word for word.
TEST(CudaReduce, ErrorsMatchTheCpu) {
  REQUIRE_GPU();
  const Tensor cpu = Tensor::zeros({2, 3}), gpu_x = to_gpu(cpu);
  const Tensor empty_cpu = Tensor::zeros({2, 0}), empty_gpu = to_gpu(empty_cpu);
  const std::vector<std::function<Tensor(const Tensor&, const Tensor&)>> bad = {
      [](const Tensor& x, const Tensor&) { return ops::sum(x, {0, -2}, false); },
      [](const Tensor& x, const Tensor&) { return ops::mean(x, {2}, false); },
      [](const Tensor& x, const Tensor&) { return ops::var(x, {1}, 3, false); },
      [](const Tensor&, const Tensor& e) { return ops::amax(e, {0}, false); },
      [](const Tensor&, const Tensor& e) { return ops::amin(e, {}, false); },
      [](const Tensor&, const Tensor& e) { return ops::argmax(e, 1, false); },
      [](const Tensor& x, const Tensor&) { return ops::argmax(x, -3, false); },
      [](const Tensor& x, const Tensor&) { return ops::softmax(x, 2); },
      [](const Tensor& x, const Tensor&) { return ops::softmax_backward(x, x.transpose(0, 1), 0); },
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    std::string cpu_msg, gpu_msg;
    try {
      bad[i](cpu, empty_cpu);
    } catch (const Error& e) {
      cpu_msg = e.what();
    }
    try {
      bad[i](gpu_x, empty_gpu);
    } catch (const Error& e) {
      gpu_msg = e.what();
    }
    EXPECT_FALSE(cpu_msg.empty()) << "case " << i << ": the CPU accepted it";
    EXPECT_EQ(gpu_msg, cpu_msg) << "case " << i;
  }
  {
    EnvGuard env("LOOM_REDUCE_VERSION", "v9_magic");
    EXPECT_THROW(ops::sum(gpu_x, {}, false), Error);
  }
  {
    EnvGuard env("LOOM_SOFTMAX_VERSION", "v3_split");
    EXPECT_THROW(ops::softmax(gpu_x, 0), Error);
  }
}

// Same input twice: the same bits, for every version (fixed reduction order).
TEST(CudaReduce, DeterministicBits) {
  REQUIRE_GPU();
  Generator g(15);
  const Tensor big = to_gpu(uniform({1000003}, g));          // split into chunks
  const Tensor columns = to_gpu(uniform({4000, 65}, g));     // v2_columns over dim 0
  const Tensor rows = to_gpu(uniform({33, 2000}, g));        // block per row
  const auto bits = [](const Tensor& t) { return to_cpu(t).to_vector<double>(); };
  for (const std::string& version : kReduceVersions) {
    EnvGuard env("LOOM_REDUCE_VERSION", version);
    EXPECT_EQ(bits(ops::sum(big, {}, false)), bits(ops::sum(big, {}, false))) << version;
    EXPECT_EQ(bits(ops::var(big, {}, 1, false)), bits(ops::var(big, {}, 1, false))) << version;
    EXPECT_EQ(bits(ops::sum(columns, {0}, false)), bits(ops::sum(columns, {0}, false))) << version;
    EXPECT_EQ(bits(ops::mean(rows, {1}, false)), bits(ops::mean(rows, {1}, false))) << version;
  }
  for (const std::string& version : kSoftmaxVersions) {
    EnvGuard env("LOOM_SOFTMAX_VERSION", version);
    EXPECT_EQ(bits(ops::softmax(rows, 1)), bits(ops::softmax(rows, 1))) << version;
    EXPECT_EQ(bits(ops::log_softmax(columns, 0)), bits(ops::log_softmax(columns, 0))) << version;
  }
}

// ---- softmax family ----------------------------------------------------------------

TEST(CudaSoftmax, ForwardAndBackwardEveryVersion) {
  REQUIRE_GPU();
  Generator g(16);
  struct SoftmaxCase {
    Shape shape;
    int64_t dim;
    bool transposed;  // the input is x.transpose(0, 1) (a strided view)
    double scale;     // inputs in [-scale, scale): large values test the max subtraction
  };
  const std::vector<SoftmaxCase> cases = {
      {{7}, 0, false, 1},          {{1}, 0, false, 1},          {{33, 257}, 1, false, 3},
      {{33, 257}, 0, false, 3},    {{33, 257}, -1, true, 3},    {{3, 2000}, 1, false, 50},
      {{2, 1000003}, 1, false, 5}, {{4, 5, 6, 7}, 1, false, 3}, {{4, 5, 6, 7}, -2, false, 3},
      {{2, 5000, 3}, 1, false, 3}, {{1000, 7}, 1, false, 80},   {{40, 31}, 0, true, 3},
  };
  for (const std::string& version : kSoftmaxVersions) {
    EnvGuard env("LOOM_SOFTMAX_VERSION", version);
    for (DType dt : float_types())
      for (const SoftmaxCase& c : cases) {
        const Tensor x = uniform(c.shape, g, -c.scale, c.scale, dt);
        const Tensor grad = uniform(c.transposed ? Shape{c.shape[1], c.shape[0]} : c.shape, g, -1, 1, dt);
        const auto view = [&](const Tensor& t) { return c.transposed ? t.transpose(0, 1) : t; };
        const bool f64 = dt == DType::Float64;
        const std::string where = version + " " + dtype_name(dt) + " " + shape_str(c.shape) + " dim " +
                                  std::to_string(c.dim) + (c.transposed ? " transposed" : "");
        // float32 exp of a rounded difference: relative error about |x - max| * 2^-24.
        const Tol prob_tol = f64 ? Tol{1e-15, 1e-12} : Tol{1e-9, 4.0 * c.scale * 1.2e-7 + 2e-6};
        EXPECT_TRUE(parity1([&](const auto& in) { return ops::softmax(view(in[0]), c.dim); }, {x}, prob_tol))
            << "softmax " << where;
        const Tol log_tol = f64 ? Tol{1e-12 * c.scale, 1e-12} : Tol{4e-6 * c.scale, 2e-6};
        EXPECT_TRUE(parity1([&](const auto& in) { return ops::log_softmax(view(in[0]), c.dim); }, {x}, log_tol))
            << "log_softmax " << where;
        // Backward from the CPU's own y (the same y on both sides).
        const Tensor y = ops::softmax(view(x), c.dim), log_y = ops::log_softmax(view(x), c.dim);
        const Tol back_tol = f64 ? Tol{1e-13, 1e-11} : Tol{1e-6, 1e-5};
        EXPECT_TRUE(parity1([&](const auto& in) { return ops::softmax_backward(in[0], in[1], c.dim); },
                            {grad, y}, back_tol))
            << "softmax_backward " << where;
        // g - exp(y) sum g: float32 exp (within 2 ulp) errs by up to 2.4e-7 exp(y) |sum g|.
        const double gsum_mag = ops::amax(ops::abs(ops::sum(grad, {c.dim}, true)), {}, false).item() *
                                ops::amax(ops::exp(log_y), {}, false).item();
        const Tol log_back_tol = f64 ? Tol{1e-12 * (1 + gsum_mag), 1e-11} : Tol{1e-6 + 4.8e-7 * gsum_mag, 1e-5};
        EXPECT_TRUE(parity1([&](const auto& in) { return ops::log_softmax_backward(in[0], in[1], c.dim); },
                            {grad, log_y}, log_back_tol))
            << "log_softmax_backward " << where;
        // Backward on strided views of grad and y.
        if (c.shape.size() == 2) {
          const Tensor gt = uniform({c.shape[1], c.shape[0]}, g, -1, 1, dt);
          const Tensor yt = ops::softmax(x, c.dim).transpose(0, 1).contiguous();  // (s1, s0)
          EXPECT_TRUE(parity1(
              [&](const auto& in) { return ops::softmax_backward(in[0].transpose(0, 1), in[1].transpose(0, 1), c.dim); },
              {gt, yt}, back_tol))
              << "softmax_backward strided " << where;
        }
      }
  }
}

// A NaN poisons its row only; a row of -inf gives NaN; as the CPU.
TEST(CudaSoftmax, NanAndInfinityAsTheCpu) {
  REQUIRE_GPU();
  Generator g(17);
  for (const std::string& version : kSoftmaxVersions) {
    EnvGuard env("LOOM_SOFTMAX_VERSION", version);
    std::vector<double> v = uniform({4, 40}, g, -1, 1, DType::Float64).to_vector<double>();
    v[1 * 40 + 7] = std::nan("");
    for (int i = 0; i < 40; ++i) v[2 * 40 + i] = -INFINITY;
    v[3 * 40 + 5] = -INFINITY;
    const Tensor x = Tensor::from_vector(v, {4, 40});
    for (int64_t dim : {0, 1}) {
      EXPECT_TRUE(parity1([&](const auto& in) { return ops::softmax(in[0], dim); }, {x}, Tol{1e-9, 1e-5}))
          << version << " dim " << dim;
      EXPECT_TRUE(parity1([&](const auto& in) { return ops::log_softmax(in[0], dim); }, {x}, Tol{1e-5, 1e-5}))
          << version << " dim " << dim;
    }
  }
}
