// evaluate_outputs.cpp: the files of `loom eval` (see evaluate_outputs.h).
#include "trainers/evaluate_outputs.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/grid.h"
#include "tensor/error.h"
#include "tensor/file_io.h"
#include "trainers/predict.h"

namespace loom::eval {
namespace fs = std::filesystem;
namespace {

nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json f1_json(const PixelF1& f) {
  return {{"threshold", number(f.threshold)},
          {"f1", number(f.f1)},
          {"precision", number(f.precision)},
          {"recall", number(f.recall)},
          {"iou", number(f.iou)}};
}

nlohmann::json metrics_json(const DetectionMetrics& m) {
  return {{"images", m.images},
          {"defective_images", m.defective_images},
          {"image_auroc", number(m.image_auroc)},
          {"pixel_auroc", number(m.pixel_auroc)},
          {"aupro", number(m.aupro)},
          {"best", f1_json(m.best)},
          {"at_threshold", f1_json(m.at_threshold)}};
}

std::string fixed(double v, const char* format = "%.3f") {
  if (!std::isfinite(v)) return "n/a";
  char text[64];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

std::string table_row(const std::string& category, const std::string& defect, const DetectionMetrics& m) {
  return "| " + category + " | " + defect + " | " + std::to_string(m.images) + " (" +
         std::to_string(m.defective_images) + " defective) | " + fixed(m.image_auroc) + " | " + fixed(m.pixel_auroc) +
         " | " + fixed(m.aupro) + " | " + fixed(m.best.f1) + " | " + fixed(m.at_threshold.f1) + " | " +
         fixed(m.at_threshold.iou) + " |\n";
}

std::string markdown_table(const EvalReport& report, double max_fpr, size_t categories) {
  std::string table = "| category | defect | images | image AUROC | pixel AUROC | AUPRO@" + fixed(max_fpr, "%g") +
                      " | F1 max | F1@t | IoU@t |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const EvalRow& row : report.rows) table += table_row(row.category, row.defect, row.metrics);
  if (categories > 1) table += table_row("**mean**", "all", report.mean);
  return table;
}

// ---- the gallery --------------------------------------------------------------

struct GalleryPick {
  const CategoryScores* category = nullptr;
  const ScoredImage* image = nullptr;
  double f1 = 0;     // pixel F1 of s >= t on this image
  std::string rank;  // "best 1", "worst 2", ...
};

// The `count` best and then the `count` worst reported defective images by
// pixel F1 at t (no image twice).
std::vector<GalleryPick> gallery_picks(const std::vector<CategoryScores>& categories, double t, int64_t count) {
  std::vector<GalleryPick> all;
  for (const CategoryScores& c : categories)
    for (const ScoredImage& image : c.images)
      if (!image.held_out && image.defect != "good")
        all.push_back({&c, &image, pixel_f1_at(image.map, image.mask, t).f1, ""});
  std::stable_sort(all.begin(), all.end(), [](const GalleryPick& a, const GalleryPick& b) { return a.f1 > b.f1; });
  const size_t best = std::min(all.size(), static_cast<size_t>(count));
  const size_t worst = std::min(all.size() - best, static_cast<size_t>(count));
  std::vector<GalleryPick> picks;
  for (size_t i = 0; i < best; ++i) {
    picks.push_back(all[i]);
    picks.back().rank = "best " + std::to_string(i + 1);
  }
  for (size_t i = 0; i < worst; ++i) {
    picks.push_back(all[all.size() - 1 - i]);
    picks.back().rank = "worst " + std::to_string(i + 1);
  }
  return picks;
}

// (C, S, S) float32 in [0, 1], `channels` channels (a 1-channel input repeated),
// upscaled nearest by an integer factor to at least `side` pixels.
Tensor gallery_cell(const Tensor& image, int64_t channels, int64_t side) {
  Tensor x = image.to(DType::Float32);
  if (x.size(0) != channels) x = cat(std::vector<Tensor>(static_cast<size_t>(channels), x), 0);
  const int64_t factor = std::max<int64_t>(1, (side + x.size(1) - 1) / x.size(1));
  if (factor == 1) return x.contiguous();
  return upsample_nearest(x.unsqueeze(0), x.size(1) * factor, x.size(2) * factor).squeeze(0);
}

void save_gallery(const fs::path& png, const EvalContext& context, const std::vector<CategoryScores>& categories,
                  double t, int64_t count) {
  double scale = 1;  // m: the anomaly maps are shown as a / m
  if (!context.probability) {
    double largest = 0;
    for (const CategoryScores& c : categories)
      for (const ScoredImage& image : c.images)
        if (!image.held_out) largest = std::max(largest, amax(image.map).item());
    scale = largest > 0 ? largest : 1;
  }
  const std::vector<GalleryPick> picks = gallery_picks(categories, t, count);
  LOOM_CHECK(!picks.empty(), "the gallery has no defective image to show");
  NoGradGuard no_grad;
  std::vector<Tensor> cells;
  data::GridOptions grid;
  grid.nrow = 4;
  const int64_t channels = context.channels, side = 128;
  for (const GalleryPick& pick : picks) {
    const ScoredImage& image = *pick.image;
    const Tensor input = pick.category->dataset->get(image.index).image;  // (C, S, S)
    const Tensor shown = clamp(image.map * (1.0 / scale), 0.0, 1.0);      // (1, S, S)
    const Tensor mask = train::threshold_mask(image.map, t, /*strict=*/false).to(DType::Float32) * (1.0 / 255);
    for (const Tensor& cell : {input, image.mask, shown, mask}) cells.push_back(gallery_cell(cell, channels, side));
    const std::string where = (categories.size() > 1 ? pick.category->name + "/" : std::string()) + image.defect + "/" +
                              fs::path(image.path).stem().string();
    grid.captions.push_back(where);
    grid.captions.push_back("truth");
    grid.captions.push_back(context.probability ? "p" : "a/" + fixed(scale, "%.3g"));
    grid.captions.push_back(pick.rank + " F1 " + fixed(pick.f1, "%.2f"));
  }
  data::save_grid(png.string(), cells, grid);
}

std::string markdown_file(const EvalContext& c, const std::vector<CategoryScores>& categories,
                          const EvalReport& report) {
  std::string names;
  for (const CategoryScores& category : categories) names += (names.empty() ? "" : ", ") + category.name;
  std::string text = "# loom eval\n\n";
  text += "- detector: `" + c.checkpoint + "` (" + c.model + ": " +
          (c.probability ? "defect probability p" : "anomaly map a") + ", " + std::to_string(c.image_size) + "x" +
          std::to_string(c.image_size) + ", " + std::to_string(c.channels) + " channel" + (c.channels == 1 ? "" : "s") +
          ")\n";
  text += "- dataset: `" + c.options.data + "` (" + c.layout + "), " +
          (c.split == "test" ? std::string("test split") : "every image (the layout has no split)") +
          "; categories: " + names + "\n";
  text += "- threshold t = " + fixed(report.threshold, "%.6g") + ": " + report.threshold_source + "\n";
  if (report.validation_images > 0)
    text += "- validation hold-out: " + std::to_string(report.validation_images) +
            " test images chose t and are in no row\n";
  text += "- AUPRO: PRO (8-connected regions) integrated up to FPR " + fixed(c.options.max_fpr, "%g") +
          ", divided by it. F1 max: the best threshold on the row's own images (an oracle). F1@t, IoU@t: "
          "pixels with score >= t. A defect row holds that type's images and the category's good ones.\n\n";
  text += report.table;
  if (!report.gallery_path.empty())
    text += "\n![image | ground truth | map | mask at t](" + report.gallery_path.filename().string() + ")\n";
  return text;
}

nlohmann::json json_of(const EvalContext& c, const std::vector<CategoryScores>& categories, const EvalReport& report) {
  nlohmann::json names = nlohmann::json::array();
  for (const CategoryScores& category : categories) names.push_back(category.name);
  nlohmann::json rows = nlohmann::json::array();
  for (const EvalRow& row : report.rows) {
    nlohmann::json r = metrics_json(row.metrics);
    r["category"] = row.category;
    r["defect"] = row.defect;
    rows.push_back(r);
  }
  nlohmann::json held_out = nlohmann::json::array();
  for (const CategoryScores& category : categories)
    for (const ScoredImage& image : category.images)
      if (image.held_out) held_out.push_back(image.path);
  const EvalOptions& o = c.options;
  return {
      {"detector",
       {{"checkpoint", c.checkpoint},
        {"model", c.model},
        {"output", c.probability ? "defect probability" : "anomaly map"},
        {"image_size", c.image_size},
        {"channels", c.channels}}},
      {"dataset", {{"root", o.data}, {"layout", c.layout}, {"split", c.split}, {"categories", names}}},
      {"settings",
       {{"max_fpr", o.max_fpr},
        {"val_share", o.val_share},
        {"seed", o.seed},
        {"gallery", o.gallery},
        {"batch", o.batch}}},
      {"threshold",
       {{"value", report.threshold},
        {"source", report.threshold_source},
        {"validation_images", report.validation_images},
        {"validation", held_out}}},
      {"rows", rows},
      {"mean", metrics_json(report.mean)},
      {"outputs",
       {{"json", report.json_path.string()},
        {"markdown", report.markdown_path.string()},
        {"gallery", report.gallery_path.string()}}},
  };
}

// Atomically (tensor/file_io.h): a failed write (a full disk, say) throws
// naming the file and leaves an earlier run's file as it was.
void write_text(const fs::path& path, const std::string& text) {
  write_file_atomically(path.string(), text.data(), text.size(), "loom eval");
}

// Removes a gallery.png an earlier run left in the folder (so --gallery 0 never
// leaves a gallery of other results); returns its path, or "" when none.
fs::path remove_stale_gallery(const fs::path& png) {
  std::error_code error;
  if (!fs::is_regular_file(png, error)) return {};
  fs::remove(png, error);
  LOOM_CHECK(!error, "loom eval --gallery 0: cannot remove the earlier run's ", png.string(), ": ", error.message());
  return png;
}

}  // namespace

void write_eval_outputs(const EvalContext& context, const std::vector<CategoryScores>& categories, EvalReport& report) {
  const fs::path out(context.options.out_dir);
  report.json_path = out / "eval.json";
  report.markdown_path = out / "eval.md";
  report.gallery_path.clear();
  report.removed_gallery_path.clear();
  if (context.options.gallery > 0) {
    report.gallery_path = out / "gallery.png";
    save_gallery(report.gallery_path, context, categories, report.threshold, context.options.gallery);
  }
  report.table = markdown_table(report, context.options.max_fpr, categories.size());
  report.json = json_of(context, categories, report);
  write_text(report.json_path, report.json.dump(2) + "\n");
  write_text(report.markdown_path, markdown_file(context, categories, report));
  if (context.options.gallery == 0) report.removed_gallery_path = remove_stale_gallery(out / "gallery.png");
}

}  // namespace loom::eval
