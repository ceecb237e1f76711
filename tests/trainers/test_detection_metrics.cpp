// test_detection_metrics.cpp: trainers/detection_metrics.h against references
// written here independently of it: AUROC by counting every (positive,
// negative) pair, 8-connected regions by repeated min-label propagation, the
// PRO curve and F1 by rescanning every pixel at every distinct threshold, and
// the area by the MVTec AD evaluation code's trapezoid (bisect + correction).
// Random data use few score levels so that ties are common; small cases are
// worked out by hand in comments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "tensor/error.h"
#include "tensor/random.h"
#include "trainers/detection_metrics.h"

using namespace loom;
using namespace loom::eval;

namespace {

// ---- brute-force references --------------------------------------------------

// (#{s_pos > s_neg} + 1/2 #{s_pos = s_neg}) / (P N), by visiting every pair.
double brute_auroc(const std::vector<float>& scores, const std::vector<uint8_t>& labels) {
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < scores.size(); ++i)
    for (size_t j = 0; j < scores.size(); ++j) {
      if (!labels[i] || labels[j]) continue;
      pairs += 1;
      wins += scores[i] > scores[j] ? 1.0 : scores[i] == scores[j] ? 0.5 : 0.0;
    }
  return wins / pairs;
}

// Region id per pixel of one H x W image (-1 background): every defect pixel
// starts with its own index and takes the minimum over its 8 neighbours until
// nothing changes.
std::vector<int64_t> brute_regions(const std::vector<uint8_t>& defect, int64_t h, int64_t w) {
  std::vector<int64_t> label(defect.size(), -1);
  for (size_t i = 0; i < defect.size(); ++i)
    if (defect[i]) label[i] = static_cast<int64_t>(i);
  for (bool changed = true; changed;) {
    changed = false;
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        if (label[y * w + x] < 0) continue;
        for (int64_t dy = -1; dy <= 1; ++dy)
          for (int64_t dx = -1; dx <= 1; ++dx) {
            const int64_t ny = y + dy, nx = x + dx;
            if (ny < 0 || ny >= h || nx < 0 || nx >= w || label[ny * w + nx] < 0) continue;
            if (label[ny * w + nx] < label[y * w + x]) {
              label[y * w + x] = label[ny * w + nx];
              changed = true;
            }
          }
      }
  }
  return label;
}

// Data of N images of H x W, flat.
struct Images {
  int64_t n, h, w;
  std::vector<float> scores;
  std::vector<uint8_t> defect;
  Tensor maps() const { return Tensor::from_vector(scores, {n, h, w}); }
  Tensor masks() const {
    std::vector<float> m(defect.begin(), defect.end());
    return Tensor::from_vector(m, {n, h, w});
  }
};

std::vector<float> distinct_descending(const std::vector<float>& scores) {
  std::set<float> s(scores.begin(), scores.end());
  return {s.rbegin(), s.rend()};
}

// The MVTec AD evaluation code's trapezoid_area(x, y, x_max).
double mvtec_trapezoid(const std::vector<double>& x, const std::vector<double>& y, double x_max) {
  double correction = 0;
  if (std::find(x.begin(), x.end(), x_max) == x.end()) {
    const size_t ins = std::upper_bound(x.begin(), x.end(), x_max) - x.begin();  // bisect.bisect
    const double y_interp = y[ins - 1] + (y[ins] - y[ins - 1]) * (x_max - x[ins - 1]) / (x[ins] - x[ins - 1]);
    correction = 0.5 * (y_interp + y[ins - 1]) * (x_max - x[ins - 1]);
  }
  double area = 0;
  size_t prev = 0;
  for (size_t i = 1; i < x.size() && x[i] <= x_max; ++i) {
    area += 0.5 * (y[i] + y[prev]) * (x[i] - x[prev]);
    prev = i;
  }
  return area + correction;
}

