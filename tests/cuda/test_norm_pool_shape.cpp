// test_norm_pool_shape.cpp: CPU/CUDA parity of batch normalisation, max and
// average pooling, nearest and bilinear upsampling, cat, pad2d and one_hot
// (kernels/cuda/{norm,pool,resample,shape_ops}.cu), forward and backward, in
// float32 and float64, on fresh random inputs of odd sizes, with strided views
// and every new CUDA block poisoned (NaN); the CPU ops are the oracle. Also the
// autograd-level functions built on them (instance_norm, adaptive_avg_pool2d,
// nn::BatchNorm2d running statistics in train then eval), and the error
// paths. Without a GPU the GPU tests report SKIPPED; the host-side geometry
// tests (the analytic window ranges the gather kernels use) run everywhere.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd/functions.h"
#include "kernels/ops.h"
#include "kernels/pad_geometry.h"
#include "kernels/pool_geometry.h"
#include "kernels/resample_geometry.h"
#include "nn/nn.h"
#include "tests/cuda/cuda_test_util.h"

using namespace loom;
using cuda_test::parity;
using cuda_test::parity1;
using cuda_test::tol_for;
using cuda_test::uniform;
using Tensors = std::vector<Tensor>;

namespace {

const DType kFloatTypes[] = {DType::Float32, DType::Float64};

// x with its last two dims stored swapped: the same values, non-contiguous.
Tensor transposed_copy(const Tensor& x) { return x.transpose(-1, -2).contiguous().transpose(-1, -2); }

// Integers in [0, levels) as floats: many ties for max pooling.
Tensor tie_heavy(const Shape& shape, Generator& g, DType dt) { return randint(0, 3, shape, g).to(dt); }

std::string pool_name(const Pool2dOptions& o) {
  return "kernel (" + std::to_string(o.kernel[0]) + "," + std::to_string(o.kernel[1]) + ") stride (" +
         std::to_string(o.stride[0]) + "," + std::to_string(o.stride[1]) + ") padding (" +
         std::to_string(o.padding[0]) + "," + std::to_string(o.padding[1]) + ")";
}

// Pooling cases: input shape and options (odd sizes, H or W = 1, overlapping windows, padding).
struct PoolCase {
  Shape shape;
  Pool2dOptions opt;
};
std::vector<PoolCase> pool_cases() {
  auto o = [](Pair k, Pair s, Pair p, bool include_pad = true) {
    Pool2dOptions r;
    r.kernel = k;
    r.stride = s;
    r.padding = p;
    r.count_include_pad = include_pad;
    return r;
  };
  return {
      {{3, 5, 7, 9}, o({2, 2}, {2, 2}, {0, 0})},  {{3, 5, 7, 9}, o({3, 3}, {2, 2}, {1, 1})},
      {{3, 5, 7, 9}, o({3, 3}, {1, 1}, {1, 1}, false)}, {{2, 3, 8, 8}, o({3, 2}, {1, 2}, {1, 1})},
      {{2, 4, 1, 9}, o({1, 3}, {1, 2}, {0, 1})},  {{2, 4, 9, 1}, o({3, 1}, {2, 1}, {1, 0}, false)},
      {{1, 2, 13, 11}, o({5, 4}, {3, 2}, {2, 2}, false)}, {{2, 257, 3, 3}, o({2, 2}, {1, 1}, {0, 0})},
      {{1, 1, 33, 33}, o({4, 4}, {4, 4}, {0, 0})},
  };
}

// Upsampling cases: (H, W) -> (OH, OW), up, down, equal, to 1 and from 1.
struct ResampleCase {
  Shape shape;
  int64_t oh, ow;
};
const ResampleCase kResampleCases[] = {
    {{3, 5, 7, 9}, 14, 18}, {{3, 5, 7, 9}, 10, 4}, {{2, 3, 1, 9}, 3, 20}, {{2, 3, 5, 5}, 5, 5},
    {{2, 3, 7, 9}, 1, 1},   {{1, 2, 4, 6}, 13, 7}, {{2, 3, 9, 1}, 33, 2}, {{1, 1, 16, 16}, 32, 32},
};

}  // namespace

// ---- host-side geometry (runs without a GPU) ----

