// reduce.cpp: sum, mean, amax, amin, var, argmax, softmax and log_softmax on
// the CPU.
//
// Every reduction first permutes the kept dims to the front and the reduced
// dims to the back, and makes that dense: a (rows, R) matrix whose rows are
// reduced independently. Sums are accumulated in double in a fixed order
// (8 interleaved partial sums within blocks of 4096, blocks added in order), so
// the result never depends on how many threads ran.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_util.h"
#include "kernels/reduce_shape.h"

namespace loom::cpu {

namespace {

constexpr int64_t kBlock = 4096;

struct ReducePlan {
  std::vector<int64_t> perm;  // kept dims then reduced dims
  Shape out_shape;            // with or without the reduced dims (keepdim)
  Shape permuted_shape;       // x's shape in perm order
  int64_t rows = 1, R = 1;    // the dense (rows, R) view
  Tensor dense;               // x permuted and made dense
};

ReducePlan make_plan(const Tensor& x, const std::vector<int64_t>& dims_in, bool keepdim, const char* op) {
  const ReduceShape s = reduce_shape(x.shape(), dims_in, keepdim, op);
  ReducePlan p;
  p.perm = s.perm;
  p.out_shape = s.out_shape;
  p.rows = s.rows;
  p.R = s.R;
  Tensor perm_view = raw_permute(x, p.perm);
  p.permuted_shape = perm_view.shape();
  p.dense = raw_contiguous(perm_view);
  return p;
}

// Sum of n values in the fixed order described at the top.
template <class T, class F>
double fixed_order_sum(const T* v, int64_t n, F f) {
  double total = 0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = b;
    for (; i + 8 <= e; i += 8)
      for (int j = 0; j < 8; ++j) acc[j] += f(static_cast<double>(v[i + j]));
    for (int j = 0; i < e; ++i, ++j) acc[j] += f(static_cast<double>(v[i]));
    total += ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  }
  return total;
}

// Calls row_fn(row) for every row, in parallel when there is enough work.
template <class F>
void for_each_row(int64_t rows, int64_t R, F row_fn) {
#pragma omp parallel for schedule(static) if (rows > 1 && rows * R > 32768)
  for (int64_t r = 0; r < rows; ++r) row_fn(r);
}

// Sum-like reductions: out[row] = finish(sum_i f(x[row, i]), row).
template <class F, class Finish>
Tensor sum_reduce(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, const char* op, F f,
                  Finish finish) {
  check_float(x, op);
  ReducePlan p = make_plan(x, dims, keepdim, op);
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor out = Tensor::empty(p.out_shape, x.dtype());
    scalar_t* o = out.data<scalar_t>();
    const scalar_t* v = p.dense.template data<scalar_t>();
    if (p.rows == 1 && p.R > 2 * kBlock) {
      // One long row: blocks in parallel, then added in order.
      const int64_t nblocks = (p.R + kBlock - 1) / kBlock;
      std::vector<double> partial(nblocks);
      _Pragma("omp parallel for schedule(static)")
      for (int64_t b = 0; b < nblocks; ++b)
        partial[b] = fixed_order_sum(v + b * kBlock, std::min(kBlock, p.R - b * kBlock), f);
      double total = 0;
      for (double s : partial) total += s;
      o[0] = static_cast<scalar_t>(finish(total, 0));
    } else {
      for_each_row(p.rows, p.R, [&](int64_t r) {
        o[r] = static_cast<scalar_t>(finish(fixed_order_sum(v + r * p.R, p.R, f), r));
      });
    }
    return out;
  });
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return sum_reduce(x, dims, keepdim, "sum", [](double v) { return v; }, [](double s, int64_t) { return s; });
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  int64_t count = dims.empty() ? x.numel() : 1;  // elements averaged into each output
  for (int64_t d : dims) count *= x.shape()[normalize_dim(d, x.dim(), "mean")];
  return sum_reduce(x, dims, keepdim, "mean", [](double v) { return v; },
                    [count](double s, int64_t) { return s / static_cast<double>(count); });
}

// var = sum (x - mean)^2 / (R - correction), two passes per row.
Tensor var(const Tensor& x, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) {
  check_float(x, "var");
  ReducePlan p = make_plan(x, dims, keepdim, "var");
  LOOM_CHECK(p.R - correction > 0, "var: ", p.R, " elements are too few for correction ", correction);
  return LOOM_DISPATCH_FLOATING(x.dtype(), "var", [&] {
    Tensor out = Tensor::empty(p.out_shape, x.dtype());
    scalar_t* o = out.data<scalar_t>();
    const scalar_t* v = p.dense.template data<scalar_t>();
    for_each_row(p.rows, p.R, [&](int64_t r) {
      const scalar_t* row = v + r * p.R;
      const double mu = fixed_order_sum(row, p.R, [](double a) { return a; }) / static_cast<double>(p.R);
      const double ss = fixed_order_sum(row, p.R, [mu](double a) { return (a - mu) * (a - mu); });
      o[r] = static_cast<scalar_t>(ss / static_cast<double>(p.R - correction));
    });
    return out;
  });
}

