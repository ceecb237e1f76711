// optim.cpp: STUB. The CPU reference of the fused optimizer updates
// (ops::adam_update, ops::sgd_update) is being written.
#include "kernels/cpu/cpu.h"

namespace loom::cpu {

void adam_update(const std::vector<Tensor>&, const std::vector<Tensor>&, const std::vector<Tensor>&,
                 const std::vector<Tensor>&, const std::vector<Tensor>&, const std::vector<int64_t>&,
                 const AdamUpdateOptions&) {
  detail::throw_error("adam_update: not implemented yet");
}
void sgd_update(const std::vector<Tensor>&, const std::vector<Tensor>&, const std::vector<Tensor>&,
                const std::vector<uint8_t>&, const SgdUpdateOptions&) {
  detail::throw_error("sgd_update: not implemented yet");
}

}  // namespace loom::cpu