// The output ranges the gather backward uses equal a brute-force search.
TEST(PoolGeometry, OutputsContainingMatchesBruteForce) {
  for (int64_t k = 1; k <= 5; ++k)
    for (int64_t s = 1; s <= 4; ++s)
      for (int64_t p = 0; 2 * p <= k; ++p)
        for (int64_t n = 1; n <= 12; ++n) {
          if (n + 2 * p < k) continue;
          const int64_t out = (n + 2 * p - k) / s + 1;
          for (int64_t i = 0; i < n; ++i) {
            const pool_geometry::OutputRange r = pool_geometry::outputs_containing(i, k, s, p, out);
            for (int64_t o = 0; o < out; ++o) {
              const bool inside = o * s - p <= i && i < o * s - p + k;
              const bool in_range = o >= r.lo && o < r.hi;
              EXPECT_EQ(inside, in_range) << "k " << k << " s " << s << " p " << p << " n " << n << " i " << i
                                          << " o " << o;
            }
          }
        }
}

// The outputs the resampling gather visits per input are exactly those whose
// nearest source or bilinear taps are that input.
TEST(ResampleGeometry, ReaderRangesMatchBruteForce) {
  namespace rg = resample_geometry;
  for (int64_t in = 1; in <= 9; ++in)
    for (int64_t out = 1; out <= 40; ++out)
      for (bool align : {false, true}) {
        const double scale = rg::linear_scale(in, out, align);
        for (int64_t i = 0; i < in; ++i) {
          const rg::Range rn = rg::nearest_readers(i, in, out);
          const rg::Range rb = rg::bilinear_readers(i, in, out, scale, align);
          for (int64_t d = 0; d < out; ++d) {
            const bool nearest_reads = rg::nearest_source(d, in, out) == i;
            EXPECT_EQ(nearest_reads, d >= rn.lo && d < rn.hi) << "nearest in " << in << " out " << out << " i " << i
                                                              << " d " << d;
            const rg::LinearTap t = rg::linear_tap(d, in, out, scale, align);
            const bool bilinear_reads = t.i0 == i || t.i1 == i;
            EXPECT_EQ(bilinear_reads, d >= rb.lo && d < rb.hi)
                << "bilinear in " << in << " out " << out << " align " << align << " i " << i << " d " << d;
          }
        }
      }
}

// The padding gather visits, in increasing order and once each, exactly the
// outputs whose source is the input.
TEST(PadGeometry, ReadersMatchBruteForce) {
  for (bool reflect : {false, true})
    for (int64_t n = 1; n <= 8; ++n)
      for (int64_t before = reflect ? 0 : -3; before <= (reflect ? n - 1 : 4); ++before)
        for (int64_t after = reflect ? 0 : -3; after <= (reflect ? n - 1 : 4); ++after) {
          const int64_t out = n + before + after;
          if (out <= 0) continue;
          for (int64_t i = 0; i < n; ++i) {
            std::vector<int64_t> expected;
            for (int64_t o = 0; o < out; ++o)
              if (pad_geometry::pad_source(o, n, before, reflect) == i) expected.push_back(o);
            const pad_geometry::Readers r = pad_geometry::pad_readers(i, n, out, before, reflect);
            const std::vector<int64_t> got(r.at, r.at + r.count);
            EXPECT_EQ(got, expected) << "reflect " << reflect << " n " << n << " before " << before << " after "
                                     << after << " i " << i;
          }
        }
}

// ---- batch normalisation ----

TEST(CudaNorm, BatchNormTrainForward) {
  REQUIRE_GPU();
  Generator g(11);
  const Shape shapes[] = {{3, 5, 7, 9}, {4, 3}, {2, 300, 1, 1}, {2, 3, 33, 257}, {5, 1, 1, 7}, {3, 2, 5}};
  for (DType dt : kFloatTypes)
    for (const Shape& shape : shapes)
      for (bool affine : {true, false}) {
        const int64_t C = shape[1];
        const Tensor x = uniform(shape, g, -2, 3, dt);
        const Tensor w = affine ? uniform({C}, g, 0.5, 1.5, dt) : Tensor();
        const Tensor b = affine ? uniform({C}, g, -1, 1, dt) : Tensor();
        EXPECT_TRUE(parity(
            [](const Tensors& in) {
              BatchNormResult r = ops::batch_norm_train(in[0], in[1], in[2], 1e-5);
              return Tensors{r.output, r.mean, r.invstd, r.var};
            },
            {x, w, b}, tol_for(dt)))
            << shape_str(shape) << " " << dtype_name(dt) << " affine " << affine;
      }
}

