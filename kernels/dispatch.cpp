// dispatch.cpp: defines every loom::ops::X (kernels/op_list.h). Each checks that
// all of its tensor arguments live on one device and calls the implementation
// for that device: cpu::X (kernels/cpu/) or, in CUDA builds, cuda::X
// (kernels/cuda/). A CPU-only build given a CUDA tensor says so.
#include <optional>

#include "kernels/cpu/cpu.h"
#include "kernels/ops.h"
#ifdef LOOM_WITH_CUDA
#include "kernels/cuda/cuda.h"
#endif

namespace loom::ops {

namespace {

struct DeviceProbe {
  const char* op;
  std::optional<Device> device;
  void see(const Tensor& t) {
    if (!t.defined()) return;
    if (!device) {
      device = t.device();
      return;
    }
    LOOM_CHECK(*device == t.device(), op, ": tensors on different devices (", device->str(), " and ",
               t.device().str(), ")");
  }
  void see(const std::vector<Tensor>& ts) {
    for (const Tensor& t : ts) see(t);
  }
  template <class T>
  void see(const T&) {}
};

template <class... A>
Device common_device(const char* op, const A&... args) {
  DeviceProbe probe{op, std::nullopt};
  (probe.see(args), ...);
  return probe.device.value_or(Device::cpu());
}

#ifndef LOOM_WITH_CUDA
[[noreturn]] void not_on_cuda(const char* op) {
  detail::throw_error(op, ": got a CUDA tensor, but loom was built without CUDA (no CUDA device)");
}
#endif

}  // namespace

#define LOOM_UNPACK(...) __VA_ARGS__
#ifdef LOOM_WITH_CUDA
#define LOOM_OP(ret, name, params, args)                                      \
  ret name params {                                                           \
    if (common_device(#name, LOOM_UNPACK args).is_cuda()) return cuda::name args; \
    return cpu::name args;                                                    \
  }
#else
#define LOOM_OP(ret, name, params, args)                                      \
  ret name params {                                                           \
    if (common_device(#name, LOOM_UNPACK args).is_cuda()) not_on_cuda(#name); \
    return cpu::name args;                                                    \
  }
#endif
#include "kernels/op_list.h"
#undef LOOM_OP
#undef LOOM_UNPACK

}  // namespace loom::ops
