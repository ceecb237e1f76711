// norm.h: nn::BatchNorm2d and nn::InstanceNorm2d (PyTorch's layers of those
// names) over loom::batch_norm and loom::instance_norm.
//   auto bn = nn::make<nn::BatchNorm2d>({.features = 64});
//   auto in = nn::make<nn::InstanceNorm2d>({.features = 64, .affine = true});
//
// State (PyTorch's state_dict names):
//   weight (C) = 1, bias (C) = 0                     when affine
//   running_mean (C) = 0, running_var (C) = 1,
//   num_batches_tracked (int64, 0-dim) = 0           when track_running_stats
//
// BatchNorm2d. Training: normalise with the batch statistics over (N, H, W),
// count the batch in num_batches_tracked and blend the running statistics:
//   running = (1 - m) running + m batch   (batch variance unbiased),
//   m = momentum, or 1 / num_batches_tracked (a cumulative average) when
//   momentum is unset. Eval: normalise with the running statistics (or with the
//   batch statistics when they are not tracked).
//
// InstanceNorm2d: normalises each (n, c) plane over (H, W). With running
// statistics, training blends in the batch mean of the per-plane statistics
//   running_mean = (1 - m) running_mean + m mean_n(mean_nc)
//   running_var  = (1 - m) running_var  + m mean_n(var_nc)   (unbiased var_nc)
// and eval normalises every plane with the running statistics. As in
// PyTorch, InstanceNorm2d keeps num_batches_tracked in its state but never
// increments it.
#pragma once
#include <optional>

#include "nn/layer_util.h"

namespace loom::nn {

// The state both layers share (PyTorch's _NormBase): registers weight and
// bias when affine, the running statistics when tracked.
class Norm2dBase : public Module {
 public:
  Tensor weight;               // (C), undefined unless affine
  Tensor bias;                 // (C), undefined unless affine
  Tensor running_mean;         // (C), undefined unless track_running_stats
  Tensor running_var;          // (C), undefined unless track_running_stats
  Tensor num_batches_tracked;  // int64 0-dim, undefined unless track_running_stats

 protected:
  void register_state(const char* layer, int64_t features, bool affine, bool track_running_stats);
  // The shared input checks: 4 dims and `features` channels.
  void check_input(const Tensor& x, int64_t features) const;
};

class BatchNorm2d : public Norm2dBase {
 public:
  struct Options {
    int64_t features = 0;  // num_features, the C of (N, C, H, W)
    double eps = 1e-5;
    std::optional<double> momentum = 0.1;  // unset: cumulative average
    bool affine = true;
    bool track_running_stats = true;
  };
  explicit BatchNorm2d(const Options& options);

  Tensor forward(const Tensor& x) override;  // (N, C, H, W) -> (N, C, H, W)
  std::string type_name() const override { return "BatchNorm2d"; }
  std::string extra_repr() const override;

  const Options options;
};

class InstanceNorm2d : public Norm2dBase {
 public:
  struct Options {
    int64_t features = 0;  // num_features, the C of (N, C, H, W)
    double eps = 1e-5;
    double momentum = 0.1;
    bool affine = false;
    bool track_running_stats = false;
  };
  explicit InstanceNorm2d(const Options& options);

  Tensor forward(const Tensor& x) override;  // (N, C, H, W) -> (N, C, H, W)
  std::string type_name() const override { return "InstanceNorm2d"; }
  std::string extra_repr() const override;

  const Options options;
};

}  // namespace loom::nn
