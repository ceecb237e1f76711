// schedule.h: learning-rate schedules. Each is a pure function of the step
// count (lr_at(step), step 0 being the first optimizer step), so a resumed run
// that knows its step gets the same learning rate as an uninterrupted one; no
// schedule keeps state. apply() sets the rate on an optimizer.
//
//   StepLR(base, step_size, gamma)       base gamma^floor(step / step_size)
//   MultiStepLR(base, milestones, gamma) base gamma^(number of milestones <= step)
//   LinearDecayLR(base, n_const, n_decay)
//       base for steps 0 .. n_const-1, then
//       base (1 - (step + 1 - n_const) / (n_decay + 1)), down to 0 from step
//       n_const + n_decay on: pix2pix's "linear" policy (lambda_rule with
//       epoch_count 1, n_epochs = n_const, n_epochs_decay = n_decay)
//   CosineAnnealingLR(base, T, eta_min)
//       eta_min + (base - eta_min) (1 + cos(pi step / T)) / 2 for step <= T,
//       eta_min after T (PyTorch's closed form, which would rise again past T)
//
// StepLR, MultiStepLR and CosineAnnealingLR (up to T) give PyTorch's
// closed-form values (_get_closed_form_lr) with last_epoch = step.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "nn/optimizer.h"

namespace loom::nn {

class LRSchedule {
 public:
  explicit LRSchedule(double base_lr);
  virtual ~LRSchedule() = default;

  // The learning rate for optimizer step `step` (>= 0; throws otherwise).
  double lr_at(int64_t step) const;
  // optimizer.set_lr(lr_at(step)): call before the optimizer's step number `step`.
  void apply(Optimizer& optimizer, int64_t step) const { optimizer.set_lr(lr_at(step)); }
  double base_lr() const { return base_lr_; }
  // "StepLR(base_lr=0.1, step_size=30, gamma=0.1)"
  virtual std::string describe() const = 0;

 protected:
  virtual double compute(int64_t step) const = 0;  // step >= 0
  double base_lr_;
};

class StepLR : public LRSchedule {
 public:
  StepLR(double base_lr, int64_t step_size, double gamma = 0.1);
  std::string describe() const override;

 private:
  double compute(int64_t step) const override;
  int64_t step_size_;
  double gamma_;
};

class MultiStepLR : public LRSchedule {
 public:
  // milestones strictly increasing, each >= 1
  MultiStepLR(double base_lr, std::vector<int64_t> milestones, double gamma = 0.1);
  std::string describe() const override;

 private:
  double compute(int64_t step) const override;
  std::vector<int64_t> milestones_;
  double gamma_;
};

class LinearDecayLR : public LRSchedule {
 public:
  LinearDecayLR(double base_lr, int64_t n_const, int64_t n_decay);
  std::string describe() const override;

 private:
  double compute(int64_t step) const override;
  int64_t n_const_, n_decay_;
};

class CosineAnnealingLR : public LRSchedule {
 public:
  CosineAnnealingLR(double base_lr, int64_t T, double eta_min = 0);
  std::string describe() const override;

 private:
  double compute(int64_t step) const override;
  int64_t T_;
  double eta_min_;
};

}  // namespace loom::nn