// AUPRO: every region of every image, PRO and FPR recounted at each distinct
// score, the curve (0, 0), points..., (1, 1) as the MVTec code builds it.
double brute_aupro(const Images& d, double max_fpr) {
  std::vector<std::vector<size_t>> regions;  // pixel indices per region
  for (int64_t n = 0; n < d.n; ++n) {
    const size_t base = static_cast<size_t>(n * d.h * d.w);
    std::vector<uint8_t> one(d.defect.begin() + base, d.defect.begin() + base + d.h * d.w);
    std::map<int64_t, std::vector<size_t>> by_label;
    const std::vector<int64_t> label = brute_regions(one, d.h, d.w);
    for (size_t p = 0; p < label.size(); ++p)
      if (label[p] >= 0) by_label[label[p]].push_back(base + p);
    for (auto& [l, pixels] : by_label) regions.push_back(pixels);
  }
  double negatives = 0;
  for (uint8_t v : d.defect) negatives += v ? 0 : 1;
  std::vector<double> x{0}, y{0};
  for (float t : distinct_descending(d.scores)) {
    double fp = 0;
    for (size_t i = 0; i < d.scores.size(); ++i) fp += (!d.defect[i] && d.scores[i] >= t) ? 1 : 0;
    double pro = 0;
    for (const auto& r : regions) {
      double hit = 0;
      for (size_t i : r) hit += d.scores[i] >= t ? 1 : 0;
      pro += hit / static_cast<double>(r.size());
    }
    x.push_back(fp / negatives);
    y.push_back(pro / static_cast<double>(regions.size()));
  }
  x.push_back(1);
  y.push_back(1);
  return mvtec_trapezoid(x, y, max_fpr) / max_fpr;
}

struct Counts {
  double tp = 0, fp = 0, fn = 0;
};
Counts counts_at(const Images& d, double t) {
  Counts c;
  for (size_t i = 0; i < d.scores.size(); ++i) {
    const bool pred = d.scores[i] >= t;
    c.tp += pred && d.defect[i];
    c.fp += pred && !d.defect[i];
    c.fn += !pred && d.defect[i];
  }
  return c;
}

// Best F1 over the distinct scores (strictly better replaces: highest
// threshold on ties) and its threshold.
std::pair<double, double> brute_best_f1(const Images& d) {
  double best = -1, best_t = 0;
  for (float t : distinct_descending(d.scores)) {
    const Counts c = counts_at(d, t);
    const double f1 = 2 * c.tp / (2 * c.tp + c.fp + c.fn);
    if (f1 > best) {
      best = f1;
      best_t = t;
    }
  }
  return {best, best_t};
}

// Random images: scores on `levels` values (ties), defects with probability p
// (scattered pixels make many diagonal-only contacts).
Images random_images(uint64_t seed, int64_t n, int64_t h, int64_t w, int64_t levels, double p) {
  Generator gen(seed);
  Images d{n, h, w, {}, {}};
  const std::vector<int64_t> raw = randint(0, levels, {n, h, w}, gen).to_vector<int64_t>();
  const std::vector<float> defect = bernoulli({n, h, w}, p, gen).to_vector<float>();
  for (size_t i = 0; i < raw.size(); ++i) {
    d.defect.push_back(defect[i] > 0.5f);
    // defects score higher on average, so the metrics are not all near 1/2
    d.scores.push_back(static_cast<float>(raw[i] + (d.defect.back() ? levels / 3 : 0)) / static_cast<float>(levels));
  }
  return d;
}

// ---- tests -------------------------------------------------------------------

TEST(DetectionMetrics, AurocMatchesPairCountingWithTies) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    const Images d = random_images(seed, 1, 13, 17, seed % 2 ? 5 : 40, 0.3);
    EXPECT_NEAR(auroc(d.scores, d.defect), brute_auroc(d.scores, d.defect), 1e-12) << "seed " << seed;
    EXPECT_NEAR(pixel_auroc(d.maps(), d.masks()), brute_auroc(d.scores, d.defect), 1e-12) << "seed " << seed;
  }
}

TEST(DetectionMetrics, AllTiedScoresGiveOneHalf) {
  // every pair is a tie: AUROC = 1/2 exactly (a per-pixel ROC without tie
  // handling would give anything between 0 and 1 depending on the order)
  EXPECT_EQ(auroc({0.5f, 0.5f, 0.5f, 0.5f}, {1, 0, 0, 1}), 0.5);
  EXPECT_EQ(auroc({0.2f, 0.7f}, {0, 1}), 1.0);
  EXPECT_EQ(auroc({0.2f, 0.7f}, {1, 0}), 0.0);
}

