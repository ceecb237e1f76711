// layer_util.cpp: printing helpers of layer_util.h.
#include "nn/layer_util.h"

#include "tensor/error.h"

namespace loom::nn {

std::string size2_str(const Size2& s) {
  if (s.h == s.w) return std::to_string(s.h);
  return "(" + std::to_string(s.h) + ", " + std::to_string(s.w) + ")";
}

std::string repr(const Module& m) { return m.type_name() + "(" + m.extra_repr() + ")"; }

void check_input_dims(const Module& m, const Tensor& x, int64_t dims, const char* layout) {
  LOOM_CHECK(x.defined(), repr(m), ": input is an undefined tensor");
  const bool ok = dims >= 0 ? x.dim() == dims : x.dim() >= -dims;
  LOOM_CHECK(ok, repr(m), ": input must have ", dims >= 0 ? "" : "at least ", dims >= 0 ? dims : -dims, " dims ",
             layout, ", got shape ", shape_str(x.shape()));
}

void check_input_size(const Module& m, const Tensor& x, int64_t dim, int64_t expected, const char* unit,
                      const Tensor& weight) {
  const int64_t got = x.size(dim);
  if (got == expected) return;
  if (weight.defined())
    detail::throw_error(repr(m), ": input has ", got, " ", unit, ", weight expects ", expected, " (input shape ",
                        shape_str(x.shape()), ", weight shape ", shape_str(weight.shape()), ")");
  detail::throw_error(repr(m), ": input has ", got, " ", unit, ", expected ", expected, " (input shape ",
                      shape_str(x.shape()), ")");
}

}  // namespace loom::nn