TEST(CudaNorm, BatchNormTrainNonContiguousInput) {
  REQUIRE_GPU();
  Generator g(12);
  for (DType dt : kFloatTypes) {
    const Tensor x = uniform({3, 5, 9, 7}, g, -1, 1, dt);  // read as (3, 5, 7, 9) through a transpose
    const Tensor w = uniform({5}, g, 0.5, 1.5, dt), b = uniform({5}, g, -1, 1, dt);
    EXPECT_TRUE(parity(
        [](const Tensors& in) {
          BatchNormResult r = ops::batch_norm_train(in[0].transpose(2, 3), in[1], in[2], 1e-3);
          return Tensors{r.output, r.mean, r.invstd, r.var};
        },
        {x, w, b}, tol_for(dt)))
        << dtype_name(dt);
  }
}

TEST(CudaNorm, BatchNormEvalForward) {
  REQUIRE_GPU();
  Generator g(13);
  for (DType dt : kFloatTypes)
    for (const Shape& shape : {Shape{3, 5, 7, 9}, Shape{4, 3}, Shape{2, 300, 2, 1}}) {
      const int64_t C = shape[1];
      const Tensor x = uniform(shape, g, -2, 2, dt);
      const Tensor rm = uniform({C}, g, -1, 1, dt), rv = uniform({C}, g, 0.1, 2, dt);
      const Tensor w = uniform({C}, g, 0.5, 1.5, dt), b = uniform({C}, g, -1, 1, dt);
      EXPECT_TRUE(parity1([](const Tensors& in) { return ops::batch_norm_eval(in[0], in[1], in[2], in[3], in[4], 1e-5); },
                          {x, w, b, rm, rv}, tol_for(dt)))
          << shape_str(shape) << " " << dtype_name(dt);
      EXPECT_TRUE(parity1([](const Tensors& in) {
                            return ops::batch_norm_eval(in[0].transpose(0, 1).transpose(0, 1), Tensor(), Tensor(),
                                                        in[1], in[2], 1e-5);
                          },
                          {x, rm, rv}, tol_for(dt)))
          << "no affine, " << shape_str(shape) << " " << dtype_name(dt);
    }
}

TEST(CudaNorm, BatchNormEvalRefusesNonPositiveVariance) {
  REQUIRE_GPU();
  const Device dev = cuda_test::gpu();
  const Tensor x = Tensor::ones({2, 3, 4}, DType::Float32, dev);
  const Tensor rm = Tensor::zeros({3}, DType::Float32, dev), rv = Tensor::full({3}, -1.0, DType::Float32, dev);
  EXPECT_THROW(ops::batch_norm_eval(x, Tensor(), Tensor(), rm, rv, 1e-5), Error);
}

TEST(CudaNorm, BatchNormTrainBackward) {
  REQUIRE_GPU();
  Generator g(14);
  const Shape shapes[] = {{3, 5, 7, 9}, {4, 3}, {2, 300, 1, 1}, {2, 3, 33, 257}, {3, 2, 5}};
  for (DType dt : kFloatTypes)
    for (const Shape& shape : shapes)
      for (bool affine : {true, false}) {
        const int64_t C = shape[1];
        const Tensor x = uniform(shape, g, -2, 3, dt), grad = uniform(shape, g, -1, 1, dt);
        const Tensor w = affine ? uniform({C}, g, 0.5, 1.5, dt) : Tensor();
        // The statistics as the forward gives them (from the CPU: both sides get the same numbers).
        const BatchNormResult fwd = ops::batch_norm_train(x, w, Tensor(), 1e-5);
        EXPECT_TRUE(parity(
            [](const Tensors& in) {
              BatchNormGrads d = ops::batch_norm_backward_train(in[0], in[1], in[2], in[3], in[4]);
              return Tensors{d.grad_input, d.grad_weight, d.grad_bias};
            },
            {grad, x, w, fwd.mean, fwd.invstd}, tol_for(dt)))
            << shape_str(shape) << " " << dtype_name(dt) << " affine " << affine;
      }
  // Strided grad_out and input.
  for (DType dt : kFloatTypes) {
    const Tensor x = uniform({3, 5, 9, 7}, g, -1, 1, dt), grad = uniform({3, 5, 9, 7}, g, -1, 1, dt);
    const Tensor w = uniform({5}, g, 0.5, 1.5, dt);
    const BatchNormResult fwd = ops::batch_norm_train(x.transpose(2, 3), w, Tensor(), 1e-5);
    EXPECT_TRUE(parity(
        [](const Tensors& in) {
          BatchNormGrads d =
              ops::batch_norm_backward_train(in[0].transpose(2, 3), in[1].transpose(2, 3), in[2], in[3], in[4]);
          return Tensors{d.grad_input, d.grad_weight, d.grad_bias};
        },
        {grad, x, w, fwd.mean, fwd.invstd}, tol_for(dt)))
        << "strided, " << dtype_name(dt);
  }
}