TEST(DetectionMetrics, ImageAurocUsesMapMaximaAndAnyDefect) {
  const Images d = random_images(7, 12, 5, 6, 9, 0.04);
  std::vector<float> maxima;
  std::vector<uint8_t> defective;
  for (int64_t n = 0; n < d.n; ++n) {
    const auto s = d.scores.begin() + n * 30;
    const auto m = d.defect.begin() + n * 30;
    maxima.push_back(*std::max_element(s, s + 30));
    defective.push_back(std::count(m, m + 30, 1) > 0);
  }
  ASSERT_GT(std::count(defective.begin(), defective.end(), 1), 0);
  ASSERT_GT(std::count(defective.begin(), defective.end(), 0), 0);
  EXPECT_NEAR(image_auroc(d.maps(), d.masks()), brute_auroc(maxima, defective), 1e-12);

  // By hand: maxima (0.9 defect, 0.7 good, 0.9 good, 0.3 defect): pairs
  // 0.9>0.7 (1), 0.9=0.9 (1/2), 0.3<0.7, 0.3<0.9 -> 1.5 / 4 = 0.375.
  Tensor maps = Tensor::from_vector<float>({0.9f, 0.1f, 0.7f, 0.7f, 0.9f, 0.2f, 0.3f, 0.0f}, {4, 1, 1, 2});
  Tensor masks = Tensor::from_vector<float>({0, 1, 0, 0, 0, 0, 1, 0}, {4, 1, 1, 2});
  EXPECT_DOUBLE_EQ(image_auroc(maps, masks), 0.375);
}

TEST(DetectionMetrics, RegionsMatchMinLabelPropagation) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const Images d = random_images(seed, 1, 11, 14, 3, 0.35);
    const Regions r = connected_regions_8(d.masks().select(0, 0));
    const std::vector<int64_t> ref = brute_regions(d.defect, 11, 14);
    const std::vector<int64_t> got = r.labels.to_vector<int64_t>();
    // the same partition: one-to-one between reference and loom labels
    std::map<int64_t, int64_t> ref_to_got, got_to_ref;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(ref[i] < 0, got[i] == 0) << "pixel " << i;
      if (ref[i] < 0) continue;
      ASSERT_GE(got[i], 1);
      ASSERT_LE(got[i], r.count);
      auto [a, new_a] = ref_to_got.emplace(ref[i], got[i]);
      auto [b, new_b] = got_to_ref.emplace(got[i], ref[i]);
      EXPECT_EQ(a->second, got[i]);
      EXPECT_EQ(b->second, ref[i]);
    }
    EXPECT_EQ(r.count, static_cast<int64_t>(ref_to_got.size()));
  }
}

TEST(DetectionMetrics, DiagonalPixelsJoinOneRegion) {
  // 1 0 0
  // 0 1 0     8-connected: one region; 4-connected it would be 3
  // 0 0 1
  Tensor mask = Tensor::from_vector<float>({1, 0, 0, 0, 1, 0, 0, 0, 1}, {1, 3, 3});
  const Regions r = connected_regions_8(mask);
  EXPECT_EQ(r.count, 1);
  EXPECT_EQ(r.labels.to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 0, 0, 1, 0, 0, 0, 1}));
  // two blobs that do not touch, not even at a corner: 2 regions
  Tensor two = Tensor::from_vector<float>({1, 0, 1, 1, 0, 1, 0, 0, 0}, {3, 3});
  EXPECT_EQ(connected_regions_8(two).count, 2);
}

TEST(DetectionMetrics, AuproCountsDiagonalContactAsOneRegion) {
  // mask          scores
  // 1 1 0         0.5 0.5 0.1
  // 0 0 1         0.1 0.1 0.9
  // 0 0 0         0.7 0.1 0.1
  // (0,1)-(1,2) touch diagonally: one region of 3 pixels; 6 negatives (0.7, 5 x 0.1).
  // t=0.9: FPR 0, PRO 1/3; t=0.7: FPR 1/6, PRO 1/3; t=0.5: FPR 1/6, PRO 1; t=0.1: FPR 1, PRO 1.
  // Area to 0.3: 1/6 * 1/3 + (0.3 - 1/6) * 1 = 1/18 + 2/15 = 17/90; / 0.3 = 17/27.
  // (4-connected: regions of 2 and 1 pixels, PRO 1/2 at t = 0.9 and 0.7:
  //  1/12 + 2/15 = 13/60, / 0.3 = 13/18.)
  Tensor maps = Tensor::from_vector<float>({0.5f, 0.5f, 0.1f, 0.1f, 0.1f, 0.9f, 0.7f, 0.1f, 0.1f}, {1, 3, 3});
  Tensor masks = Tensor::from_vector<float>({1, 1, 0, 0, 0, 1, 0, 0, 0}, {1, 3, 3});
  EXPECT_NEAR(aupro(maps, masks, 0.3), 17.0 / 27.0, 1e-12);
}

