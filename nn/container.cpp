// container.cpp: nn::Sequential and nn::Flatten (see container.h).
#include "nn/container.h"

#include "autograd/functions.h"

namespace loom::nn {

Sequential::Sequential(const std::vector<ModulePtr>& modules) {
  for (const ModulePtr& m : modules) add_module(m);
}

void Sequential::add_module(ModulePtr module) {
  LOOM_CHECK(module != nullptr, "Sequential: module ", modules_.size(), " is null");
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const ModulePtr& m : modules_) y = (*m)(y);
  return y;
}

const ModulePtr& Sequential::operator[](size_t i) const {
  LOOM_CHECK(i < modules_.size(), "Sequential: index ", i, " is out of range for ", modules_.size(), " modules");
  return modules_[i];
}

Tensor Flatten::forward(const Tensor& x) {
  LOOM_CHECK(x.defined(), repr(*this), ": input is an undefined tensor");
  return x.flatten(start_dim, end_dim);
}

std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim);
}

}  // namespace loom::nn