// ---- pooling ----

TEST(CudaPool, MaxPoolForwardValuesAndIndices) {
  REQUIRE_GPU();
  Generator g(21);
  for (DType dt : kFloatTypes)
    for (const PoolCase& c : pool_cases())
      for (bool ties : {false, true}) {
        const Tensor x = ties ? tie_heavy(c.shape, g, dt) : uniform(c.shape, g, -1, 1, dt);
        EXPECT_TRUE(parity(
            [&](const Tensors& in) {
              MaxPoolResult r = ops::max_pool2d(in[0], c.opt);
              return Tensors{r.output, r.indices};
            },
            {x}, {0, 0}))
            << shape_str(c.shape) << " " << pool_name(c.opt) << " " << dtype_name(dt) << " ties " << ties;
      }
}

TEST(CudaPool, MaxPoolForwardNaNAndStridedInput) {
  REQUIRE_GPU();
  Generator g(22);
  Pool2dOptions opt;
  opt.kernel = {3, 3};
  opt.stride = {2, 2};
  opt.padding = {1, 1};
  for (DType dt : kFloatTypes) {
    Tensor x = uniform({2, 3, 9, 7}, g, -1, 1, dt);
    std::vector<double> v = x.to_vector<double>();
    for (size_t i = 0; i < v.size(); i += 17) v[i] = NAN;  // NaN wins its windows
    x = Tensor::from_vector<double>(v, x.shape()).to(dt);
    EXPECT_TRUE(parity(
        [&](const Tensors& in) {
          MaxPoolResult r = ops::max_pool2d(in[0].transpose(2, 3), opt);
          return Tensors{r.output, r.indices};
        },
        {x}, {0, 0}))
        << dtype_name(dt);
  }
}

TEST(CudaPool, MaxPoolBackward) {
  REQUIRE_GPU();
  Generator g(23);
  for (DType dt : kFloatTypes)
    for (const PoolCase& c : pool_cases()) {
      // Overlapping windows over tied values: many outputs send their gradient to one input.
      const Tensor x = tie_heavy(c.shape, g, dt);
      const Tensor indices = ops::max_pool2d(x, c.opt).indices;
      const Tensor grad = uniform(indices.shape(), g, -1, 1, dt);
      const Shape in_shape = c.shape;
      EXPECT_TRUE(parity1([&](const Tensors& in) { return ops::max_pool2d_backward(in[0], in[1], in_shape); },
                          {grad, indices}, tol_for(dt)))
          << shape_str(c.shape) << " " << pool_name(c.opt) << " " << dtype_name(dt);
    }
}

TEST(CudaPool, MaxPoolBackwardRefusesBadIndex) {
  REQUIRE_GPU();
  const Device dev = cuda_test::gpu();
  const Tensor grad = Tensor::ones({1, 2, 2, 2}, DType::Float32, dev);
  const Tensor bad = Tensor::full({1, 2, 2, 2}, 16.0, DType::Int64, dev);  // the plane has 16 elements
  EXPECT_THROW(ops::max_pool2d_backward(grad, bad, {1, 2, 4, 4}), Error);
}