TEST(DetectionMetrics, HandWorkedThreeByThree) {
  // scores        mask
  // 0.9 0.8 0.1   1 1 0
  // 0.8 0.2 0.1   0 0 0
  // 0.1 0.1 0.5   0 0 1
  // positives 0.9, 0.8, 0.5; negatives 0.8, 0.2, 0.1 x 4.
  // AUROC: 0.9 beats 6; 0.8 beats 5 and ties 1 (5.5); 0.5 beats 5 -> 16.5 / 18 = 11/12.
  // Regions (8-connected): {(0,0), (0,1)} and {(2,2)}.
  // t    FPR  PRO               TP FP FN  F1
  // 0.9  0    (1/2 + 0)/2 = 1/4  1  0  2  2/4
  // 0.8  1/6  (1 + 0)/2 = 1/2    2  1  1  4/6
  // 0.5  1/6  1                  3  1  0  6/7   <- best: precision 3/4, recall 1, IoU 3/4
  // 0.2  2/6  1                  3  2  0  6/8
  // 0.1  1    1                  3  6  0  6/12
  // Area to 0.3: (0,0)-(0,1/4): 0; (0,1/4)-(1/6,1/2): 1/6 * 3/8 = 1/16; (1/6,1/2)-(1/6,1): 0;
  // (1/6,1)-(1/3,1) cut at 0.3: 0.3 - 1/6 = 2/15. Sum 47/240; / 0.3 = 47/72.
  // Area to 1: 1/16 + 1/6 + 2/3 = 43/48.
  Tensor maps = Tensor::from_vector<float>({0.9f, 0.8f, 0.1f, 0.8f, 0.2f, 0.1f, 0.1f, 0.1f, 0.5f}, {1, 1, 3, 3});
  Tensor masks = Tensor::from_vector<float>({1, 1, 0, 0, 0, 0, 0, 0, 1}, {1, 1, 3, 3});
  EXPECT_NEAR(pixel_auroc(maps, masks), 11.0 / 12.0, 1e-12);
  EXPECT_NEAR(aupro(maps, masks, 0.3), 47.0 / 72.0, 1e-12);
  EXPECT_NEAR(aupro(maps, masks, 1.0), 43.0 / 48.0, 1e-12);
  // max_fpr exactly on a curve point (1/3): 1/16 + 1/6 = 11/48, / (1/3) = 11/16
  EXPECT_NEAR(aupro(maps, masks, 1.0 / 3.0), 11.0 / 16.0, 1e-12);

  const PixelF1 best = best_pixel_f1(maps, masks);
  EXPECT_FLOAT_EQ(best.threshold, 0.5f);
  EXPECT_NEAR(best.f1, 6.0 / 7.0, 1e-12);
  EXPECT_NEAR(best.precision, 0.75, 1e-12);
  EXPECT_NEAR(best.recall, 1.0, 1e-12);
  EXPECT_NEAR(best.iou, 0.75, 1e-12);

  const PixelF1 at = pixel_f1_at(maps, masks, 0.8);  // TP 2, FP 1, FN 1
  EXPECT_NEAR(at.f1, 4.0 / 6.0, 1e-12);
  EXPECT_NEAR(at.precision, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(at.recall, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(at.iou, 0.5, 1e-12);
  EXPECT_EQ(at.threshold, 0.8);
}

TEST(DetectionMetrics, AuproMatchesBruteForceCurve) {
  const double limits[] = {0.3, 0.05, 1.0, 0.5};
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    // few levels (heavy ties) and many levels (nearly distinct scores)
    const Images d = random_images(seed, 3, 9, 10, seed % 2 ? 6 : 500, 0.25);
    for (double limit : limits)
      EXPECT_NEAR(aupro(d.maps(), d.masks(), limit), brute_aupro(d, limit), 1e-12)
          << "seed " << seed << " max_fpr " << limit;
  }
}

TEST(DetectionMetrics, BestF1MatchesBruteForce) {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    const Images d = random_images(seed, 2, 8, 9, seed % 2 ? 4 : 300, 0.3);
    const auto [ref_f1, ref_t] = brute_best_f1(d);
    const PixelF1 got = best_pixel_f1(d.maps(), d.masks());
    EXPECT_NEAR(got.f1, ref_f1, 1e-12) << "seed " << seed;
    EXPECT_EQ(got.threshold, ref_t) << "seed " << seed;
    const Counts c = counts_at(d, ref_t);
    EXPECT_NEAR(got.precision, c.tp / (c.tp + c.fp), 1e-12);
    EXPECT_NEAR(got.recall, c.tp / (c.tp + c.fn), 1e-12);
    EXPECT_NEAR(got.iou, c.tp / (c.tp + c.fp + c.fn), 1e-12);
  }
}

