// schedule.cpp: the learning-rate schedules of schedule.h, each a closed-form
// function of the step.
#include "nn/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>

#include "tensor/error.h"

namespace loom::nn {

namespace {

void check_gamma(const char* schedule, double gamma) {
  LOOM_CHECK(std::isfinite(gamma) && gamma > 0, schedule, ": gamma must be finite and > 0, got ", gamma);
}

}  // namespace

LRSchedule::LRSchedule(double base_lr) : base_lr_(base_lr) {
  LOOM_CHECK(std::isfinite(base_lr) && base_lr >= 0, "LR schedule: base learning rate must be finite and >= 0, got ",
             base_lr);
}

double LRSchedule::lr_at(int64_t step) const {
  LOOM_CHECK(step >= 0, describe(), ": step must be >= 0, got ", step);
  return compute(step);
}

// ---- StepLR: base gamma^floor(step / step_size) ----
StepLR::StepLR(double base_lr, int64_t step_size, double gamma)
    : LRSchedule(base_lr), step_size_(step_size), gamma_(gamma) {
  LOOM_CHECK(step_size >= 1, "StepLR: step_size must be >= 1, got ", step_size);
  check_gamma("StepLR", gamma);
}

double StepLR::compute(int64_t step) const {
  return base_lr_ * std::pow(gamma_, static_cast<double>(step / step_size_));
}

std::string StepLR::describe() const {
  std::ostringstream s;
  s << "StepLR(base_lr=" << base_lr_ << ", step_size=" << step_size_ << ", gamma=" << gamma_ << ")";
  return s.str();
}

// ---- MultiStepLR: base gamma^(number of milestones <= step) ----
MultiStepLR::MultiStepLR(double base_lr, std::vector<int64_t> milestones, double gamma)
    : LRSchedule(base_lr), milestones_(std::move(milestones)), gamma_(gamma) {
  for (size_t i = 0; i < milestones_.size(); ++i) {
    LOOM_CHECK(milestones_[i] >= 1, "MultiStepLR: milestone ", milestones_[i], " must be >= 1");
    LOOM_CHECK(i == 0 || milestones_[i] > milestones_[i - 1], "MultiStepLR: milestones must be strictly increasing, got ",
               milestones_[i - 1], " then ", milestones_[i]);
  }
  check_gamma("MultiStepLR", gamma);
}

double MultiStepLR::compute(int64_t step) const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), step) - milestones_.begin();
  return base_lr_ * std::pow(gamma_, static_cast<double>(passed));
}

std::string MultiStepLR::describe() const {
  std::ostringstream s;
  s << "MultiStepLR(base_lr=" << base_lr_ << ", milestones=[";
  for (size_t i = 0; i < milestones_.size(); ++i) s << (i ? ", " : "") << milestones_[i];
  s << "], gamma=" << gamma_ << ")";
  return s.str();
}

// ---- LinearDecayLR: constant, then linearly to 0 (pix2pix) ----
LinearDecayLR::LinearDecayLR(double base_lr, int64_t n_const, int64_t n_decay)
    : LRSchedule(base_lr), n_const_(n_const), n_decay_(n_decay) {
  LOOM_CHECK(n_const >= 0 && n_decay >= 0, "LinearDecayLR: n_const and n_decay must be >= 0, got ", n_const, " and ",
             n_decay);
}

double LinearDecayLR::compute(int64_t step) const {
  // factor = 1 - max(0, step + 1 - n_const) / (n_decay + 1), clamped at 0
  const double decayed = static_cast<double>(std::max<int64_t>(0, step + 1 - n_const_));
  return base_lr_ * std::max(0.0, 1.0 - decayed / static_cast<double>(n_decay_ + 1));
}

std::string LinearDecayLR::describe() const {
  std::ostringstream s;
  s << "LinearDecayLR(base_lr=" << base_lr_ << ", n_const=" << n_const_ << ", n_decay=" << n_decay_ << ")";
  return s.str();
}

// ---- CosineAnnealingLR: half a cosine from base to eta_min over T steps ----
CosineAnnealingLR::CosineAnnealingLR(double base_lr, int64_t T, double eta_min)
    : LRSchedule(base_lr), T_(T), eta_min_(eta_min) {
  LOOM_CHECK(T >= 1, "CosineAnnealingLR: T must be >= 1, got ", T);
  LOOM_CHECK(std::isfinite(eta_min) && eta_min >= 0, "CosineAnnealingLR: eta_min must be finite and >= 0, got ",
             eta_min);
}

double CosineAnnealingLR::compute(int64_t step) const {
  if (step >= T_) return eta_min_;
  const double angle = std::numbers::pi * static_cast<double>(step) / static_cast<double>(T_);
  return eta_min_ + (base_lr_ - eta_min_) * (1 + std::cos(angle)) / 2;
}

std::string CosineAnnealingLR::describe() const {
  std::ostringstream s;
  s << "CosineAnnealingLR(base_lr=" << base_lr_ << ", T=" << T_ << ", eta_min=" << eta_min_ << ")";
  return s.str();
}

}  // namespace loom::nn
