// detection_metrics.cpp: AUROC (pixel and image), AUPRO, pixel F1 and IoU of
// anomaly maps against ground-truth masks (definitions: detection_metrics.h).
//
// Every curve metric works on the pixels sorted once by descending score and
// visits them a run of equal scores at a time: after the run ending with score
// t, the pixels seen so far are exactly the prediction [s >= t], so equal
// scores always share one threshold. Counts are int64 (exact); the AUROC is the
// Mann-Whitney pair count kept doubled so that a tie's one half stays an
// integer. The 8-connected regions come from an iterative flood fill with an
// explicit stack (no recursion, one workspace reused across images).
#include "trainers/detection_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tensor/error.h"

namespace loom::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One pixel: its score and what it is in the ground truth. `region` is 0 for
// a defect-free pixel, else the 1-based index of its defect region (or 1 for
// every defect pixel when the regions are not needed).
struct Pixel {
  float score;
  uint32_t region;
};

// Maps and masks as flat buffers of N images of H x W pixels, row-major.
struct Flat {
  int64_t images = 0, height = 0, width = 0;
  std::vector<float> scores;   // (N, H, W)
  std::vector<uint8_t> defect;  // (N, H, W) 1 where mask > 0.5
  int64_t pixels_per_image() const { return height * width; }
};

// (N, H, W) of a (N, H, W) or (N, 1, H, W) tensor; throws naming `what`.
Shape images_shape(const Tensor& t, const char* who, const char* what) {
  LOOM_CHECK(t.defined(), who, ": ", what, " is undefined");
  const Shape& s = t.shape();
  LOOM_CHECK(s.size() == 3 || (s.size() == 4 && s[1] == 1), who, ": ", what,
             " must be (N, H, W) or (N, 1, H, W), got ", shape_str(s));
  return s.size() == 3 ? s : Shape{s[0], s[2], s[3]};
}

Flat flatten(const Tensor& maps, const Tensor& masks, const char* who) {
  const Shape map_shape = images_shape(maps, who, "maps"), mask_shape = images_shape(masks, who, "masks");
  LOOM_CHECK(map_shape == mask_shape, who, ": maps ", shape_str(maps.shape()), " and masks ",
             shape_str(masks.shape()), " do not hold the same images");
  Flat f;
  f.images = map_shape[0];
  f.height = map_shape[1];
  f.width = map_shape[2];
  f.scores = maps.to_vector<float>();
  const std::vector<float> mask_values = masks.to_vector<float>();
  f.defect.resize(mask_values.size());
  for (size_t i = 0; i < mask_values.size(); ++i) {
    LOOM_CHECK(!std::isnan(f.scores[i]), who, ": the maps hold NaN (flat index ", i, ")");
    f.defect[i] = mask_values[i] > 0.5f ? 1 : 0;
  }
  return f;
}

// Labels the 8-connected regions of `defect` (H x W, 1 = defect) into
// `labels` (H x W; 0 background, first_label, first_label + 1, ... in raster
// order of each region's first pixel). `stack` is scratch space. Returns the
// number of regions.
int64_t label_regions_8(const uint8_t* defect, int64_t height, int64_t width, int64_t first_label,
                        int64_t* labels, std::vector<int64_t>& stack) {
  const int64_t n = height * width;
  std::fill(labels, labels + n, 0);
  int64_t count = 0;
  for (int64_t seed = 0; seed < n; ++seed) {
    if (!defect[seed] || labels[seed] != 0) continue;
    const int64_t label = first_label + count++;
    labels[seed] = label;
    stack.assign(1, seed);
    while (!stack.empty()) {
      const int64_t p = stack.back();
      stack.pop_back();
      const int64_t y = p / width, x = p % width;
      for (int64_t dy = -1; dy <= 1; ++dy)
        for (int64_t dx = -1; dx <= 1; ++dx) {
          const int64_t ny = y + dy, nx = x + dx;
          if (ny < 0 || ny >= height || nx < 0 || nx >= width) continue;
          const int64_t q = ny * width + nx;
          if (defect[q] && labels[q] == 0) {
            labels[q] = label;
            stack.push_back(q);
          }
        }
    }
  }
  return count;
}