TEST(DetectionMetrics, BestF1TieKeepsHighestThreshold) {
  // defects {0.9, 0.3}, goods {0.6, 0.5}, P = 2:
  // t=0.9: TP1 FP0 FN1 -> 2/3; t=0.6: TP1 FP1 FN1 -> 1/2; t=0.5: TP1 FP2 FN1 -> 2/5;
  // t=0.3: TP2 FP2 FN0 -> 4/6 = 2/3: a tie with t=0.9, which must win.
  Tensor maps = Tensor::from_vector<float>({0.9f, 0.6f, 0.5f, 0.3f}, {1, 2, 2});
  Tensor masks = Tensor::from_vector<float>({1, 0, 0, 1}, {1, 2, 2});
  const PixelF1 best = best_pixel_f1(maps, masks);
  EXPECT_NEAR(best.f1, 2.0 / 3.0, 1e-12);
  EXPECT_FLOAT_EQ(best.threshold, 0.9f);
}

TEST(DetectionMetrics, F1AtThresholdEdgeCases) {
  Tensor maps = Tensor::from_vector<float>({0.1f, 0.2f, 0.3f, 0.4f}, {1, 2, 2});
  Tensor none = Tensor::zeros({1, 2, 2});
  // neither prediction nor masks hold a defect: everything 1
  const PixelF1 empty = pixel_f1_at(maps, none, 0.5);
  EXPECT_EQ(empty.f1, 1);
  EXPECT_EQ(empty.precision, 1);
  EXPECT_EQ(empty.recall, 1);
  EXPECT_EQ(empty.iou, 1);
  // false positives only: 0
  EXPECT_EQ(pixel_f1_at(maps, none, 0.3).f1, 0);
  EXPECT_EQ(pixel_f1_at(maps, none, 0.3).iou, 0);
  // s >= t includes the threshold itself
  Tensor one = Tensor::from_vector<float>({0, 0, 1, 0}, {1, 2, 2});
  EXPECT_EQ(pixel_f1_at(maps, one, 0.3f).f1, 2.0 / 3.0);  // TP 1 (0.3), FP 1 (0.4)
}

TEST(DetectionMetrics, DetectionMetricsAgreesAndGivesNaNWhereUndefined) {
  const Images d = random_images(11, 5, 6, 7, 10, 0.2);
  const DetectionMetrics m = detection_metrics(d.maps(), d.masks(), 0.6, 0.3);
  EXPECT_EQ(m.images, 5);
  EXPECT_NEAR(m.pixel_auroc, brute_auroc(d.scores, d.defect), 1e-12);
  EXPECT_NEAR(m.aupro, brute_aupro(d, 0.3), 1e-12);
  EXPECT_NEAR(m.best.f1, brute_best_f1(d).first, 1e-12);
  const Counts c = counts_at(d, 0.6);
  EXPECT_NEAR(m.at_threshold.f1, 2 * c.tp / (2 * c.tp + c.fp + c.fn), 1e-12);
  EXPECT_NEAR(m.at_threshold.iou, c.tp / (c.tp + c.fp + c.fn), 1e-12);

  // defect-free images only: every defect metric NaN, F1 at t defined
  Tensor maps = Tensor::from_vector<float>({0.1f, 0.2f, 0.3f, 0.4f}, {2, 1, 1, 2});
  const DetectionMetrics clean = detection_metrics(maps, Tensor::zeros({2, 1, 1, 2}), 0.5);
  EXPECT_EQ(clean.defective_images, 0);
  EXPECT_TRUE(std::isnan(clean.image_auroc));
  EXPECT_TRUE(std::isnan(clean.pixel_auroc));
  EXPECT_TRUE(std::isnan(clean.aupro));
  EXPECT_TRUE(std::isnan(clean.best.f1));
  EXPECT_EQ(clean.at_threshold.f1, 1);
  // every image defective: no image AUROC, pixel metrics defined
  Tensor masks = Tensor::from_vector<float>({1, 0, 0, 1}, {2, 1, 1, 2});
  const DetectionMetrics all_bad = detection_metrics(maps, masks, 0.5);
  EXPECT_EQ(all_bad.defective_images, 2);
  EXPECT_TRUE(std::isnan(all_bad.image_auroc));
  EXPECT_EQ(all_bad.pixel_auroc, 0.5);  // positives 0.1, 0.4 vs negatives 0.2, 0.3
  EXPECT_FALSE(std::isnan(all_bad.aupro));
}

