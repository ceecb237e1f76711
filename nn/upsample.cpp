// upsample.cpp: nn::Upsample (see upsample.h).
#include "nn/upsample.h"

#include <cmath>
#include <sstream>

#include "autograd/functions.h"

namespace loom::nn {

Upsample::Upsample(const Options& options) : options(options) {
  LOOM_CHECK(options.size.has_value() != options.scale_factor.has_value(),
             "Upsample: give exactly one of size and scale_factor");
  LOOM_CHECK(!options.size || (options.size->h > 0 && options.size->w > 0), "Upsample: size must be positive, got ",
             options.size ? size2_str(*options.size) : std::string());
  LOOM_CHECK(!options.scale_factor || *options.scale_factor > 0, "Upsample: scale_factor must be positive, got ",
             options.scale_factor.value_or(0.0));
  LOOM_CHECK(!options.align_corners || options.mode == UpsampleMode::Bilinear,
             "Upsample: align_corners applies to bilinear mode only");
}

Tensor Upsample::forward(const Tensor& x) {
  check_input_dims(*this, x, 4, "(N, C, H, W)");
  int64_t out_h = 0, out_w = 0;
  if (options.size) {
    out_h = options.size->h;
    out_w = options.size->w;
  } else {
    const double s = *options.scale_factor;
    out_h = static_cast<int64_t>(std::floor(static_cast<double>(x.size(2)) * s));
    out_w = static_cast<int64_t>(std::floor(static_cast<double>(x.size(3)) * s));
  }
  LOOM_CHECK(out_h > 0 && out_w > 0, repr(*this), ": output would be ", out_h, "x", out_w, " for input shape ",
             shape_str(x.shape()));
  if (options.mode == UpsampleMode::Nearest) return upsample_nearest(x, out_h, out_w);
  return upsample_bilinear(x, out_h, out_w, options.align_corners);
}

// "scale_factor=2, mode=nearest", "size=(64, 48), mode=bilinear, align_corners=true"
std::string Upsample::extra_repr() const {
  std::ostringstream s;
  if (options.size)
    s << "size=" << size2_str(*options.size);
  else
    s << "scale_factor=" << *options.scale_factor;
  s << ", mode=" << (options.mode == UpsampleMode::Nearest ? "nearest" : "bilinear");
  if (options.align_corners) s << ", align_corners=true";
  return s.str();
}

}  // namespace loom::nn