namespace {

// Max or min over rows; NaN wins (propagates), as in PyTorch.
template <bool IsMax>
Tensor extreme(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, const char* op) {
  check_float(x, op);
  LOOM_CHECK(x.numel() > 0, op, ": cannot reduce an empty tensor (shape ", shape_str(x.shape()), ")");
  ReducePlan p = make_plan(x, dims, keepdim, op);
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor out = Tensor::empty(p.out_shape, x.dtype());
    scalar_t* o = out.data<scalar_t>();
    const scalar_t* v = p.dense.template data<scalar_t>();
    for_each_row(p.rows, p.R, [&](int64_t r) {
      const scalar_t* row = v + r * p.R;
      scalar_t best = row[0];
      for (int64_t i = 1; i < p.R && !std::isnan(best); ++i) {
        const scalar_t a = row[i];
        if (std::isnan(a) || (IsMax ? a > best : a < best)) best = a;
      }
      o[r] = best;
    });
    return out;
  });
}

}  // namespace

Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme<true>(x, dims, keepdim, "amax");
}
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme<false>(x, dims, keepdim, "amin");
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  check_float(x, "argmax");
  ReducePlan p = make_plan(x, {dim}, keepdim, "argmax");
  LOOM_CHECK(p.R > 0, "argmax: dim ", dim, " is empty");
  return LOOM_DISPATCH_FLOATING(x.dtype(), "argmax", [&] {
    Tensor out = Tensor::empty(p.out_shape, DType::Int64);
    int64_t* o = out.data<int64_t>();
    const scalar_t* v = p.dense.template data<scalar_t>();
    for_each_row(p.rows, p.R, [&](int64_t r) {
      const scalar_t* row = v + r * p.R;
      int64_t best = 0;
      for (int64_t i = 1; i < p.R && !std::isnan(row[best]); ++i)
        if (std::isnan(row[i]) || row[i] > row[best]) best = i;
      o[r] = best;
    });
    return out;
  });
}

// ---- softmax family: rows along `dim` ---------------------------------------
namespace {

// Runs row_fn(in_rows..., out_row, R) over the rows along dim of same-shape
// inputs and returns the result in the inputs' (dense) layout.
template <class RowFn>
Tensor along_dim(const std::vector<Tensor>& ins, int64_t dim, const char* op, RowFn row_fn) {
  const Tensor& x = ins[0];
  check_float(x, op);
  for (const Tensor& t : ins) {
    check_same_dtype_device(x, t, op);
    LOOM_CHECK(t.shape() == x.shape(), op, ": shapes ", shape_str(x.shape()), " and ", shape_str(t.shape()),
               " differ");
  }
  const int64_t d = normalize_dim(dim, x.dim(), op);
  std::vector<ReducePlan> plans;
  for (const Tensor& t : ins) plans.push_back(make_plan(t, {d}, true, op));
  const ReducePlan& p = plans[0];
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor out_perm = Tensor::empty(p.permuted_shape, x.dtype());
    scalar_t* o = out_perm.data<scalar_t>();
    std::vector<const scalar_t*> in_ptrs;
    for (const ReducePlan& q : plans) in_ptrs.push_back(q.dense.template data<scalar_t>());
    for_each_row(p.rows, p.R, [&](int64_t r) {
      std::vector<const scalar_t*> rows;
      for (const scalar_t* ip : in_ptrs) rows.push_back(ip + r * p.R);
      row_fn(rows, o + r * p.R, p.R);
    });
    // Undo the permutation.
    std::vector<int64_t> inverse(p.perm.size());
    for (size_t i = 0; i < p.perm.size(); ++i) inverse[p.perm[i]] = static_cast<int64_t>(i);
    return raw_contiguous(raw_permute(out_perm, inverse));
  });
}

}  // namespace

// softmax_i = exp(x_i - max) / sum_j exp(x_j - max)
Tensor softmax(const Tensor& x, int64_t dim) {
  return along_dim({x}, dim, "softmax", [](const auto& in, auto* out, int64_t R) {
    const auto* row = in[0];
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < R; ++i) mx = std::max(mx, static_cast<double>(row[i]));
    double s = 0;
    for (int64_t i = 0; i < R; ++i) s += std::exp(static_cast<double>(row[i]) - mx);
    for (int64_t i = 0; i < R; ++i)
      out[i] = static_cast<std::remove_reference_t<decltype(*out)>>(std::exp(static_cast<double>(row[i]) - mx) / s);
  });
}

// log_softmax_i = x_i - max - log sum_j exp(x_j - max)
Tensor log_softmax(const Tensor& x, int64_t dim) {
  return along_dim({x}, dim, "log_softmax", [](const auto& in, auto* out, int64_t R) {
    const auto* row = in[0];
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < R; ++i) mx = std::max(mx, static_cast<double>(row[i]));
    double s = 0;
    for (int64_t i = 0; i < R; ++i) s += std::exp(static_cast<double>(row[i]) - mx);
    const double lse = mx + std::log(s);
    for (int64_t i = 0; i < R; ++i)
      out[i] = static_cast<std::remove_reference_t<decltype(*out)>>(static_cast<double>(row[i]) - lse);
  });
}

// d softmax: dx_i = y_i (g_i - sum_j g_j y_j)
Tensor softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim) {
  return along_dim({grad, y}, dim, "softmax_backward", [](const auto& in, auto* out, int64_t R) {
    const auto *g = in[0], *yy = in[1];
    double dot = 0;
    for (int64_t i = 0; i < R; ++i) dot += static_cast<double>(g[i]) * static_cast<double>(yy[i]);
    for (int64_t i = 0; i < R; ++i)
      out[i] = static_cast<std::remove_reference_t<decltype(*out)>>(yy[i] * (g[i] - dot));
  });
}

// d log_softmax: dx_i = g_i - exp(y_i) sum_j g_j
Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim) {
  return along_dim({grad, y}, dim, "log_softmax_backward", [](const auto& in, auto* out, int64_t R) {
    const auto *g = in[0], *yy = in[1];
    double gs = 0;
    for (int64_t i = 0; i < R; ++i) gs += static_cast<double>(g[i]);
    for (int64_t i = 0; i < R; ++i)
      out[i] = static_cast<std::remove_reference_t<decltype(*out)>>(g[i] - std::exp(static_cast<double>(yy[i])) * gs);
  });
}

}  // namespace loom::cpu
