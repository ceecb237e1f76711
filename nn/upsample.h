// upsample.h: nn::Upsample, resizing x (N, C, H, W) to a given size or by a
// scale factor, by nearest-neighbour or bilinear interpolation (PyTorch's
// nn.Upsample), over upsample_nearest / upsample_bilinear.
//   auto up = nn::make<nn::Upsample>({.scale_factor = 2.0});
//   auto up = nn::make<nn::Upsample>({.size = Size2{64, 48}, .mode = nn::UpsampleMode::Bilinear,
//                                     .align_corners = true});
// With a scale factor s the output is floor(H s) x floor(W s); the
// interpolation is computed from the input and output sizes (PyTorch with
// recompute_scale_factor=True; the same as its default for integer s).
// align_corners (bilinear only): true maps the corner pixel centres onto each
// other, src = dst (I - 1) / (O - 1); false maps pixel areas,
// src = (dst + 0.5) I / O - 0.5.
#pragma once
#include <optional>

#include "nn/layer_util.h"

namespace loom::nn {

enum class UpsampleMode { Nearest, Bilinear };

class Upsample : public Module {
 public:
  struct Options {
    std::optional<Size2> size = std::nullopt;           // the output (H, W); or
    std::optional<double> scale_factor = std::nullopt;  // the factor on both H and W (exactly one of the two)
    UpsampleMode mode = UpsampleMode::Nearest;
    bool align_corners = false;                         // bilinear only
  };
  explicit Upsample(const Options& options);

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Upsample"; }
  std::string extra_repr() const override;

  const Options options;
};

}  // namespace loom::nn
