// state_dict.h: loading a state dict (name -> tensor, PyTorch's names) into a
// Module, all or nothing.
//
// load_state_dict(model, state, strict) first validates everything, then
// copies. Validation compares `state` with model.state_dict():
//   - missing keys (in the model, not in `state`) and unexpected keys (in
//     `state`, not in the model): an error listing them when strict, listed in
//     the returned report otherwise;
//   - for every key present in both, the shapes must be equal and the dtypes
//     must be equal. A dtype mismatch is refused, never converted: the message
//     names the tensor and both dtypes, and says to convert the model with
//     Module::to(dtype) (or the checkpoint) first. Mismatches are errors even
//     when not strict (PyTorch does the same for shapes).
// Every problem found is in one message, keys listed (at most 20 of each kind,
// then "... and N more"), each mismatch naming the tensor and both shapes or
// dtypes. Only when all checks pass are the values copied, under no-grad, with
// Tensor::copy_ into the existing tensors (onto their device), so every handle
// that a layer or an optimizer holds sees the new values. On error nothing has
// changed.
//
// num_batches_tracked: like PyTorch, a missing "<...>.num_batches_tracked" (the
// batch-norm counter, which older checkpoints and the golden files lack) is not
// an error even when strict, and is not listed as missing; the model keeps its
// own value. (PyTorch 1.13 resets the counter to 0 in that case; PyTorch >= 2.2
// keeps the module's value, pytorch/pytorch#110361, and so does loom. It only
// matters for BatchNorm2d with momentum unset, the cumulative average.)
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nn/module.h"

namespace loom::nn {

// What a non-strict load left out. Both empty after a successful strict load.
struct LoadReport {
  std::vector<std::string> missing_keys;     // in the model, not in the state dict
  std::vector<std::string> unexpected_keys;  // in the state dict, not in the model
  bool complete() const { return missing_keys.empty() && unexpected_keys.empty(); }
};

class ValidatedStateDict;

// Checks `state` against `model` as described above and throws loom::Error
// (starting with `context`, e.g. "load_model: 'ckpt.safetensors': ") on any
// problem. `display_prefix` is put before every key in messages and in the
// report ("G." when the model is "G" in a training checkpoint).
ValidatedStateDict validate_state_dict(const Module& model, const std::map<std::string, Tensor>& state,
                                       bool strict = true, const std::string& context = "load_state_dict: ",
                                       const std::string& display_prefix = "");

// A state dict checked against a model and ready to copy: the building block
// of load_state_dict, and of loading several models from one checkpoint where
// every model must pass before any changes.
class ValidatedStateDict {
 public:
  const LoadReport& report() const { return report_; }
  // Copies every value into the model's tensors (no-grad). Cannot fail for
  // shape or dtype reasons: those were checked.
  void apply() const;

 private:
  friend ValidatedStateDict validate_state_dict(const Module&, const std::map<std::string, Tensor>&, bool,
                                                const std::string&, const std::string&);
  std::vector<std::pair<Tensor, Tensor>> copies_;  // (model tensor, value)
  LoadReport report_;
};

// validate_state_dict(...) then apply(); returns the report.
LoadReport load_state_dict(Module& model, const std::map<std::string, Tensor>& state, bool strict = true);

// The model's state dict as a map (for save_safetensors and comparisons). The
// tensors are the model's own handles, not copies.
std::map<std::string, Tensor> state_dict_map(const Module& model);

// The entries of `state` whose names start with `prefix`, with the prefix
// removed: select_prefix(file, "G.") is model G's state dict in a training
// checkpoint or a golden file ("G.0.weight" -> "0.weight").
std::map<std::string, Tensor> select_prefix(const std::map<std::string, Tensor>& state, const std::string& prefix);

// "'a', 'b', 'c'" with at most `limit` names, then " ... and N more".
std::string list_keys(const std::vector<std::string>& keys, size_t limit = 20);

}  // namespace loom::nn
