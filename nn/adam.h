// adam.h: the Adam and AdamW optimizers, exactly torch.optim.Adam and
// torch.optim.AdamW (PyTorch 1.13, single-tensor path). For each parameter p
// with gradient g, at its own step count t = 1, 2, ...:
//
//   Adam:  g <- g + weight_decay p                    (L2 penalty in the gradient)
//   AdamW: p <- p (1 - lr weight_decay)               (decoupled decay, first)
//   both:  m <- beta1 m + (1 - beta1) g
//          v <- beta2 v + (1 - beta2) g^2
//          v_max <- max(v_max, v)                    (amsgrad only; v_max replaces v below)
//          denom = sqrt(v) / sqrt(1 - beta2^t) + eps
//          p <- p - lr / (1 - beta1^t) * m / denom
//
// The arithmetic runs in the parameter's dtype (float32 or float64) with the
// scalar coefficients computed in double, as PyTorch does.
//
// State per parameter (see optimizer.h), created at its first step:
//   "<name>.exp_avg"         m, the parameter's shape and dtype
//   "<name>.exp_avg_sq"      v, likewise
//   "<name>.max_exp_avg_sq"  v_max, only with amsgrad
//   "<name>.step"            t, an int64 0-dim CPU tensor (>= 1)
// A parameter without a gradient at some step() keeps its state and count.
//
// CPU parameters step with loom's elementwise ops (one op per line above);
// CUDA parameters with the fused ops::adam_update (one launch for many
// parameters), which computes the same arithmetic in one pass.
#pragma once
#include "nn/optimizer.h"

namespace loom::nn {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;   // in [0, 1)
  double beta2 = 0.999;  // in [0, 1)
  double eps = 1e-8;     // >= 0
  double weight_decay = 0;  // >= 0 (AdamWOptions defaults it to 0.01, as torch)
  bool amsgrad = false;
};

class Adam : public Optimizer {
 public:
  // Throws naming the option when a value is outside its range.
  Adam(NamedTensors params, const AdamOptions& options = {});
  void step() override;
  std::string type_name() const override { return decoupled_weight_decay_ ? "AdamW" : "Adam"; }
  const AdamOptions& options() const { return options_; }

 protected:
  Adam(NamedTensors params, const AdamOptions& options, bool decoupled_weight_decay);
  std::vector<BufferSpec> state_layout(const Tensor& param) const override;
  void check_state_values(const std::string& param_name, const ParamState& state) const override;

 private:
  struct FusedBatch;
  // The composite update of one CPU parameter at its step count t (formulas above).
  void composite_step(Tensor& param, Tensor grad, ParamState& state, int64_t t);

  AdamOptions options_;
  bool decoupled_weight_decay_;  // AdamW
};

// Adam with decoupled weight decay (Loshchilov & Hutter): the decay shrinks the
// parameter directly instead of entering the moments.
// AdamW's options: Adam's with torch.optim.AdamW's default weight decay 0.01.
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
  AdamOptions as_adam() const { return {lr, beta1, beta2, eps, weight_decay, amsgrad}; }
};

class AdamW : public Adam {
 public:
  AdamW(NamedTensors params, const AdamWOptions& options = {})
      : Adam(std::move(params), options.as_adam(), true) {}
};

}  // namespace loom::nn
