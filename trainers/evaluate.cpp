// evaluate.cpp: `loom eval` (see evaluate.h): score a dataset's test images
// with a trained detector and report detection_metrics.h per category and
// defect type.
//
// The detector: open_trained_run(detector) must name a model whose inference
// entry scores pixels (inference.h): unet (p = sigmoid of the mask logits, in
// [0, 1]) or wae (the anomaly map a, unbounded). Any other model (dcgan, cgan,
// fusion) is an error naming the model and the accepted ones.
//
// The images: for each category (options.categories, else every category of
// the dataset that has test images, in sorted order), every test image, good
// and defective, read as `loom predict` reads a folder (both are a
// data::FileListDataset): the scorer's channels (gray or RGB), resized bilinear
// to its S x S. The test images are those of split "test" (MVTec AD test/,
// DAGM Test/); a layout without splits (AITEX: every file has split "") has
// all its images scored. Masks stay 0/1 at S x S (data::MaskResize::AnyDefect):
// a side that shrinks marks an output pixel defective when any source pixel of
// its block [floor(d n / S), ceil((d + 1) n / S)) is (an area resize, then
// > 0), so a defect smaller than a block never vanishes (a nearest shrink of
// 1024 to 64 keeps 1 pixel in 256) and no defective image counts as good; a
// side that grows is resized nearest. So a small defect covers a whole block
// at S x S: pixel metrics are measured at the detector's resolution. Good
// images get all-zero masks. A mask whose size differs from its image's is an
// error naming both files and sizes (file_list_dataset.h); a category without
// defective test images is an error. Every map is checked when scored: a NaN
// or infinite score is an error naming the image file and the detector.
//
// The threshold t of the "at t" columns (a pixel is predicted defective where
// its score s >= t), by the first rule that applies:
//   1. options.threshold given (--threshold T, T >= 0; negative or NaN is an
//      error): t = T.
//   2. options.val_share = F in (0, 1) (--val-share F): a validation hold-out.
//      In each category c (numbered 0, 1, ... in evaluation order) the test
//      images are grouped by defect type ("good" is a group too), groups in
//      name order; for each group of n images, k = min(round(F n), n - 1) are
//      held out: the first k of randperm(n) drawn from the one generator
//      Philox(seed, offset = c << 32), group after group. t = the best pixel F1
//      threshold (detection_metrics.h best_pixel_f1: every distinct score tried,
//      ties keep the highest) over every held-out image of every category
//      together; an error if they hold no defect pixel. The held-out images are
//      left out of every row (the rows report the rest).
//   3. The run's own threshold (PixelScorer::threshold() >= 0: the WAE's
//      mean + k sigma of defect-free validation maps, stored in its checkpoint).
//   4. A defect probability (unet): t = 0.5. (`loom predict` writes p > 0.5;
//      the two differ only for p exactly 0.5.)
//   Otherwise (an anomaly map without a stored threshold) an error asks for
//   --threshold or --val-share. Giving both --threshold and --val-share is an
//   error too.
//
// The rows: per category, "all" = its reported test images; then per defect
// type (name order), that type's reported images plus the category's reported
// good images. `mean` = the mean over categories of their "all" rows (NaNs, the
// metrics the data cannot define, skipped; images summed).
//
// The outputs (evaluate_outputs.h): eval.json, eval.md, gallery.png.
#include "trainers/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <set>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/layout.h"
#include "tensor/error.h"
#include "tensor/random.h"
#include "trainers/evaluate_outputs.h"
#include "trainers/inference.h"
#include "trainers/philox_stream.h"

