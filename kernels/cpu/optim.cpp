// optim.cpp: the CPU reference of the fused optimizer updates
// (ops::adam_update, ops::sgd_update): one loop per parameter over param,
// grad and its moments, in place. The element update is
// optim_update::adam_element / sgd_element (kernels/optim_update.h), the
// arithmetic of the composite nn::Adam / nn::SGD step, so this op gives the
// composite's bits; it is the oracle of the CUDA kernels (kernels/cuda/optim.cu).
//
// Tensors updated in place may be any strided view: a view that is not dense
// is updated through a dense copy that is written back. The gradient is read
// through a dense copy when it is not dense.
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_util.h"

// No FMA contraction from here on, in the element updates of
// optim_update.h included below too: the composite step rounds every product
// and sum separately (one op per kernel), and so must the fused loop.
#pragma GCC optimize("fp-contract=off")
#include "kernels/optim_update.h"

namespace loom::cpu {

namespace {

using optim_update::adam_element;
using optim_update::sgd_element;

// A dense tensor to update in place for `t`, and writing it back when it was a copy.
struct InPlace {
  Tensor target;  // the caller's tensor (undefined: nothing to update)
  Tensor work;    // target itself when dense, else a dense copy
  explicit InPlace(const Tensor& t) : target(t), work(t.defined() ? raw_contiguous(t) : t) {}
  void write_back() {
    if (target.defined() && !work.is_same(target)) target.copy_(work);
  }
};

// Calls body(i) for i in [0, n), in parallel for large n (elementwise work:
// the result does not depend on the thread count).
template <class F>
void for_each_element(int64_t n, F body) {
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) body(i);
}

}  // namespace

void adam_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                 const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                 const std::vector<Tensor>& max_exp_avg_sqs, const std::vector<int64_t>& steps,
                 const AdamUpdateOptions& opt) {
  optim_update::check_adam_args(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, opt, false);
  for (size_t k = 0; k < params.size(); ++k) {
    const int64_t n = params[k].numel();
    if (n == 0) continue;
    InPlace p(params[k]), m(exp_avgs[k]), v(exp_avg_sqs[k]);
    InPlace v_max(opt.amsgrad ? max_exp_avg_sqs[k] : Tensor());
    const Tensor g = raw_contiguous(grads[k]);
    const optim_update::AdamStepCoefficients c = optim_update::adam_step_coefficients(opt, steps[k]);
    LOOM_DISPATCH_FLOATING(params[k].dtype(), "adam_update", [&] {
      const optim_update::AdamScalars<scalar_t> s = optim_update::adam_scalars<scalar_t>(opt);
      const scalar_t step_size = static_cast<scalar_t>(c.step_size);
      const scalar_t bc2_sqrt = static_cast<scalar_t>(c.bias_correction2_sqrt);
      scalar_t* pp = p.work.data<scalar_t>();   // (n) each
      const scalar_t* gp = g.data<scalar_t>();
      scalar_t* mp = m.work.data<scalar_t>();
      scalar_t* vp = v.work.data<scalar_t>();
      scalar_t* vmp = opt.amsgrad ? v_max.work.data<scalar_t>() : nullptr;
      for_each_element(n, [&](int64_t i) {
        scalar_t unused = 0;
        adam_element(pp[i], gp[i], mp[i], vp[i], vmp ? vmp[i] : unused, s, step_size, bc2_sqrt);
      });
    });
    p.write_back();
    m.write_back();
    v.write_back();
    v_max.write_back();
  }
}

void sgd_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                const std::vector<Tensor>& momentum_buffers, const std::vector<uint8_t>& first_step,
                const SgdUpdateOptions& opt) {
  optim_update::check_sgd_args(params, grads, momentum_buffers, first_step, opt, false);
  const bool use_momentum = opt.momentum != 0;
  for (size_t k = 0; k < params.size(); ++k) {
    const int64_t n = params[k].numel();
    if (n == 0) continue;
    InPlace p(params[k]), b(use_momentum ? momentum_buffers[k] : Tensor());
    const Tensor g = raw_contiguous(grads[k]);
    const bool first = use_momentum && first_step[k] != 0;
    LOOM_DISPATCH_FLOATING(params[k].dtype(), "sgd_update", [&] {
      const optim_update::SgdScalars<scalar_t> s = optim_update::sgd_scalars<scalar_t>(opt);
      scalar_t* pp = p.work.data<scalar_t>();  // (n) each
      const scalar_t* gp = g.data<scalar_t>();
      scalar_t* bp = use_momentum ? b.work.data<scalar_t>() : nullptr;
      for_each_element(n, [&](int64_t i) {
        scalar_t unused = 0;
        sgd_element(pp[i], gp[i], bp ? bp[i] : unused, first, s);
      });
    });
    p.write_back();
    b.write_back();
  }
}

}  // namespace loom::cpu
