// module.cpp: registration, traversal, modes, device moves and the summary
// table of nn::Module (see module.h).
#include "nn/module.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "autograd/grad_mode.h"
#include "tensor/error.h"

namespace loom::nn {

namespace {

// While summary() runs, every module call appends (module, output shape) here
// in call order (a parent before its children).
struct CallRecord {
  const Module* module;
  Shape output;
};
thread_local std::vector<CallRecord>* g_summary_calls = nullptr;

bool valid_name(const std::string& name) {
  return !name.empty() && name.find('.') == std::string::npos;
}

template <class List>
bool has_name(const List& list, const std::string& name) {
  return std::any_of(list.begin(), list.end(), [&](const auto& e) { return e.first == name; });
}

std::string with_commas(int64_t n) {
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

}  // namespace

Tensor Module::operator()(const Tensor& x) {
  if (g_summary_calls == nullptr) return forward(x);
  const size_t slot = g_summary_calls->size();
  g_summary_calls->push_back({this, {}});
  Tensor y = forward(x);
  (*g_summary_calls)[slot].output = y.shape();
  return y;
}

void Module::check_new_name(const char* op, const std::string& name) const {
  LOOM_CHECK(valid_name(name), op, ": invalid name '", name, "' (non-empty, no dots)");
  LOOM_CHECK(!has_name(parameters_, name) && !has_name(buffers_, name) && !has_name(children_, name), op, ": '",
             name, "' is already registered in ", type_name());
}

Tensor Module::register_parameter(const std::string& name, Tensor value) {
  if (!value.defined()) return value;
  check_new_name("register_parameter", name);
  LOOM_CHECK(is_floating(value.dtype()), "register_parameter: '", name, "' must be floating point, got ",
             dtype_name(value.dtype()));
  value.requires_grad_(true);
  parameters_.emplace_back(name, value);
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  if (!value.defined()) return value;
  check_new_name("register_buffer", name);
  buffers_.emplace_back(name, value);
  return value;
}

void Module::add_child(const std::string& name, ModulePtr child) {
  LOOM_CHECK(child != nullptr, "register_module: '", name, "' is null");
  check_new_name("register_module", name);
  children_.emplace_back(name, std::move(child));
}

void Module::collect(const std::string& prefix, bool want_parameters, NamedTensors& out) const {
  for (const auto& [name, t] : want_parameters ? parameters_ : buffers_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", want_parameters, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out;
  for (const auto& [name, child] : children_) {
    out.emplace_back(name, child.get());
    for (auto& [sub, m] : child->named_modules()) out.emplace_back(name + "." + sub, m);
  }
  return out;
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

// PyTorch's order: a module's own parameters, then its own buffers, then each
// child's state in registration order.
void Module::collect_state(const std::string& prefix, NamedTensors& out) const {
  for (const auto& [name, t] : parameters_) out.emplace_back(prefix + name, t);
  for (const auto& [name, t] : buffers_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) child->collect_state(prefix + name + ".", out);
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect_state("", out);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (auto& [name, t] : named_parameters()) t.set_grad(Tensor());
}

void replace_tensor_data(Tensor& t, const Tensor& src) {
  TensorImpl& impl = t.impl();
  impl.storage = src.storage();
  impl.shape = src.shape();
  impl.strides = src.strides();
  impl.offset = src.offset();
  impl.dtype = src.dtype();
  impl.grad.reset();
}

namespace {

// Replaces t's data with convert(t) in place, and its gradient, when it has
// one, with convert(gradient): PyTorch's Module._apply moves a parameter's
// .grad along with it.
template <class Convert>
void convert_in_place(Tensor& t, const Convert& convert) {
  const Tensor grad = t.grad();  // replace_tensor_data drops it
  replace_tensor_data(t, convert(t));
  if (grad.defined()) t.set_grad(convert(grad));
}

}  // namespace

void Module::to(Device device) {
  NoGradGuard no_grad;
  for (auto& [name, t] : state_dict())
    if (t.device() != device) convert_in_place(t, [&](const Tensor& x) { return x.to(device); });
}

void Module::to(DType dtype) {
  LOOM_CHECK(is_floating(dtype), "Module::to: ", dtype_name(dtype), " is not a floating dtype");
  NoGradGuard no_grad;
  for (auto& [name, t] : state_dict())
    if (is_floating(t.dtype()) && t.dtype() != dtype)  // num_batches_tracked stays int64
      convert_in_place(t, [&](const Tensor& x) { return x.to(dtype); });
}

std::string Module::summary(const Shape& input_shape) {
  std::map<const Module*, std::string> path_of;
  path_of[this] = "(model)";
  for (auto& [path, m] : named_modules()) path_of[m] = path;

  std::vector<CallRecord> calls;
  const bool was_training = training_;
  eval();
  {
    NoGradGuard no_grad;
    DType dtype = DType::Float32;
    Device device = Device::cpu();
    const NamedTensors params = named_parameters();
    if (!params.empty()) {
      dtype = params.front().second.dtype();
      device = params.front().second.device();
    }
    Tensor x = Tensor::zeros(input_shape, dtype, device);
    g_summary_calls = &calls;
    try {
      (*this)(x);
    } catch (...) {
      g_summary_calls = nullptr;
      train(was_training);
      throw;
    }
    g_summary_calls = nullptr;
  }
  train(was_training);

  struct Row {
    std::string path, layer, shape, params;
  };
  std::vector<Row> rows;
  rows.push_back({"path", "layer", "output shape", "parameters"});
  for (const CallRecord& c : calls) {
    int64_t own = 0;
    for (const auto& [name, t] : c.module->parameters_) own += t.numel();
    const std::string args = c.module->extra_repr();
    const auto it = path_of.find(c.module);
    rows.push_back({it == path_of.end() ? "?" : it->second,
                    c.module->type_name() + "(" + args + ")", shape_str(c.output), with_commas(own)});
  }
  size_t w[4] = {0, 0, 0, 0};
  for (const Row& r : rows) {
    w[0] = std::max(w[0], r.path.size());
    w[1] = std::max(w[1], r.layer.size());
    w[2] = std::max(w[2], r.shape.size());
    w[3] = std::max(w[3], r.params.size());
  }
  std::ostringstream out;
  out << "input " << shape_str(input_shape) << "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    out << r.path << std::string(w[0] - r.path.size() + 2, ' ') << r.layer
        << std::string(w[1] - r.layer.size() + 2, ' ') << r.shape << std::string(w[2] - r.shape.size() + 2, ' ')
        << std::string(w[3] - r.params.size(), ' ') << r.params << "\n";
    if (i == 0) out << std::string(w[0] + w[1] + w[2] + w[3] + 6, '-') << "\n";
  }
  out << "total parameters: " << with_commas(parameter_count()) << "\n";
  return out.str();
}

}  // namespace loom::nn