TEST(CudaPool, AvgPoolForwardAndBackward) {
  REQUIRE_GPU();
  Generator g(24);
  for (DType dt : kFloatTypes)
    for (const PoolCase& c : pool_cases())
      for (bool include_pad : {true, false}) {
        Pool2dOptions opt = c.opt;
        opt.count_include_pad = include_pad;
        const Tensor x = uniform(c.shape, g, -1, 1, dt);
        EXPECT_TRUE(parity1([&](const Tensors& in) { return ops::avg_pool2d(in[0], opt); }, {x}, tol_for(dt)))
            << "forward " << shape_str(c.shape) << " " << pool_name(opt) << " " << dtype_name(dt);
        EXPECT_TRUE(parity1([&](const Tensors& in) { return ops::avg_pool2d(transposed_copy(in[0]), opt); }, {x},
                            tol_for(dt)))
            << "forward, strided " << shape_str(c.shape) << " " << pool_name(opt);
        const Tensor out = ops::avg_pool2d(x, opt);
        const Tensor grad = uniform(out.shape(), g, -1, 1, dt);
        const Shape in_shape = c.shape;
        EXPECT_TRUE(parity1([&](const Tensors& in) { return ops::avg_pool2d_backward(in[0], in_shape, opt); },
                            {grad}, tol_for(dt)))
            << "backward " << shape_str(c.shape) << " " << pool_name(opt) << " " << dtype_name(dt);
      }
}

// ---- resampling ----

TEST(CudaResample, NearestForwardAndBackward) {
  REQUIRE_GPU();
  Generator g(31);
  for (DType dt : kFloatTypes)
    for (const ResampleCase& c : kResampleCases) {
      const Tensor x = uniform(c.shape, g, -1, 1, dt);
      EXPECT_TRUE(parity1([&](const Tensors& in) { return ops::upsample_nearest2d(in[0], c.oh, c.ow); }, {x},
                          {0, 0}))
          << shape_str(c.shape) << " -> " << c.oh << "x" << c.ow << " " << dtype_name(dt);
      EXPECT_TRUE(parity1([&](const Tensors& in) { return ops::upsample_nearest2d(transposed_copy(in[0]), c.oh, c.ow); },
                          {x}, {0, 0}))
          << "strided";
      const Tensor grad = uniform({c.shape[0], c.shape[1], c.oh, c.ow}, g, -1, 1, dt);
      const Shape in_shape = c.shape;
      EXPECT_TRUE(parity1([&](const Tensors& in) { return ops::upsample_nearest2d_backward(in[0], in_shape); },
                          {grad}, tol_for(dt)))
          << "backward " << shape_str(c.shape) << " -> " << c.oh << "x" << c.ow << " " << dtype_name(dt);
    }
}

TEST(CudaResample, BilinearForwardAndBackward) {
  REQUIRE_GPU();
  Generator g(32);
  for (DType dt : kFloatTypes)
    for (const ResampleCase& c : kResampleCases)
      for (bool align : {false, true}) {
        const Tensor x = uniform(c.shape, g, -1, 1, dt);
        EXPECT_TRUE(parity1([&](const Tensors& in) { return ops::upsample_bilinear2d(in[0], c.oh, c.ow, align); },
                            {x}, tol_for(dt)))
            << shape_str(c.shape) << " -> " << c.oh << "x" << c.ow << " align " << align << " " << dtype_name(dt);
        EXPECT_TRUE(parity1(
            [&](const Tensors& in) { return ops::upsample_bilinear2d(transposed_copy(in[0]), c.oh, c.ow, align); },
            {x}, tol_for(dt)))
            << "strided";
        const Tensor grad = uniform({c.shape[0], c.shape[1], c.oh, c.ow}, g, -1, 1, dt);
        const Shape in_shape = c.shape;
        EXPECT_TRUE(parity1(
            [&](const Tensors& in) { return ops::upsample_bilinear2d_backward(in[0], in_shape, align); }, {grad},
            tol_for(dt)))
            << "backward " << shape_str(c.shape) << " -> " << c.oh << "x" << c.ow << " align " << align << " "
            << dtype_name(dt);
      }
}

// ---- cat, pad, one_hot ----

TEST(CudaShapeOps, CatAnyDimManyStridedInputs) {
  REQUIRE_GPU();
  Generator g(41);
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64, DType::UInt8})
    for (int64_t dim : {0, 1, 2, -1}) {
      Tensors parts;
      const int64_t sizes[] = {1, 3, 0, 7, 2, 5, 1};  // along dim, one empty
      for (int64_t s : sizes) {
        Shape shape{3, 4, 5, 6};
        shape[dim < 0 ? 3 : dim] = s;
        parts.push_back(randint(0, 100, shape, g).to(dt));
      }
      EXPECT_TRUE(parity1([&](const Tensors& in) { return ops::cat(in, dim); }, parts, {0, 0}))
          << "dim " << dim << " " << dtype_name(dt);
      // Strided views: every input seen through a transpose of its dims 1 and 2.
      Tensors stored;
      for (const Tensor& p : parts) stored.push_back(p.transpose(1, 2).contiguous());
      const int64_t view_dim = dim == 1 ? 2 : dim == 2 ? 1 : dim;  // the dim of the stored tensors
      EXPECT_TRUE(parity1(
          [&](const Tensors& in) {
            Tensors views;
            for (const Tensor& t : in) views.push_back(t.transpose(1, 2));
            return ops::cat(views, dim);
          },
          stored, {0, 0}))
          << "strided, dim " << dim << " (stored dim " << view_dim << ") " << dtype_name(dt);
    }
}

