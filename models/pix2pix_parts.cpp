// pix2pix_parts.cpp: norm choice and pix2pix's weight init (see pix2pix_parts.h).
#include "models/pix2pix_parts.h"

#include <vector>

namespace loom::models {

nn::ModulePtr make_norm(NormKind norm, int64_t features) {
  if (norm == NormKind::Batch) return nn::make<nn::BatchNorm2d>({.features = features});
  return nn::make<nn::InstanceNorm2d>({.features = features, .affine = false, .track_running_stats = false});
}

bool conv_bias(NormKind norm) { return norm == NormKind::Instance; }

const char* norm_name(NormKind norm) { return norm == NormKind::Batch ? "batch" : "instance"; }

void pix2pix_init_(nn::Module& model, Generator& gen) {
  std::vector<nn::Module*> modules{&model};
  for (auto& [path, m] : model.named_modules()) modules.push_back(m);
  for (nn::Module* m : modules) {
    if (auto* conv = dynamic_cast<nn::Conv2d*>(m)) {
      nn::init::normal_(conv->weight, 0.0, 0.02, gen);
      if (conv->bias.defined()) nn::init::zeros_(conv->bias);
    } else if (auto* deconv = dynamic_cast<nn::ConvTranspose2d*>(m)) {
      nn::init::normal_(deconv->weight, 0.0, 0.02, gen);
      if (deconv->bias.defined()) nn::init::zeros_(deconv->bias);
    } else if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(m); bn != nullptr && bn->weight.defined()) {
      nn::init::normal_(bn->weight, 1.0, 0.02, gen);
      nn::init::zeros_(bn->bias);
    }
  }
}

}  // namespace loom::models