namespace loom::eval {
namespace fs = std::filesystem;
using train::PixelScorer;

namespace {

void check_options(const EvalOptions& o) {
  LOOM_CHECK(!o.detector.empty(), "loom eval needs a detector (a unet or wae run directory or checkpoint)");
  LOOM_CHECK(!o.data.empty(), "loom eval needs --data DIR (a dataset in the MVTec AD, DAGM or AITEX layout)");
  LOOM_CHECK(!o.out_dir.empty(), "loom eval needs --out DIR");
  LOOM_CHECK(o.max_fpr > 0 && o.max_fpr <= 1, "--max-fpr must be in (0, 1], got ", o.max_fpr);
  LOOM_CHECK(o.batch >= 1, "--batch must be positive, got ", o.batch);
  LOOM_CHECK(o.gallery >= 0, "--gallery must be >= 0, got ", o.gallery);
  LOOM_CHECK(o.val_share >= 0 && o.val_share < 1, "--val-share must be in [0, 1), got ", o.val_share);
  if (o.threshold) {
    LOOM_CHECK(*o.threshold >= 0, "--threshold must be >= 0 (a pixel is a defect where its score >= t), got ",
               *o.threshold);
    LOOM_CHECK(o.val_share == 0, "give either --threshold (", *o.threshold, ") or --val-share (", o.val_share,
               "), not both: each chooses the threshold");
  }
}

struct Detector {
  train::TrainedRun run;
  std::unique_ptr<PixelScorer> scorer;
};

// The run's scorer; throws for a model that does not score pixels.
Detector open_detector(const std::string& path) {
  Detector d;
  d.run = train::open_trained_run(path);
  std::string accepted;
  const train::ModelInference* entry = nullptr;
  for (const train::ModelInference& m : train::inference_models()) {
    if (!m.scorer) continue;
    accepted += (accepted.empty() ? "" : ", ") + m.model;
    if (m.model == d.run.model) entry = &m;
  }
  LOOM_CHECK(entry != nullptr, d.run.checkpoint.string(), " is a checkpoint of a ", d.run.model,
             " run, which is no detector; evaluation takes runs of the models that score pixels: ", accepted);
  d.scorer = entry->scorer(d.run);
  return d;
}

std::string joined(const std::set<std::string>& names) {
  std::string text;
  for (const std::string& n : names) text += (text.empty() ? "" : ", ") + (n.empty() ? "''" : n);
  return text.empty() ? "none" : text;
}

// The categories to evaluate: `wanted`, each of which must have test images,
// or (none wanted) every category that has.
std::vector<std::string> categories_to_evaluate(const data::DatasetScan& scan, const std::vector<std::string>& wanted) {
  std::set<std::string> tested;  // categories with test images (AITEX: "", no split)
  for (const data::SampleFile& f : scan.files)
    if (f.split == "test" || f.split.empty()) tested.insert(f.category);
  LOOM_CHECK(!tested.empty(), "the dataset ", scan.root, " (", data::layout_name(scan.layout),
             ") has no test images: nothing to evaluate");
  if (wanted.empty()) return {tested.begin(), tested.end()};
  std::vector<std::string> picked;
  for (const std::string& c : wanted) {
    LOOM_CHECK(tested.count(c), "no category '", c, "' with test images in ", scan.root,
               " (categories with test images: ", joined(tested), ")");
    if (std::find(picked.begin(), picked.end(), c) == picked.end()) picked.push_back(c);
  }
  return picked;
}

// The test split of `category`: Test, or All where its files have no split (AITEX).
data::Split test_split(const data::DatasetScan& scan, const std::string& category) {
  for (const data::SampleFile& f : scan.files)
    if (f.category == category && !f.split.empty()) return data::Split::Test;
  return data::Split::All;
}

// Throws naming the image and the detector unless every score of `map` is finite.
void check_finite(const Tensor& map, const std::string& image, const Detector& detector) {
  const std::vector<float> scores = map.contiguous().to_vector<float>();  // S * S
  const auto bad = std::find_if(scores.begin(), scores.end(), [](float v) { return !std::isfinite(v); });
  LOOM_CHECK(bad == scores.end(), "the detector ", detector.run.checkpoint.string(), " (", detector.run.model,
             ") scored image ", image, " with a ", std::isnan(*bad) ? "NaN" : "infinite", " value (pixel ",
             bad - scores.begin(), " of its ", map.size(1), "x", map.size(2),
             " map); the metrics need finite scores: check the run (diverged training?)");
}

// Scores every test image of `category`: maps and S x S masks, in dataset order.
CategoryScores score_category(const Detector& detector, const data::DatasetScan& scan, const std::string& category,
                              const EvalOptions& o) {
  PixelScorer& scorer = *detector.scorer;
  const int64_t size = scorer.image_size();
  CategoryScores c;
  c.selector = category;
  c.name = category.empty() ? data::folder_name(scan.root) : category;
  int64_t defective = 0, good = 0;
  for (const data::SampleFile& f : scan.files)
    if (f.category == category && (f.split == "test" || f.split.empty())) (f.label ? defective : good) += 1;
  LOOM_CHECK(defective > 0, "category '", c.name, "' of ", scan.root, " has no defective test images (", good,
             " good ones): the metrics compare maps with defect masks, so the test split needs defects");
  c.dataset = data::open_dataset(scan.root, {.category = category, .split = test_split(scan, category)},
                                 {.color = scorer.channels() == 1 ? data::ColorMode::Gray : data::ColorMode::RGB,
                                  .height = size,
                                  .width = size,
                                  .mask_resize = data::MaskResize::AnyDefect});
  const int64_t n = c.dataset->size();
  for (int64_t first = 0; first < n; first += o.batch) {
    const int64_t count = std::min(o.batch, n - first);
    std::vector<Tensor> images;  // (C, S, S) each
    for (int64_t i = 0; i < count; ++i) {
      const data::Sample s = c.dataset->get(first + i);
      images.push_back(s.image);
      c.images.push_back({.defect = s.defect_type,
                          .path = s.path,
                          .index = first + i,
                          .map = Tensor(),
                          .mask = s.mask.defined() ? s.mask : Tensor::zeros({1, size, size})});
    }
    Tensor maps;  // (count, 1, S, S)
    {
      NoGradGuard no_grad;
      maps = scorer.score(stack(images, 0)).to(DType::Float32);
    }
    for (int64_t i = 0; i < count; ++i) {
      ScoredImage& image = c.images[static_cast<size_t>(first + i)];
      image.map = maps.select(0, i).clone();  // (1, S, S)
      check_finite(image.map, image.path, detector);
    }
  }
  return c;
}

// Marks the validation hold-out of one category (rule 2 above); returns its size.
int64_t hold_out(CategoryScores& c, double share, Generator& gen) {
  std::map<std::string, std::vector<size_t>> groups;  // defect type -> images, in name order
  for (size_t i = 0; i < c.images.size(); ++i) groups[c.images[i].defect].push_back(i);
  int64_t held = 0;
  for (const auto& [defect, members] : groups) {
    const auto n = static_cast<int64_t>(members.size());
    const int64_t k = std::min(static_cast<int64_t>(std::llround(share * static_cast<double>(n))), n - 1);
    if (k <= 0) continue;
    const std::vector<int64_t> order = randperm(n, gen).to(DType::Int64).to_vector<int64_t>();
    for (int64_t j = 0; j < k; ++j)
      c.images[members[static_cast<size_t>(order[static_cast<size_t>(j)])]].held_out = true;
    held += k;
  }
  return held;
}

// (N, 1, S, S) maps and masks of `images`.
std::pair<Tensor, Tensor> stacked(const std::vector<const ScoredImage*>& images) {
  std::vector<Tensor> maps, masks;
  for (const ScoredImage* image : images) {
    maps.push_back(image->map);
    masks.push_back(image->mask);
  }
  return {stack(maps, 0), stack(masks, 0)};
}

struct ChosenThreshold {
  double value = 0;
  std::string source;
};

ChosenThreshold choose_threshold(const EvalOptions& o, const PixelScorer& scorer,
                                 const std::vector<CategoryScores>& categories) {
  char text[200];
  if (o.threshold) return {*o.threshold, "given (--threshold)"};
  if (o.val_share > 0) {
    std::vector<const ScoredImage*> held;
    for (const CategoryScores& c : categories)
      for (const ScoredImage& image : c.images)
        if (image.held_out) held.push_back(&image);
    int64_t defective = 0;
    for (const ScoredImage* image : held) defective += image->defect != "good";
    LOOM_CHECK(defective > 0, "--val-share ", o.val_share, " holds out ", held.size(),
               " images but no defective one (a defect type needs at least 2 test images to give one "
               "to validation); use a larger share or --threshold");
    const auto [maps, masks] = stacked(held);
    const PixelF1 best = best_pixel_f1(maps, masks);
    std::snprintf(text, sizeof text,
                  "best pixel F1 (%.4f) on a validation hold-out of %zu test images (--val-share %g, seed %llu)",
                  best.f1, held.size(), o.val_share, static_cast<unsigned long long>(o.seed));
    return {best.threshold, text};
  }
  if (scorer.threshold() >= 0)
    return {scorer.threshold(),
            "the run's own threshold (mean + k sd of its defect-free validation maps, stored in the checkpoint)"};
  LOOM_CHECK(scorer.output() == train::PixelOutput::DefectProbability,
             "the detector's anomaly maps come without a stored threshold; give --threshold T or "
             "--val-share F");
  return {0.5, "0.5 on the U-Net's defect probability"};
}

DetectionMetrics metrics_of(const std::vector<const ScoredImage*>& images, double threshold, double max_fpr) {
  const auto [maps, masks] = stacked(images);
  return detection_metrics(maps, masks, threshold, max_fpr);
}

// Per category: "all", then each defect type with the good images (see the top).
std::vector<EvalRow> rows_of(const CategoryScores& c, double threshold, double max_fpr) {
  std::vector<const ScoredImage*> all, good;
  std::map<std::string, std::vector<const ScoredImage*>> by_defect;
  for (const ScoredImage& image : c.images) {
    if (image.held_out) continue;
    all.push_back(&image);
    if (image.defect == "good")
      good.push_back(&image);
    else
      by_defect[image.defect].push_back(&image);
  }
  std::vector<EvalRow> rows;
  rows.push_back({c.name, "all", metrics_of(all, threshold, max_fpr)});
  for (auto& [defect, images] : by_defect) {
    images.insert(images.end(), good.begin(), good.end());
    rows.push_back({c.name, defect, metrics_of(images, threshold, max_fpr)});
  }
  return rows;
}

// The mean of the finite values (NaN when there is none).
double finite_mean(const std::vector<double>& values) {
  double sum = 0;
  int64_t n = 0;
  for (double v : values)
    if (std::isfinite(v)) sum += v, ++n;
  return n ? sum / static_cast<double>(n) : std::nan("");
}

DetectionMetrics mean_of_categories(const std::vector<EvalRow>& rows, double threshold) {
  std::vector<const DetectionMetrics*> all;
  for (const EvalRow& row : rows)
    if (row.defect == "all") all.push_back(&row.metrics);
  auto mean = [&](auto field) {
    std::vector<double> values;
    for (const DetectionMetrics* m : all) values.push_back(field(*m));
    return finite_mean(values);
  };
  DetectionMetrics m;
  for (const DetectionMetrics* row : all) m.images += row->images, m.defective_images += row->defective_images;
  m.image_auroc = mean([](const DetectionMetrics& r) { return r.image_auroc; });
  m.pixel_auroc = mean([](const DetectionMetrics& r) { return r.pixel_auroc; });
  m.aupro = mean([](const DetectionMetrics& r) { return r.aupro; });
  m.best = {.threshold = std::nan(""),
            .f1 = mean([](const DetectionMetrics& r) { return r.best.f1; }),
            .precision = mean([](const DetectionMetrics& r) { return r.best.precision; }),
            .recall = mean([](const DetectionMetrics& r) { return r.best.recall; }),
            .iou = mean([](const DetectionMetrics& r) { return r.best.iou; })};
  m.at_threshold = {.threshold = threshold,
                    .f1 = mean([](const DetectionMetrics& r) { return r.at_threshold.f1; }),
                    .precision = mean([](const DetectionMetrics& r) { return r.at_threshold.precision; }),
                    .recall = mean([](const DetectionMetrics& r) { return r.at_threshold.recall; }),
                    .iou = mean([](const DetectionMetrics& r) { return r.at_threshold.iou; })};
  return m;
}

}  // namespace

EvalReport evaluate_detector(const EvalOptions& o) {
  check_options(o);
  const auto start = std::chrono::steady_clock::now();
  auto progress = [&](const std::string& line) {
    if (!o.quiet) std::fprintf(stderr, "eval: %s\n", line.c_str());
  };
  const Detector detector = open_detector(o.detector);
  PixelScorer& scorer = *detector.scorer;
  const bool probability = scorer.output() == train::PixelOutput::DefectProbability;
  progress("detector " + detector.run.checkpoint.string() + " (" + detector.run.model + ", " +
           (probability ? "defect probability" : "anomaly map") + ", " + std::to_string(scorer.image_size()) + "x" +
           std::to_string(scorer.image_size()) + ")");
  data::require_dataset_root(o.data, "");
  const data::DatasetScan scan = data::scan_dataset(o.data);
  const std::vector<std::string> names = categories_to_evaluate(scan, o.categories);

  std::vector<CategoryScores> categories;
  for (const std::string& name : names) {
    categories.push_back(score_category(detector, scan, name, o));
    const CategoryScores& c = categories.back();
    int64_t defective = 0;
    for (const ScoredImage& image : c.images) defective += image.defect != "good";
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    char line[200];
    std::snprintf(line, sizeof line, "category %s: scored %zu test images (%lld defective) [%.1f s]", c.name.c_str(),
                  c.images.size(), static_cast<long long>(defective), seconds);
    progress(line);
  }

  EvalReport report;
  report.model = detector.run.model;
  if (o.val_share > 0) {
    for (size_t k = 0; k < categories.size(); ++k) {
      Generator gen = train::philox_stream(o.seed, static_cast<uint64_t>(k) << 32);
      report.validation_images += hold_out(categories[k], o.val_share, gen);
    }
  }
  const ChosenThreshold threshold = choose_threshold(o, scorer, categories);
  report.threshold = threshold.value;
  report.threshold_source = threshold.source;
  progress("threshold " + std::to_string(threshold.value) + ": " + threshold.source);

  for (const CategoryScores& c : categories) {
    const std::vector<EvalRow> rows = rows_of(c, report.threshold, o.max_fpr);
    report.rows.insert(report.rows.end(), rows.begin(), rows.end());
  }
  report.mean = mean_of_categories(report.rows, report.threshold);

  const fs::path out(o.out_dir);
  fs::create_directories(out);
  const EvalContext context{.options = o,
                            .checkpoint = detector.run.checkpoint.string(),
                            .model = detector.run.model,
                            .probability = probability,
                            .image_size = scorer.image_size(),
                            .channels = scorer.channels(),
                            .layout = data::layout_name(scan.layout),
                            .split = test_split(scan, names.front()) == data::Split::Test ? "test" : ""};
  write_eval_outputs(context, categories, report);
  progress("wrote " + report.json_path.string() + ", " + report.markdown_path.string() +
           (report.gallery_path.empty() ? std::string() : ", " + report.gallery_path.string()) +
           (report.removed_gallery_path.empty()
                ? std::string()
                : "; removed " + report.removed_gallery_path.string() + " (an earlier run's; --gallery 0)"));
  return report;
}

}  // namespace loom::eval