TEST(CudaShapeOps, Pad2dForwardAndBackward) {
  REQUIRE_GPU();
  Generator g(42);
  struct PadCase {
    Shape shape;
    Pad2d pad;
    PadMode mode;
  };
  const PadCase cases[] = {
      {{3, 5, 7, 9}, {1, 2, 3, 1}, PadMode::Reflect}, {{2, 3, 7, 9}, {8, 8, 6, 6}, PadMode::Reflect},
      {{7, 9}, {1, 1, 1, 1}, PadMode::Reflect},       {{2, 2, 2, 3, 4}, {2, 0, 1, 1}, PadMode::Reflect},
      {{1, 1, 2, 2}, {1, 1, 1, 1}, PadMode::Reflect}, {{3, 5, 7, 9}, {1, 2, 3, 0}, PadMode::Zero},
      {{3, 5, 7, 9}, {-2, 1, 0, -3}, PadMode::Zero},  {{2, 1, 9}, {0, 0, 4, 5}, PadMode::Zero},
  };
  for (DType dt : kFloatTypes)
    for (const PadCase& c : cases) {
      const Tensor x = uniform(c.shape, g, -1, 1, dt);
      EXPECT_TRUE(parity1([&](const Tensors& in) { return ops::pad2d(in[0], c.pad, c.mode); }, {x}, {0, 0}))
          << shape_str(c.shape);
      EXPECT_TRUE(parity1([&](const Tensors& in) { return ops::pad2d(transposed_copy(in[0]), c.pad, c.mode); }, {x},
                          {0, 0}))
          << "strided " << shape_str(c.shape);
      const Tensor out = ops::pad2d(x, c.pad, c.mode);
      const Tensor grad = uniform(out.shape(), g, -1, 1, dt);
      const Shape in_shape = c.shape;
      EXPECT_TRUE(parity1([&](const Tensors& in) { return ops::pad2d_backward(in[0], in_shape, c.pad, c.mode); },
                          {grad}, tol_for(dt)))
          << "backward " << shape_str(c.shape) << " " << (c.mode == PadMode::Zero ? "zero" : "reflect") << " "
          << dtype_name(dt);
    }
  // Integer dtypes go through the forward too.
  const Tensor labels = randint(0, 50, {2, 5, 6}, g);
  EXPECT_TRUE(parity1([](const Tensors& in) { return ops::pad2d(in[0], {2, 1, 1, 3}, PadMode::Reflect); }, {labels},
                      {0, 0}));
  EXPECT_TRUE(parity1([](const Tensors& in) { return ops::pad2d(in[0].to(DType::UInt8), {2, 1, 1, 3}, PadMode::Zero); },
                      {labels}, {0, 0}));
}

TEST(CudaShapeOps, OneHot) {
  REQUIRE_GPU();
  Generator g(43);
  const Tensor labels = randint(0, 7, {3, 5, 4}, g);
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64, DType::UInt8}) {
    EXPECT_TRUE(parity1([&](const Tensors& in) { return ops::one_hot(in[0], 9, dt); }, {labels}, {0, 0}))
        << dtype_name(dt);
    EXPECT_TRUE(parity1([&](const Tensors& in) { return ops::one_hot(in[0].transpose(0, 2), -1, dt); }, {labels},
                        {0, 0}))
        << "inferred classes, strided labels, " << dtype_name(dt);
  }
}

