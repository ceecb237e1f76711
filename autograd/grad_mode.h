// grad_mode.h: whether ops are recorded on the tape. Recording is on by
// default; NoGradGuard turns it off for a scope (evaluation, optimizer steps,
// running-statistics updates). The flag is per thread.
#pragma once

namespace loom {

bool is_grad_enabled();
void set_grad_enabled(bool enabled);

class NoGradGuard {
 public:
  NoGradGuard() : previous_(is_grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace loom
