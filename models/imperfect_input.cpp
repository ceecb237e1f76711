// imperfect_input.cpp: pasting defect patches into windows (see imperfect_input.h).
#include "models/imperfect_input.h"

#include <algorithm>

#include "tensor/error.h"

namespace loom::models {
namespace {

void check_window(const PasteWindow& w, int64_t height, int64_t width, size_t index) {
  LOOM_CHECK(w.height > 0 && w.width > 0 && w.top >= 0 && w.left >= 0 && w.top + w.height <= height &&
                 w.left + w.width <= width,
             "paste_into_window: window ", index, " (top ", w.top, ", left ", w.left, ", height ", w.height, ", width ",
             w.width, ") is empty or leaves the ", height, "x", width, " image");
}

}  // namespace

ImperfectPair paste_into_window(const Tensor& background, const Tensor& patch,
                                const std::vector<PasteWindow>& windows) {
  LOOM_CHECK(background.dim() == 4 && patch.dim() == 4 && patch.size(0) == background.size(0) &&
                 patch.size(1) == background.size(1),
             "paste_into_window: background must be (N, C, H, W) and patch (N, C, h, w), got ",
             shape_str(background.shape()), " and ", shape_str(patch.shape()));
  const int64_t N = background.size(0), H = background.size(2), W = background.size(3);
  LOOM_CHECK(windows.size() == 1 || static_cast<int64_t>(windows.size()) == N, "paste_into_window: give one window ",
             "or one per sample (", N, "), got ", windows.size());
  std::vector<Tensor> inputs, masks;
  for (int64_t n = 0; n < N; ++n) {
    const PasteWindow& w = windows[windows.size() == 1 ? 0 : n];
    check_window(w, H, W, windows.size() == 1 ? 0 : n);
    const Pad2d place{w.left, W - w.left - w.width, w.top, H - w.top - w.height};  // left, right, top, bottom
    Tensor resized = upsample_bilinear(patch.narrow(0, n, 1), w.height, w.width);  // (1, C, h', w')
    Tensor pasted = pad2d(resized, place);                                         // (1, C, H, W), 0 outside
    Tensor mask = pad2d(Tensor::ones({1, 1, w.height, w.width}, background.dtype(), background.device()), place);
    Tensor b = background.narrow(0, n, 1);        // (1, C, H, W)
    inputs.push_back(b * (1.0 - mask) + pasted);  // x = b (1 - m) + P m  (P is 0 outside the window)
    masks.push_back(mask);
  }
  return {.input = cat(inputs, 0), .target = Tensor(), .window = cat(masks, 0)};
}

ImperfectPair make_imperfect_pair(const Tensor& defective, const Tensor& patch,
                                  const std::vector<PasteWindow>& windows) {
  ImperfectPair pair = paste_into_window(defective, patch, windows);
  pair.target = defective;
  return pair;
}

PasteWindow random_window(int64_t height, int64_t width, int64_t min_side, int64_t max_side, Generator& gen) {
  LOOM_CHECK(min_side >= 1 && min_side <= max_side, "random_window: need 1 <= min_side <= max_side, got ", min_side,
             " and ", max_side);
  LOOM_CHECK(min_side <= height && min_side <= width, "random_window: min_side ", min_side, " exceeds the ", height,
             "x", width, " image");
  const auto draw = [&](int64_t lo, int64_t hi) { return static_cast<int64_t>(randint(lo, hi + 1, {1}, gen).item()); };
  PasteWindow w;
  w.height = draw(min_side, std::min(max_side, height));
  w.width = draw(min_side, std::min(max_side, width));
  w.top = draw(0, height - w.height);
  w.left = draw(0, width - w.width);
  return w;
}

}  // namespace loom::models
