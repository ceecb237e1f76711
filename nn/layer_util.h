// layer_util.h: small helpers shared by the layer definitions:
//   Size2        a (height, width) pair written as one number (`.kernel = 4`)
//                or two (`.kernel = {3, 5}`) in a layer's options
//   make<M>(...) builds a layer behind a shared_ptr, with designated
//                initialisers for its options:
//                  auto conv = nn::make<Conv2d>({.in = 3, .out = 64, .kernel = 4});
//   repr(m)      "Conv2d(3, 64, kernel_size=4)": type_name(extra_repr()), the
//                prefix of every layer's error messages
#pragma once
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "kernels/options.h"
#include "nn/module.h"
#include "tensor/random.h"

namespace loom::nn {

struct Size2 {
  int64_t h = 0, w = 0;
  Size2(int64_t both) : h(both), w(both) {}  // NOLINT: implicit on purpose (`.kernel = 4`)
  Size2(int64_t height, int64_t width) : h(height), w(width) {}
  Pair pair() const { return {h, w}; }
  bool operator==(const Size2&) const = default;
};

// "4" when both sides agree, else "(3, 5)" (PyTorch prints tuples).
std::string size2_str(const Size2& s);

// A layer with an `Options` struct: nn::make<BatchNorm2d>({.features = 64}),
// and, for layers that draw their initial values, with the generator to draw
// them from: nn::make<Linear>({.in = 8, .out = 4}, gen).
template <class M>
std::shared_ptr<M> make(const typename M::Options& options) {
  return std::make_shared<M>(options);
}
template <class M>
  requires std::is_constructible_v<M, const typename M::Options&, Generator&>
std::shared_ptr<M> make(const typename M::Options& options, Generator& gen) {
  return std::make_shared<M>(options, gen);
}

// Any other constructor: nn::make<ReLU>(), nn::make<LeakyReLU>(0.2).
template <class M, class... Args>
std::shared_ptr<M> make(Args&&... args) {
  return std::make_shared<M>(std::forward<Args>(args)...);
}

// type_name() + "(" + extra_repr() + ")"
std::string repr(const Module& m);

// Input checks that name the layer, e.g.
//   "Conv2d(3, 64, kernel_size=4): input must have 4 dims (N, C, H, W), got shape [3, 8, 8]"
//   "Conv2d(3, 64, kernel_size=4): input has 4 channels, weight expects 3 (input shape [1, 4, 8, 8], weight shape [64, 3, 4, 4])"
// check_input_dims: exactly `dims` dims, or at least `-dims` when dims < 0.
void check_input_dims(const Module& m, const Tensor& x, int64_t dims, const char* layout);
// check_input_size: x.size(dim) == expected; `unit` names what dim `dim` counts
// ("channels"); `weight` (optional) is shown as what expects it.
void check_input_size(const Module& m, const Tensor& x, int64_t dim, int64_t expected, const char* unit,
                      const Tensor& weight = Tensor());

}  // namespace loom::nn