// The pixels sorted by descending score, with their class or region.
struct SortedPixels {
  std::vector<Pixel> pixels;
  std::vector<int64_t> region_sizes;  // [r - 1] = pixels of region r (only with regions)
  int64_t positives = 0, negatives = 0;
};

void sort_descending(std::vector<Pixel>& pixels) {
  std::sort(pixels.begin(), pixels.end(), [](const Pixel& a, const Pixel& b) { return a.score > b.score; });
}

SortedPixels sorted_pixels(const Flat& f, bool with_regions) {
  SortedPixels s;
  s.pixels.resize(f.scores.size());
  for (size_t i = 0; i < f.scores.size(); ++i) {
    s.pixels[i] = {f.scores[i], f.defect[i]};
    s.positives += f.defect[i];
  }
  s.negatives = static_cast<int64_t>(f.scores.size()) - s.positives;
  if (with_regions) {
    const int64_t per_image = f.pixels_per_image();
    std::vector<int64_t> labels(static_cast<size_t>(per_image)), stack;
    for (int64_t n = 0; n < f.images; ++n) {
      const int64_t first = static_cast<int64_t>(s.region_sizes.size()) + 1;
      const int64_t count =
          label_regions_8(f.defect.data() + n * per_image, f.height, f.width, first, labels.data(), stack);
      s.region_sizes.resize(s.region_sizes.size() + static_cast<size_t>(count), 0);
      for (int64_t p = 0; p < per_image; ++p) {
        if (labels[p] == 0) continue;
        s.pixels[n * per_image + p].region = static_cast<uint32_t>(labels[p]);
        ++s.region_sizes[labels[p] - 1];
      }
    }
  }
  sort_descending(s.pixels);
  return s;
}

// Calls visit(first, last) for each run [first, last) of equal scores of the
// descending `pixels`, highest score first.
template <class Visit>
void for_each_threshold(const std::vector<Pixel>& pixels, Visit visit) {
  for (size_t first = 0; first < pixels.size();) {
    size_t last = first + 1;
    while (last < pixels.size() && pixels[last].score == pixels[first].score) ++last;
    visit(first, last);
    first = last;
  }
}

// AUROC = (#{s_pos > s_neg} + 1/2 #{s_pos = s_neg}) / (P N): a run with p
// positives and q negatives adds q * (positives above it) + p q / 2.
double auroc_sorted(const SortedPixels& s, const char* who) {
  LOOM_CHECK(s.positives > 0 && s.negatives > 0, who, ": AUROC needs both classes, got ", s.positives,
             " positive and ", s.negatives, " negative samples");
  int64_t positives_above = 0, twice_pairs = 0;  // 2 * (wins + ties / 2)
  for_each_threshold(s.pixels, [&](size_t first, size_t last) {
    int64_t p = 0;
    for (size_t i = first; i < last; ++i) p += s.pixels[i].region != 0 ? 1 : 0;
    const int64_t q = static_cast<int64_t>(last - first) - p;
    twice_pairs += 2 * q * positives_above + p * q;
    positives_above += p;
  });
  return static_cast<double>(twice_pairs) / (2.0 * static_cast<double>(s.positives) * static_cast<double>(s.negatives));
}

