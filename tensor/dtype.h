// dtype.h: the element types a Tensor can hold, and the dispatch macros that
// turn a run-time dtype into a compile-time scalar_t for kernels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "tensor/error.h"

namespace loom {

enum class DType : uint8_t { Float32, Float64, Int64, UInt8 };

inline constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
    case DType::UInt8: return 1;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::UInt8: return "uint8";
  }
  return "?";
}

inline constexpr bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::UInt8; }

}  // namespace loom

// LOOM_DISPATCH_FLOATING(dtype, "opname", [&] { ... scalar_t ... });
// Calls the lambda with scalar_t = float or double; any other dtype is an error
// that names the op.
#define LOOM_DISPATCH_FLOATING(DT, OPNAME, ...)                                      \
  [&] {                                                                              \
    switch (DT) {                                                                    \
      case ::loom::DType::Float32: { using scalar_t = float; return __VA_ARGS__(); }  \
      case ::loom::DType::Float64: { using scalar_t = double; return __VA_ARGS__(); } \
      default:                                                                       \
        ::loom::detail::throw_error(OPNAME, ": expected float32 or float64, got ",  \
                                    ::loom::dtype_name(DT));                         \
    }                                                                                \
  }()

// Same, over all four dtypes (copies, fills, comparisons).
#define LOOM_DISPATCH_ALL(DT, OPNAME, ...)                                           \
  [&] {                                                                              \
    switch (DT) {                                                                    \
      case ::loom::DType::Float32: { using scalar_t = float; return __VA_ARGS__(); }  \
      case ::loom::DType::Float64: { using scalar_t = double; return __VA_ARGS__(); } \
      case ::loom::DType::Int64: { using scalar_t = int64_t; return __VA_ARGS__(); }  \
      case ::loom::DType::UInt8: { using scalar_t = uint8_t; return __VA_ARGS__(); }  \
    }                                                                                \
    ::loom::detail::throw_error(OPNAME, ": unknown dtype");                         \
  }()
