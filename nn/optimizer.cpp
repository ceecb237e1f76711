// optimizer.cpp: the parts every optimizer shares (see optimizer.h): argument
// checks, zero_grad, and saving/restoring the per-parameter state with all
// checks done before anything changes.
#include "nn/optimizer.h"

#include <cmath>
#include <set>
#include <sstream>

#include "autograd/grad_mode.h"
#include "tensor/error.h"

namespace loom::nn {

namespace {

std::string describe(const Shape& shape, DType dtype, Device device) {
  return shape_str(shape) + " " + dtype_name(dtype) + " on " + device.str();
}

}  // namespace

Optimizer::Optimizer(NamedTensors params, double lr) : params_(std::move(params)), lr_(0) {
  std::set<std::string> names;
  std::set<const TensorImpl*> tensors;
  for (const auto& [name, p] : params_) {
    LOOM_CHECK(!name.empty(), "Optimizer: a parameter has an empty name");
    LOOM_CHECK(names.insert(name).second, "Optimizer: parameter name '", name, "' appears twice");
    LOOM_CHECK(p.defined(), "Optimizer: parameter '", name, "' is an undefined tensor");
    LOOM_CHECK(is_floating(p.dtype()), "Optimizer: parameter '", name, "' must be float32 or float64, got ",
               dtype_name(p.dtype()));
    LOOM_CHECK(tensors.insert(&p.impl()).second, "Optimizer: parameter '", name,
               "' is the same tensor as an earlier parameter (each tensor may be listed once)");
  }
  set_lr(lr);
  state_.resize(params_.size());
}

void Optimizer::set_lr(double lr) {
  LOOM_CHECK(std::isfinite(lr) && lr >= 0, "Optimizer: learning rate must be finite and >= 0, got ", lr);
  lr_ = lr;
}

void Optimizer::zero_grad() {
  for (auto& [name, p] : params_) p.set_grad(Tensor());
}

void Optimizer::check_hyperparameter(const char* what, double value, double lo, double hi, bool hi_included) const {
  const bool inside = std::isfinite(value) && value >= lo && (hi_included ? value <= hi : value < hi);
  LOOM_CHECK(inside, type_name(), ": ", what, " = ", value, " is outside [", lo, ", ", hi, hi_included ? "]" : ")");
}

Optimizer::ParamState& Optimizer::state_for_step(size_t i) {
  const auto& [name, param] = params_[i];
  ParamState& s = state_[i];
  const bool created = s.empty();
  for (const BufferSpec& spec : state_layout(param)) {
    if (created) {
      s[spec.name] = Tensor::zeros(spec.shape, spec.dtype, spec.device);
      continue;
    }
    const Tensor& t = s.at(spec.name);
    LOOM_CHECK(t.shape() == spec.shape && t.dtype() == spec.dtype && t.device() == spec.device, type_name(),
               "::step: the state '", name, ".", spec.name, "' is ", describe(t.shape(), t.dtype(), t.device()),
               " but the parameter now needs ", describe(spec.shape, spec.dtype, spec.device),
               " (was the model moved or converted after the optimizer's first step? create the optimizer after "
               "Module::to, or reload its state)");
  }
  return s;
}

NamedTensors Optimizer::state() const {
  NamedTensors out;
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (state_[i].empty()) continue;  // never stepped
    for (const BufferSpec& spec : state_layout(params_[i].second))
      out.emplace_back(params_[i].first + "." + spec.name, state_[i].at(spec.name).clone());
  }
  return out;
}

void Optimizer::load_state(const std::map<std::string, Tensor>& state) {
  NoGradGuard no_grad;
  std::vector<std::string> problems;
  std::set<std::string> matched;
  std::vector<ParamState> loaded(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string& name = params_[i].first;
    const std::vector<BufferSpec> layout = state_layout(params_[i].second);
    size_t present = 0;
    for (const BufferSpec& spec : layout) present += state.count(name + "." + spec.name);
    if (present == 0) continue;  // this parameter has not been stepped yet
    for (const BufferSpec& spec : layout) {
      const std::string full = name + "." + spec.name;
      auto it = state.find(full);
      if (it == state.end()) {
        problems.push_back("missing '" + full + "'");
        continue;
      }
      matched.insert(full);
      const Tensor& t = it->second;
      if (!t.defined()) {
        problems.push_back("'" + full + "' is an undefined tensor");
      } else if (t.shape() != spec.shape || t.dtype() != spec.dtype) {
        problems.push_back("'" + full + "' is " + describe(t.shape(), t.dtype(), t.device()) + ", expected " +
                           describe(spec.shape, spec.dtype, spec.device));
      } else {
        loaded[i][spec.name] = t.to(spec.device).clone();  // shares nothing with `state`
      }
    }
    if (loaded[i].size() == layout.size()) {
      try {
        check_state_values(name, loaded[i]);
      } catch (const Error& e) {
        problems.push_back(e.what());
      }
    }
  }
  for (const auto& [key, t] : state)
    if (!matched.count(key))
      problems.push_back("unexpected '" + key + "' (no parameter of this optimizer has that state buffer)");
  if (!problems.empty()) {
    std::ostringstream msg;
    msg << type_name() << "::load_state: the state does not fit this optimizer, nothing was loaded:";
    for (const std::string& p : problems) msg << "\n  " << p;
    throw Error(msg.str());
  }
  state_ = std::move(loaded);
}

}  // namespace loom::nn