// The PRO curve from (0, 0) through (FPR(t), PRO(t)) for every distinct score
// t, descending; the trapezoid rule up to max_fpr (the segment that crosses it
// cut at max_fpr by linear interpolation), divided by max_fpr.
double aupro_sorted(const SortedPixels& s, double max_fpr, const char* who) {
  LOOM_CHECK(max_fpr > 0 && max_fpr <= 1, who, ": max_fpr must be in (0, 1], got ", max_fpr);
  const int64_t regions = static_cast<int64_t>(s.region_sizes.size());
  LOOM_CHECK(regions > 0, who, ": the masks hold no defect region (AUPRO is undefined)");
  LOOM_CHECK(s.negatives > 0, who, ": the masks hold no defect-free pixel (AUPRO is undefined)");
  std::vector<double> inverse_size(s.region_sizes.size());
  for (size_t r = 0; r < s.region_sizes.size(); ++r) inverse_size[r] = 1.0 / static_cast<double>(s.region_sizes[r]);

  int64_t false_positives = 0;
  double overlap_sum = 0;  // sum over regions of the covered fraction
  double fpr = 0, pro = 0, area = 0;
  bool done = false;
  for_each_threshold(s.pixels, [&](size_t first, size_t last) {
    if (done) return;
    for (size_t i = first; i < last; ++i) {
      if (s.pixels[i].region == 0)
        ++false_positives;
      else
        overlap_sum += inverse_size[s.pixels[i].region - 1];
    }
    const double next_fpr = static_cast<double>(false_positives) / static_cast<double>(s.negatives);
    const double next_pro = overlap_sum / static_cast<double>(regions);
    if (next_fpr > max_fpr) {  // cut this segment at max_fpr
      const double pro_at_max = pro + (next_pro - pro) * (max_fpr - fpr) / (next_fpr - fpr);
      area += 0.5 * (pro + pro_at_max) * (max_fpr - fpr);
      done = true;
      return;
    }
    area += 0.5 * (pro + next_pro) * (next_fpr - fpr);
    fpr = next_fpr;
    pro = next_pro;
  });
  return area / max_fpr;
}

// F1, precision, recall, IoU from the counts (each 1 when tp + fp + fn = 0; a
// ratio whose denominator is 0 otherwise is 0).
PixelF1 f1_of_counts(double threshold, int64_t tp, int64_t fp, int64_t fn) {
  PixelF1 r;
  r.threshold = threshold;
  if (tp + fp + fn == 0) {
    r.f1 = r.precision = r.recall = r.iou = 1;
    return r;
  }
  const auto ratio = [](int64_t num, int64_t den) {
    return den > 0 ? static_cast<double>(num) / static_cast<double>(den) : 0.0;
  };
  r.f1 = ratio(2 * tp, 2 * tp + fp + fn);
  r.precision = ratio(tp, tp + fp);
  r.recall = ratio(tp, tp + fn);
  r.iou = ratio(tp, tp + fp + fn);
  return r;
}

// The best F1 over the distinct scores; strictly greater replaces, so on a
// tie the higher threshold (visited first) stays.
PixelF1 best_f1_sorted(const SortedPixels& s, const char* who) {
  LOOM_CHECK(s.positives > 0, who, ": the masks hold no defect pixel (F1 is undefined)");
  PixelF1 best;
  best.f1 = -1;
  int64_t tp = 0, fp = 0;
  for_each_threshold(s.pixels, [&](size_t first, size_t last) {
    for (size_t i = first; i < last; ++i) (s.pixels[i].region != 0 ? tp : fp) += 1;
    const PixelF1 here = f1_of_counts(s.pixels[first].score, tp, fp, s.positives - tp);
    if (here.f1 > best.f1) best = here;
  });
  return best;
}

PixelF1 f1_at(const Flat& f, double threshold) {
  int64_t tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < f.scores.size(); ++i) {
    const bool predicted = static_cast<double>(f.scores[i]) >= threshold;
    tp += predicted && f.defect[i];
    fp += predicted && !f.defect[i];
    fn += !predicted && f.defect[i];
  }
  return f1_of_counts(threshold, tp, fp, fn);
}

// One sample per image: the maximum of its map, positive when its mask holds
// a defect pixel.
SortedPixels image_samples(const Flat& f) {
  SortedPixels s;
  const int64_t per_image = f.pixels_per_image();
  for (int64_t n = 0; n < f.images; ++n) {
    const auto first = f.scores.begin() + n * per_image;
    const auto first_mask = f.defect.begin() + n * per_image;
    const float score = per_image > 0 ? *std::max_element(first, first + per_image)
                                      : -std::numeric_limits<float>::infinity();
    const bool defective = std::any_of(first_mask, first_mask + per_image, [](uint8_t d) { return d != 0; });
    s.pixels.push_back({score, defective ? 1u : 0u});
    (defective ? s.positives : s.negatives) += 1;
  }
  sort_descending(s.pixels);
  return s;
}

}  // namespace

