// fused_optim_util.h: what the fused-optimizer tests (tests/nn/test_fused_optim.cpp
// on the CPU, tests/cuda/test_optim.cpp on CUDA) share: parameters of odd
// shapes with fresh random values, a step's random gradients with some
// parameters left without one, and the argument lists of ops::adam_update /
// ops::sgd_update kept across steps the way nn::Adam / nn::SGD keep their
// state (moments zero until a parameter's first step, each parameter's own
// step count, SGD's first-step flag).
#pragma once
#include <string>
#include <vector>

#include "kernels/ops.h"
#include "nn/adam.h"
#include "nn/sgd.h"
#include "tensor/random.h"

namespace loom::fused_test {

// One fresh random tensor (normal, std 1) per shape.
inline std::vector<Tensor> random_tensors(const std::vector<Shape>& shapes, Generator& gen, DType dtype) {
  std::vector<Tensor> out;
  for (const Shape& s : shapes) out.push_back(randn(s, gen, dtype));
  return out;
}

// Step `step`'s gradients: random, except that parameter k gets none (an
// undefined tensor) when (k + step) % 4 == 3, so the step counts differ.
inline std::vector<Tensor> random_grads(const std::vector<Shape>& shapes, int step, Generator& gen, DType dtype) {
  std::vector<Tensor> grads = random_tensors(shapes, gen, dtype);
  for (size_t k = 0; k < grads.size(); ++k)
    if ((static_cast<int>(k) + step) % 4 == 3) grads[k] = Tensor();
  return grads;
}

inline std::vector<Tensor> clones(const std::vector<Tensor>& ts) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(t.defined() ? t.clone() : t);
  return out;
}

inline std::vector<Tensor> zeros_like_all(const std::vector<Tensor>& ts) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(Tensor::zeros(t.shape(), t.dtype(), t.device()));
  return out;
}

inline std::vector<Tensor> on_device(const std::vector<Tensor>& ts, Device device) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(t.defined() ? t.to(device) : t);
  return out;
}

// The nn optimizer's parameters: leaves named "p0", "p1", ... holding copies of `values`.
inline nn::NamedTensors named_leaves(const std::vector<Tensor>& values) {
  nn::NamedTensors named;
  for (size_t k = 0; k < values.size(); ++k) {
    Tensor leaf = values[k].detach().clone();
    leaf.requires_grad_();
    named.emplace_back("p" + std::to_string(k), leaf);
  }
  return named;
}

// Gives the nn optimizer's parameters this step's gradients (none where undefined).
inline void set_grads(nn::Optimizer& opt, const nn::NamedTensors& named, const std::vector<Tensor>& grads) {
  opt.zero_grad();
  for (size_t k = 0; k < named.size(); ++k)
    if (grads[k].defined()) {
      Tensor p = named[k].second;
      p.set_grad(grads[k].clone());
    }
}

// ops::adam_update's lists over steps.
struct AdamLists {
  std::vector<Tensor> params, exp_avgs, exp_avg_sqs, max_exp_avg_sqs;
  std::vector<int64_t> steps;  // steps taken so far, per parameter

  AdamLists(std::vector<Tensor> ps, bool amsgrad) : params(std::move(ps)), steps(params.size(), 0) {
    exp_avgs = zeros_like_all(params);
    exp_avg_sqs = zeros_like_all(params);
    if (amsgrad) max_exp_avg_sqs = zeros_like_all(params);
  }

  // One ops::adam_update over the parameters whose gradient is defined.
  void step(const std::vector<Tensor>& grads, const AdamUpdateOptions& opt) {
    std::vector<Tensor> p, g, m, v, vm;
    std::vector<int64_t> t;
    for (size_t k = 0; k < params.size(); ++k) {
      if (!grads[k].defined()) continue;
      p.push_back(params[k]);
      g.push_back(grads[k]);
      m.push_back(exp_avgs[k]);
      v.push_back(exp_avg_sqs[k]);
      if (opt.amsgrad) vm.push_back(max_exp_avg_sqs[k]);
      t.push_back(++steps[k]);
    }
    ops::adam_update(p, g, m, v, vm, t, opt);
  }
};

// ops::sgd_update's lists over steps.
struct SgdLists {
  std::vector<Tensor> params, momentum_buffers;
  std::vector<bool> stepped;  // per parameter: has its buffer been set

  SgdLists(std::vector<Tensor> ps, bool momentum) : params(std::move(ps)), stepped(params.size(), false) {
    if (momentum) momentum_buffers = zeros_like_all(params);
  }

  void step(const std::vector<Tensor>& grads, const SgdUpdateOptions& opt) {
    std::vector<Tensor> p, g, b;
    std::vector<uint8_t> first;
    for (size_t k = 0; k < params.size(); ++k) {
      if (!grads[k].defined()) continue;
      p.push_back(params[k]);
      g.push_back(grads[k]);
      if (opt.momentum != 0) {
        b.push_back(momentum_buffers[k]);
        first.push_back(stepped[k] ? 0 : 1);
      }
      stepped[k] = true;
    }
    ops::sgd_update(p, g, b, first, opt);
  }
};

}  // namespace loom::fused_test
