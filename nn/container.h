// container.h: nn::Sequential (children "0", "1", ... applied in order),
// nn::Identity (returns its input) and nn::Flatten (flattens dims
// start_dim..end_dim, by default all but the batch dim).
//   nn::Sequential body{conv, bn, relu};   // from existing layers
//   auto net = nn::make<nn::Sequential>(nn::make<nn::Linear>({.in = 4, .out = 8}), nn::make<nn::ReLU>());
//   net->add(nn::make<nn::Linear>({.in = 8, .out = 1}));   // becomes child "2"
#pragma once
#include <cstddef>
#include <vector>

#include "nn/layer_util.h"

namespace loom::nn {

class Sequential : public Module {
 public:
  Sequential() = default;
  explicit Sequential(const std::vector<ModulePtr>& modules);
  template <class... Ms>
  Sequential(std::shared_ptr<Ms>... modules) : Sequential(std::vector<ModulePtr>{std::move(modules)...}) {}

  // Appends `module` as child std::to_string(size()); returns it.
  template <class M>
  std::shared_ptr<M> add(std::shared_ptr<M> module) {
    add_module(module);
    return module;
  }

  Tensor forward(const Tensor& x) override;  // modules_[size-1](...(modules_[0](x)))
  std::string type_name() const override { return "Sequential"; }

  size_t size() const { return modules_.size(); }
  const ModulePtr& operator[](size_t i) const;  // throws when out of range
  const std::vector<ModulePtr>& modules() const { return modules_; }

 private:
  void add_module(ModulePtr module);
  std::vector<ModulePtr> modules_;  // the same pointers as the children, in order
};

class Identity : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "Identity"; }
};

class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Flatten"; }
  std::string extra_repr() const override;

  const int64_t start_dim;
  const int64_t end_dim;
};

}  // namespace loom::nn