double auroc(const std::vector<float>& scores, const std::vector<uint8_t>& labels) {
  LOOM_CHECK(scores.size() == labels.size(), "auroc: ", scores.size(), " scores but ", labels.size(), " labels");
  SortedPixels s;
  s.pixels.resize(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) {
    LOOM_CHECK(!std::isnan(scores[i]), "auroc: score ", i, " is NaN");
    LOOM_CHECK(labels[i] <= 1, "auroc: label ", i, " is ", int(labels[i]), ", not 0 or 1");
    s.pixels[i] = {scores[i], labels[i]};
    s.positives += labels[i];
  }
  s.negatives = static_cast<int64_t>(scores.size()) - s.positives;
  sort_descending(s.pixels);
  return auroc_sorted(s, "auroc");
}

double pixel_auroc(const Tensor& maps, const Tensor& masks) {
  return auroc_sorted(sorted_pixels(flatten(maps, masks, "pixel_auroc"), false), "pixel_auroc");
}

double image_auroc(const Tensor& maps, const Tensor& masks) {
  return auroc_sorted(image_samples(flatten(maps, masks, "image_auroc")), "image_auroc");
}

double aupro(const Tensor& maps, const Tensor& masks, double max_fpr) {
  return aupro_sorted(sorted_pixels(flatten(maps, masks, "aupro"), true), max_fpr, "aupro");
}

Regions connected_regions_8(const Tensor& mask) {
  LOOM_CHECK(mask.defined(), "connected_regions_8: the mask is undefined");
  const Shape& s = mask.shape();
  LOOM_CHECK(s.size() == 2 || (s.size() == 3 && s[0] == 1), "connected_regions_8: the mask must be (H, W) or (1, H, W), got ",
             shape_str(s));
  const int64_t height = s[s.size() - 2], width = s[s.size() - 1];
  const std::vector<float> values = mask.to_vector<float>();
  std::vector<uint8_t> defect(values.size());
  for (size_t i = 0; i < values.size(); ++i) defect[i] = values[i] > 0.5f ? 1 : 0;
  Regions r;
  r.labels = Tensor::zeros({height, width}, DType::Int64);
  std::vector<int64_t> stack;
  r.count = label_regions_8(defect.data(), height, width, 1, r.labels.data<int64_t>(), stack);
  return r;
}

PixelF1 best_pixel_f1(const Tensor& maps, const Tensor& masks) {
  return best_f1_sorted(sorted_pixels(flatten(maps, masks, "best_pixel_f1"), false), "best_pixel_f1");
}

PixelF1 pixel_f1_at(const Tensor& maps, const Tensor& masks, double threshold) {
  return f1_at(flatten(maps, masks, "pixel_f1_at"), threshold);
}

DetectionMetrics detection_metrics(const Tensor& maps, const Tensor& masks, double threshold, double max_fpr) {
  const char* who = "detection_metrics";
  LOOM_CHECK(max_fpr > 0 && max_fpr <= 1, who, ": max_fpr must be in (0, 1], got ", max_fpr);
  const Flat f = flatten(maps, masks, who);
  DetectionMetrics m;
  const SortedPixels images = image_samples(f);
  m.images = f.images;
  m.defective_images = images.positives;
  m.image_auroc = images.positives > 0 && images.negatives > 0 ? auroc_sorted(images, who) : kNaN;

  const SortedPixels pixels = sorted_pixels(f, true);
  const bool both_classes = pixels.positives > 0 && pixels.negatives > 0;
  m.pixel_auroc = both_classes ? auroc_sorted(pixels, who) : kNaN;
  m.aupro = both_classes ? aupro_sorted(pixels, max_fpr, who) : kNaN;
  if (pixels.positives > 0) {
    m.best = best_f1_sorted(pixels, who);
  } else {
    m.best.threshold = m.best.f1 = m.best.precision = m.best.recall = m.best.iou = kNaN;
  }
  m.at_threshold = f1_at(f, threshold);
  return m;
}

}  // namespace loom::eval
