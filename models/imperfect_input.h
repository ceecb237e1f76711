// imperfect_input.h: the training pairs of the defect-fusing network T
// (Liu et al., TIP 2020, stage 2): the defect region of a real defective image
// y is cut out, leaving a blank window in a defect-free background, and a
// defect patch (from the stage-1 generator, or any patch) is resized into
// that window. The result x, with hard seams around the window, is the
// "imperfect input"; y is T's target.
//
//   x = b (1 - m) + P m,   m = 1 inside the window, 0 outside             (per pixel)
//   P = the patch resized (bilinear) to the window, placed at its corner
//
// Shapes: background b and target y (N, C, H, W); patch (N, C, h, w) of any
// size; m (N, 1, H, W). All operations are differentiable (a resize, a zero
// pad and a blend), so the same code works on the CPU and CUDA and could pass
// gradients back to a patch generator.
#pragma once
#include <vector>

#include "autograd/functions.h"
#include "tensor/random.h"

namespace loom::models {

struct PasteWindow {
  int64_t top = 0, left = 0, height = 0, width = 0;  // pixels, inside the image
};

struct ImperfectPair {
  Tensor input;   // x (N, C, H, W): the background with the patch pasted in
  Tensor target;  // y (N, C, H, W)
  Tensor window;  // m (N, 1, H, W): 1 inside each sample's window, 0 outside
};

// x = background with patch[n] resized into windows[n] (one window for all
// samples, or one per sample); background (N, C, H, W), patch (N, C, h, w).
// Returns x and m (as ImperfectPair with target undefined).
ImperfectPair paste_into_window(const Tensor& background, const Tensor& patch, const std::vector<PasteWindow>& windows);

// The paper's pair: input = the defective image with its defect window
// replaced by the patch, target = the defective image itself.
ImperfectPair make_imperfect_pair(const Tensor& defective, const Tensor& patch,
                                  const std::vector<PasteWindow>& windows);

// A window with sides uniform in [min_side, max_side] (clipped to the image)
// and a uniform position inside an (height, width) image.
PasteWindow random_window(int64_t height, int64_t width, int64_t min_side, int64_t max_side, Generator& gen);

}  // namespace loom::models
