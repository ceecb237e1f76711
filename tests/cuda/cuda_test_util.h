// cuda_test_util.h: what the CUDA parity tests share. REQUIRE_GPU() skips a
// test, saying why, when there is no GPU (or no CUDA in the build). The parity
// helpers run one function on CPU tensors and on CUDA copies of them, with
// every new CUDA block poisoned (NaN bytes) so an output element a kernel
// forgot to write fails, and compare elementwise: |cuda - cpu| <= atol +
// rtol |cpu|, where a NaN never passes and shapes and dtypes must match.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/functions.h"  // Tensor * double in uniform()
#include "tensor/cuda_runtime.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace loom::cuda_test {

inline bool have_gpu() { return cuda_rt::device_count() > 0; }

#define REQUIRE_GPU()                                                                        \
  if (!::loom::cuda_test::have_gpu())                                                        \
  GTEST_SKIP() << (::loom::cuda_rt::built_with_cuda() ? "no CUDA device on this machine"     \
                                                      : "loom was built without CUDA (LOOM_CUDA=OFF or no nvcc)")

inline Device gpu() { return Device::cuda(0); }
inline Tensor to_gpu(const Tensor& t) { return t.defined() ? t.to(gpu()) : t; }
inline Tensor to_cpu(const Tensor& t) { return t.defined() ? t.to(Device::cpu()) : t; }

// While alive, every CUDA block handed out is filled with 0xFF bytes (NaN).
struct PoisonGuard {
  PoisonGuard() { cuda_rt::set_poison_allocations(true); }
  ~PoisonGuard() { cuda_rt::set_poison_allocations(false); }
};

// Uniform in [lo, hi) of `shape` on the CPU: fresh numbers from the generator each call.
inline Tensor uniform(const Shape& shape, Generator& g, double lo = -1, double hi = 1, DType dt = DType::Float32) {
  return rand(shape, g, dt) * (hi - lo) + lo;
}

// Compares a CUDA result with the CPU reference (see the header comment).
inline ::testing::AssertionResult close_to_reference(const Tensor& cuda_result, const Tensor& cpu_ref, double atol,
                                                     double rtol) {
  if (!cuda_result.defined() || !cpu_ref.defined())
    return cuda_result.defined() == cpu_ref.defined() ? ::testing::AssertionSuccess()
                                                      : ::testing::AssertionFailure() << "one result is undefined";
  if (!cuda_result.device().is_cuda()) return ::testing::AssertionFailure() << "the CUDA result is on the CPU";
  if (cuda_result.shape() != cpu_ref.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(cuda_result.shape()) << " vs CPU "
                                         << shape_str(cpu_ref.shape());
  if (cuda_result.dtype() != cpu_ref.dtype())
    return ::testing::AssertionFailure() << "dtype " << dtype_name(cuda_result.dtype()) << " vs CPU "
                                         << dtype_name(cpu_ref.dtype());
  const std::vector<double> got = to_cpu(cuda_result).to_vector<double>(), ref = cpu_ref.to_vector<double>();
  int64_t bad = 0, first = -1;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = std::fabs(got[i] - ref[i]);
    const bool both_nan = std::isnan(got[i]) && std::isnan(ref[i]);
    const bool same_inf = std::isinf(ref[i]) && got[i] == ref[i];
    if (both_nan || same_inf) continue;
    if (!(d <= atol + rtol * std::fabs(ref[i]))) {  // NaN fails here
      if (first < 0) first = static_cast<int64_t>(i);
      ++bad;
      worst = std::isnan(d) ? d : std::max(worst, d);
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << got.size() << " elements differ (atol " << atol
                                       << ", rtol " << rtol << "); first at flat index " << first << ": cuda "
                                       << got[first] << " vs cpu " << ref[first] << "; worst |d| " << worst;
}

// Tolerances per dtype for ops whose CUDA summation order differs from the CPU's.
struct Tol {
  double atol, rtol;
};
inline Tol tol_for(DType dt) { return dt == DType::Float64 ? Tol{1e-12, 1e-10} : Tol{1e-5, 1e-5}; }

// Runs f on `inputs` (CPU) and on CUDA copies of them (poisoned allocations),
// and compares every output. f returns one tensor or several.
inline ::testing::AssertionResult parity(const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& f,
                                         const std::vector<Tensor>& inputs, Tol tol) {
  const std::vector<Tensor> ref = f(inputs);
  std::vector<Tensor> gpu_inputs;
  for (const Tensor& t : inputs) gpu_inputs.push_back(to_gpu(t));
  std::vector<Tensor> got;
  {
    PoisonGuard poison;
    got = f(gpu_inputs);
  }
  if (got.size() != ref.size()) return ::testing::AssertionFailure() << "output count differs";
  for (size_t i = 0; i < ref.size(); ++i) {
    ::testing::AssertionResult r = close_to_reference(got[i], ref[i], tol.atol, tol.rtol);
    if (!r) return ::testing::AssertionFailure() << "output " << i << ": " << r.message();
  }
  return ::testing::AssertionSuccess();
}

// One-output form.
inline ::testing::AssertionResult parity1(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                          const std::vector<Tensor>& inputs, Tol tol) {
  return parity([&](const std::vector<Tensor>& in) { return std::vector<Tensor>{f(in)}; }, inputs, tol);
}

}  // namespace loom::cuda_test