TEST(CudaShapeOps, OneHotRefusesOutOfRangeLabels) {
  REQUIRE_GPU();
  const Tensor cpu_labels = Tensor::from_vector<int64_t>({0, 2, 5, 1, -1}, {5});
  const Tensor labels = cuda_test::to_gpu(cpu_labels);
  for (int64_t classes : {int64_t{5}, int64_t{-1}}) {
    std::string cpu_message, cuda_message;
    try {
      ops::one_hot(cpu_labels, classes, DType::Float32);
    } catch (const Error& e) {
      cpu_message = e.what();
    }
    try {
      ops::one_hot(labels, classes, DType::Float32);
    } catch (const Error& e) {
      cuda_message = e.what();
    }
    EXPECT_FALSE(cuda_message.empty()) << "classes " << classes;
    EXPECT_EQ(cuda_message, cpu_message) << "classes " << classes;
  }
}

// ---- autograd-level functions composed of these ops ----

namespace {
// y = f(x) and dL/dx for L = sum(y r), with fixed random r, on x's device.
Tensors value_and_input_grad(const std::function<Tensor(const Tensor&)>& f, const Tensor& x_in, const Tensor& r) {
  Tensor x = x_in.detach();
  x.requires_grad_();
  Tensor y = f(x);
  sum(mul(y, r)).backward();
  return {y.detach(), x.grad()};
}
}  // namespace

TEST(CudaAutogradComposed, InstanceNormForwardAndBackward) {
  REQUIRE_GPU();
  Generator g(51);
  for (DType dt : kFloatTypes) {
    const Shape shape{3, 5, 7, 9};
    const Tensor x = uniform(shape, g, -2, 2, dt), r = uniform(shape, g, -1, 1, dt);
    const Tensor w = uniform({5}, g, 0.5, 1.5, dt), b = uniform({5}, g, -1, 1, dt);
    EXPECT_TRUE(parity(
        [](const Tensors& in) {
          Tensor wp = in[2].detach(), bp = in[3].detach();
          wp.requires_grad_();
          bp.requires_grad_();
          Tensors out = value_and_input_grad([&](const Tensor& v) { return instance_norm(v, wp, bp, 1e-5); }, in[0],
                                             in[1]);
          out.push_back(wp.grad());
          out.push_back(bp.grad());
          return out;
        },
        {x, r, w, b}, tol_for(dt)))
        << dtype_name(dt);
  }
}

TEST(CudaAutogradComposed, AdaptiveAvgPoolForwardAndBackward) {
  REQUIRE_GPU();
  Generator g(52);
  for (DType dt : kFloatTypes)
    for (int64_t size : {1, 2, 3}) {
      const Tensor x = uniform({3, 5, 6, 12}, g, -1, 1, dt), r = uniform({3, 5, size, size}, g, -1, 1, dt);
      EXPECT_TRUE(parity(
          [&](const Tensors& in) {
            return value_and_input_grad([&](const Tensor& v) { return adaptive_avg_pool2d(v, size); }, in[0], in[1]);
          },
          {x, r}, tol_for(dt)))
          << "output size " << size << " " << dtype_name(dt);
    }
}

TEST(CudaAutogradComposed, BatchNorm2dRunningStatisticsTrainThenEval) {
  REQUIRE_GPU();
  Generator g(53);
  for (DType dt : kFloatTypes) {
    const Tensors batches = {uniform({4, 6, 5, 7}, g, -1, 2, dt), uniform({4, 6, 5, 7}, g, -2, 1, dt),
                             uniform({3, 6, 5, 7}, g, -1, 1, dt)};
    const Tensor r = uniform({3, 6, 5, 7}, g, -1, 1, dt);
    EXPECT_TRUE(parity(
        [&](const Tensors& in) {
          const Device dev = in[0].device();
          auto bn = nn::make<nn::BatchNorm2d>({.features = 6});
          bn->to(dt);
          bn->to(dev);
          bn->train();
          Tensors out;
          out.push_back(bn->forward(in[0]).detach());  // batch statistics, running ones updated
          out.push_back(bn->forward(in[1]).detach());
          bn->eval();
          out.push_back(bn->forward(in[2]).detach());  // running statistics
          out.push_back(bn->running_mean.detach().clone());
          out.push_back(bn->running_var.detach().clone());
          // The eval-mode gradient through the running statistics.
          Tensors vg = value_and_input_grad([&](const Tensor& v) { return bn->forward(v); }, in[2], in[3]);
          out.push_back(vg[1]);
          return out;
        },
        {batches[0], batches[1], batches[2], r}, tol_for(dt)))
        << dtype_name(dt);
  }
}