TEST(DetectionMetrics, ManyPixelsMatchPerLevelCounts) {
  // 2 x 256 x 256 pixels: checks the O(n log n) path on many pixels against
  // the per-threshold recount (cheap here: 8 score levels).
  const Images d = random_images(5, 2, 256, 256, 8, 0.1);
  // pixel AUROC by counting per level instead of per pair
  std::map<float, std::pair<double, double>> per_level;  // score -> (positives, negatives)
  for (size_t i = 0; i < d.scores.size(); ++i) (d.defect[i] ? per_level[d.scores[i]].first : per_level[d.scores[i]].second) += 1;
  double wins = 0, pos = 0, neg = 0, neg_below = 0;
  for (const auto& [s, pn] : per_level) {  // ascending
    wins += pn.first * (neg_below + 0.5 * pn.second);
    neg_below += pn.second;
    pos += pn.first;
    neg += pn.second;
  }
  EXPECT_NEAR(pixel_auroc(d.maps(), d.masks()), wins / (pos * neg), 1e-12);
  EXPECT_NEAR(aupro(d.maps(), d.masks()), brute_aupro(d, 0.3), 1e-10);
}

TEST(DetectionMetrics, BadInputThrows) {
  Tensor maps = Tensor::from_vector<float>({0.1f, 0.2f, 0.3f, 0.4f}, {1, 2, 2});
  Tensor clean = Tensor::zeros({1, 2, 2});
  Tensor masks = Tensor::from_vector<float>({0, 1, 0, 0}, {1, 2, 2});
  // no defect
  EXPECT_THROW(pixel_auroc(maps, clean), Error);
  EXPECT_THROW(aupro(maps, clean), Error);
  EXPECT_THROW(best_pixel_f1(maps, clean), Error);
  EXPECT_THROW(auroc({0.1f, 0.2f}, {0, 0}), Error);
  // no defect-free pixel
  EXPECT_THROW(aupro(maps, Tensor::ones({1, 2, 2})), Error);
  // shape mismatch: other size, other rank, other count, channels
  EXPECT_THROW(pixel_auroc(maps, Tensor::zeros({1, 2, 3})), Error);
  EXPECT_THROW(aupro(maps, Tensor::zeros({2, 2, 2})), Error);
  EXPECT_THROW(detection_metrics(maps, Tensor::zeros({1, 4}), 0.5), Error);
  EXPECT_THROW(pixel_auroc(Tensor::zeros({1, 3, 2, 2}), Tensor::zeros({1, 3, 2, 2})), Error);
  EXPECT_THROW(auroc({0.1f, 0.2f}, {0}), Error);
  // max_fpr outside (0, 1]
  EXPECT_THROW(aupro(maps, masks, 0.0), Error);
  EXPECT_THROW(aupro(maps, masks, 1.5), Error);
  // NaN scores
  Tensor nan_maps = Tensor::from_vector<float>({0.1f, NAN, 0.3f, 0.4f}, {1, 2, 2});
  EXPECT_THROW(pixel_auroc(nan_maps, masks), Error);
  try {
    pixel_auroc(maps, Tensor::zeros({1, 2, 3}));
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("masks"), std::string::npos) << e.what();
  }
  // (N, 1, H, W) maps with (N, H, W) masks hold the same images: accepted
  EXPECT_NO_THROW(pixel_auroc(maps.unsqueeze(1), masks));
}

}  // namespace
