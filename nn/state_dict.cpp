// state_dict.cpp: validation and all-or-nothing loading of a state dict into
// a Module (rules in state_dict.h).
#include "nn/state_dict.h"

#include <set>
#include <sstream>

#include "autograd/grad_mode.h"
#include "tensor/error.h"

namespace loom::nn {

namespace {

bool is_batch_counter(const std::string& key) {
  static const std::string kCounter = "num_batches_tracked";
  if (key == kCounter) return true;
  return key.size() > kCounter.size() && key.compare(key.size() - kCounter.size(), kCounter.size(), kCounter) == 0 &&
         key[key.size() - kCounter.size() - 1] == '.';
}

}  // namespace

std::string list_keys(const std::vector<std::string>& keys, size_t limit) {
  std::ostringstream s;
  for (size_t i = 0; i < keys.size() && i < limit; ++i) s << (i ? ", '" : "'") << keys[i] << "'";
  if (keys.size() > limit) s << " ... and " << keys.size() - limit << " more";
  return s.str();
}

std::map<std::string, Tensor> state_dict_map(const Module& model) {
  std::map<std::string, Tensor> out;
  for (auto& [name, t] : model.state_dict()) out.emplace(name, t);
  return out;
}

std::map<std::string, Tensor> select_prefix(const std::map<std::string, Tensor>& state, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (auto it = state.lower_bound(prefix); it != state.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
    out.emplace(it->first.substr(prefix.size()), it->second);
  return out;
}

ValidatedStateDict validate_state_dict(const Module& model, const std::map<std::string, Tensor>& state, bool strict,
                                       const std::string& context, const std::string& display_prefix) {
  ValidatedStateDict result;
  std::vector<std::string> mismatches;  // one line per shape/dtype problem
  std::set<std::string> model_keys;
  for (const auto& [name, target] : model.state_dict()) {
    model_keys.insert(name);
    const std::string shown = display_prefix + name;
    const auto it = state.find(name);
    if (it == state.end()) {
      if (!is_batch_counter(name)) result.report_.missing_keys.push_back(shown);
      continue;
    }
    const Tensor& value = it->second;
    if (!value.defined()) {
      mismatches.push_back("'" + shown + "' is an undefined tensor in the state dict");
      continue;
    }
    if (value.shape() != target.shape()) {
      mismatches.push_back("size mismatch for '" + shown + "': the state dict has shape " + shape_str(value.shape()) +
                           ", the model has " + shape_str(target.shape()));
      continue;
    }
    if (value.dtype() != target.dtype()) {
      mismatches.push_back("dtype mismatch for '" + shown + "': the state dict has " + dtype_name(value.dtype()) +
                           ", the model has " + dtype_name(target.dtype()) +
                           " (dtypes are not converted: convert the model with Module::to(DType) or the "
                           "checkpoint first)");
      continue;
    }
    result.copies_.emplace_back(target, value);
  }
  for (const auto& [name, value] : state)
    if (model_keys.count(name) == 0) result.report_.unexpected_keys.push_back(display_prefix + name);

  const LoadReport& report = result.report_;
  const bool key_errors = strict && !report.complete();
  if (!key_errors && mismatches.empty()) return result;
  std::ostringstream msg;
  msg << context << "the state dict does not fit the model (" << model.type_name() << "); nothing was loaded.";
  if (strict && !report.missing_keys.empty())
    msg << "\n  missing keys (" << report.missing_keys.size() << "): " << list_keys(report.missing_keys);
  if (strict && !report.unexpected_keys.empty())
    msg << "\n  unexpected keys (" << report.unexpected_keys.size() << "): " << list_keys(report.unexpected_keys);
  for (size_t i = 0; i < mismatches.size() && i < 20; ++i) msg << "\n  " << mismatches[i];
  if (mismatches.size() > 20) msg << "\n  ... and " << mismatches.size() - 20 << " more mismatches";
  if (key_errors) msg << "\n  (load with strict = false to load the matching keys and get this list back)";
  throw Error(msg.str());
}

void ValidatedStateDict::apply() const {
  NoGradGuard no_grad;
  for (const auto& [target, value] : copies_) {
    Tensor destination = target;  // a handle: copy_ writes into the model's storage
    destination.copy_(value);
  }
}

LoadReport load_state_dict(Module& model, const std::map<std::string, Tensor>& state, bool strict) {
  ValidatedStateDict validated = validate_state_dict(model, state, strict);
  validated.apply();
  return validated.report();
}

}  // namespace loom::nn
