// test_evaluate.cpp: `loom eval` (trainers/evaluate.h) on a tiny procedural
// dataset in the MVTec AD layout (1 category, 2 defect types, 3 test images
// per folder, 32 px) with a tiny U-Net and a tiny WAE (2 training steps each),
// and on tiny AITEX and DAGM layouts written here. The rows must equal
// detection_metrics computed here from the scorer's own maps of the image
// files read directly (not through the dataset readers) and resized by hand
// formulas (bilinear for images, "any source pixel of the block" for shrunk
// masks), so the plumbing is checked: which images, which masks, which
// threshold. Also the mask resize on tiny hand cases, the outputs (atomic
// writes, a stale gallery removed), the threshold rules, a detector whose maps
// hold NaN, and the refusals of bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "autograd/functions.h"
#include "data/fabric/dataset.h"
#include "data/fabric/presets.h"
#include "data/file_list_dataset.h"
#include "data/image.h"
#include "tensor/error.h"
#include "tensor/random.h"
#include "tensor/safetensors.h"
#include "tests/data/dataset_test_util.h"
#include "tests/trainers/train_test_util.h"
#include "trainers/detection_metrics.h"
#include "trainers/evaluate.h"
#include "trainers/inference.h"
#include "trainers/train_unet.h"
#include "trainers/train_wae.h"

using namespace loom;
using namespace loom::eval;
namespace fs = std::filesystem;

namespace {

const std::vector<data::fabric::DefectKind> kDefects = {data::fabric::DefectKind::Hole,
                                                        data::fabric::DefectKind::OilStain};
constexpr int64_t kTestImages = 3;  // per test folder (good and each defect)

// Tiny runs: 2 steps of a width-4 U-Net and WAE on 32 px procedural fabric.
const std::vector<std::string> kUnetArgs = {
    "--image",   "32", "--width",         "4", "--depth", "2", "--batch", "4",
    "--samples", "2",  "--fabric-images", "8", "--steps", "2", "--quiet", "--sample-every",
    "0"};
const std::vector<std::string> kWaeArgs = {
    "--image",         "32", "--width", "4", "--latent",      "8", "--batch",        "4", "--val-good", "4",
    "--fabric-images", "8",  "--steps", "2", "--val-defects", "2", "--sample-every", "0", "--quiet"};

// The dataset and the two runs, made once for every test of this file.
struct Fixture {
  fs::path root, data, unet, wae;
  std::string category;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    x.root = train::test::fresh_dir("loom_test_evaluate", "fixture");
    x.data = x.root / "data";
    x.category = data::fabric::fabric_categories().front();
    data::fabric::write_fabric_dataset({.out_dir = x.data.string(),
                                        .categories = {x.category},
                                        .defects = kDefects,
                                        .n_train = 2,
                                        .n_test = kTestImages,
                                        .size = 32,
                                        .seed = 0});
    x.unet = x.root / "unet";
    train::test::run_trainer<train::UnetTrainOptions>(train::add_unet_options, train::train_unet,
                                                      train::test::concat(kUnetArgs, {"--run-dir", x.unet.string()}));
    x.wae = x.root / "wae";
    train::test::run_trainer<train::WaeTrainOptions>(train::add_wae_options, train::train_wae,
                                                     train::test::concat(kWaeArgs, {"--run-dir", x.wae.string()}));
    return x;
  }();
  return f;
}

fs::path out_dir(const std::string& name) { return train::test::fresh_dir("loom_test_evaluate", name); }

EvalOptions options_for(const fs::path& run, const std::string& out) {
  EvalOptions o;
  o.detector = run.string();
  o.data = fixture().data.string();
  o.out_dir = out_dir(out).string();
  o.quiet = true;
  o.gallery = 2;
  return o;
}

// One test image read straight from the files: (1, 3, 32, 32) in [0, 1] and its
// mask (1, 1, 32, 32) 0/1 (zeros for good images); files of another size are
// resized as the documentation says (hand formulas below), the image bilinear,
// the mask by "any source pixel of the block" where it shrinks.
struct TestImage {
  std::string path, defect;
  Tensor image, mask;
};

// PyTorch's bilinear source taps (align_corners false) of output d of an axis
// in -> out: src = max((d + 0.5) in / out - 0.5, 0), i0 = floor(src),
// i1 = min(i0 + 1, in - 1), weights (1 - f, f) with f = src - i0.
struct Taps {
  int64_t i0, i1;
  double w0, w1;
};
Taps bilinear_taps(int64_t d, int64_t in, int64_t out) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double src = std::max(scale * (static_cast<double>(d) + 0.5) - 0.5, 0.0);
  const auto i0 = static_cast<int64_t>(std::floor(src));
  const double f = src - static_cast<double>(i0);
  return {i0, std::min(i0 + 1, in - 1), 1 - f, f};
}

// (C, H, W) float32 -> (1, C, S, S) by the taps above, in float64 (columns
// then rows), rounded to float32 at the end.
Tensor bilinear_by_hand(const Tensor& chw, int64_t size) {
  const int64_t C = chw.size(0), H = chw.size(1), W = chw.size(2);
  if (H == size && W == size) return chw.unsqueeze(0);
  const std::vector<float> x = chw.contiguous().to_vector<float>();
  std::vector<float> y(static_cast<size_t>(C * size * size));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < size; ++i)
      for (int64_t j = 0; j < size; ++j) {
        const Taps r = bilinear_taps(i, H, size), k = bilinear_taps(j, W, size);
        auto at = [&](int64_t row, int64_t col) {
          return static_cast<double>(x[static_cast<size_t>((c * H + row) * W + col)]);
        };
        const double top = k.w0 * at(r.i0, k.i0) + k.w1 * at(r.i0, k.i1);
        const double bottom = k.w0 * at(r.i1, k.i0) + k.w1 * at(r.i1, k.i1);
        y[static_cast<size_t>((c * size + i) * size + j)] = static_cast<float>(r.w0 * top + r.w1 * bottom);
      }
  return Tensor::from_vector(y, {1, C, size, size});
}

// The source rows (or columns) of output d of an axis in -> out: the block
// floor(d in / out) .. ceil((d + 1) in / out) - 1 when it shrinks, the one
// nearest source floor(d in / out) when it grows or keeps its size.
std::pair<int64_t, int64_t> mask_sources(int64_t d, int64_t in, int64_t out) {
  const int64_t first = d * in / out;
  if (out >= in) return {first, first + 1};
  return {first, static_cast<int64_t>(std::ceil(static_cast<double>((d + 1) * in) / static_cast<double>(out)))};
}

// A 0/1 mask (H, W) as a vector -> (1, 1, S, S): a pixel is 1 when any of its sources is.
Tensor mask_by_hand(const std::vector<float>& m, int64_t H, int64_t W, int64_t size) {
  std::vector<float> y(static_cast<size_t>(size * size), 0.0f);
  for (int64_t i = 0; i < size; ++i)
    for (int64_t j = 0; j < size; ++j) {
      const auto [r0, r1] = mask_sources(i, H, size);
      const auto [c0, c1] = mask_sources(j, W, size);
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = c0; c < c1; ++c)
          if (m[static_cast<size_t>(r * W + c)] > 0) y[static_cast<size_t>(i * size + j)] = 1.0f;
    }
  return Tensor::from_vector(y, {1, 1, size, size});
}

// An image file, its defect type and its mask files (none for good images).
TestImage read_test_image(const fs::path& file, const std::string& defect, const std::vector<fs::path>& masks) {
  const Tensor image = data::load_image(file.string(), data::ColorMode::RGB);  // (3, H, W)
  TestImage t{file.string(), defect, bilinear_by_hand(image, 32), Tensor::zeros({1, 1, 32, 32})};
  if (masks.empty()) return t;
  std::vector<float> merged(static_cast<size_t>(image.size(1) * image.size(2)), 0.0f);  // (H, W) 0/1
  for (const fs::path& mask : masks) {
    const std::vector<float> gray = data::load_image(mask.string(), data::ColorMode::Gray).to_vector<float>();
    for (size_t i = 0; i < merged.size(); ++i)
      if (gray[i] > 0.5f) merged[i] = 1.0f;
  }
  t.mask = mask_by_hand(merged, image.size(1), image.size(2), 32);
  return t;
}

std::vector<fs::path> sorted_files(const fs::path& folder, bool recursive = false) {
  std::vector<fs::path> files;
  if (recursive) {
    for (const auto& e : fs::recursive_directory_iterator(folder))
      if (e.is_regular_file()) files.push_back(e.path());
  } else {
    for (const auto& e : fs::directory_iterator(folder))
      if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// MVTec AD: <category>/test/<defect>/<name>.png, masks ground_truth/<defect>/<name>_mask.png.
std::vector<TestImage> test_images(const fs::path& data_root, const std::string& name) {
  const fs::path category = data_root / name;
  std::vector<TestImage> images;
  std::vector<fs::path> folders;
  for (const auto& e : fs::directory_iterator(category / "test")) folders.push_back(e.path());
  std::sort(folders.begin(), folders.end());
  for (const fs::path& folder : folders) {
    const std::string defect = folder.filename().string();
    for (const fs::path& file : sorted_files(folder)) {
      std::vector<fs::path> masks;
      if (defect != "good") masks.push_back(category / "ground_truth" / defect / (file.stem().string() + "_mask.png"));
      images.push_back(read_test_image(file, defect, masks));
    }
  }
  return images;
}

// The scorer's maps of `images`, one at a time, from a freshly opened run.
std::map<std::string, Tensor> maps_of(const fs::path& run, const std::vector<TestImage>& images) {
  const train::TrainedRun opened = train::open_trained_run(run);
  auto scorer = train::inference_of(opened.model).scorer(opened);
  std::map<std::string, Tensor> maps;
  for (const TestImage& t : images) maps[t.path] = scorer->score(t.image).to(DType::Float32);  // (1, 1, S, S)
  return maps;
}

// detection_metrics over the images `pick` accepts.
DetectionMetrics expected_metrics(const std::vector<TestImage>& images, const std::map<std::string, Tensor>& maps,
                                  const std::function<bool(const TestImage&)>& pick, double threshold) {
  std::vector<Tensor> m, k;
  for (const TestImage& t : images)
    if (pick(t)) m.push_back(maps.at(t.path)), k.push_back(t.mask);
  return detection_metrics(cat(m, 0), cat(k, 0), threshold, 0.3);
}

void expect_same(double expected, double actual, const std::string& what) {
  if (std::isnan(expected))
    EXPECT_TRUE(std::isnan(actual)) << what << ": " << actual;
  else
    EXPECT_NEAR(expected, actual, 1e-12) << what;
}

void expect_same_metrics(const DetectionMetrics& e, const DetectionMetrics& a, const std::string& row,
                         bool best_threshold = true) {
  EXPECT_EQ(e.images, a.images) << row;
  EXPECT_EQ(e.defective_images, a.defective_images) << row;
  expect_same(e.image_auroc, a.image_auroc, row + " image AUROC");
  expect_same(e.pixel_auroc, a.pixel_auroc, row + " pixel AUROC");
  expect_same(e.aupro, a.aupro, row + " AUPRO");
  expect_same(e.best.f1, a.best.f1, row + " F1 max");
  if (best_threshold) expect_same(e.best.threshold, a.best.threshold, row + " F1 max threshold");
  expect_same(e.at_threshold.f1, a.at_threshold.f1, row + " F1@t");
  expect_same(e.at_threshold.iou, a.at_threshold.iou, row + " IoU@t");
}

// The rows of `category`, from report.rows[first] on, equal detection_metrics
// over the right `images` (`reported`: those not held out) at the report's
// threshold: "all", then each defect type of the images in name order.
// Returns the expected "all" metrics.
DetectionMetrics expect_rows_of(const EvalReport& report, size_t first, const fs::path& run,
                                const std::vector<TestImage>& images, const std::string& category,
                                const std::set<std::string>& held_out = {}) {
  const auto maps = maps_of(run, images);
  auto reported = [&](const TestImage& t) { return !held_out.count(t.path); };
  std::set<std::string> defects;
  for (const TestImage& t : images)
    if (t.defect != "good") defects.insert(t.defect);
  EXPECT_GE(report.rows.size(), first + 1 + defects.size());
  if (report.rows.size() < first + 1 + defects.size()) return {};
  EXPECT_EQ(report.rows[first].category, category);
  EXPECT_EQ(report.rows[first].defect, "all");
  const DetectionMetrics all = expected_metrics(images, maps, reported, report.threshold);
  expect_same_metrics(all, report.rows[first].metrics, category + " all");
  size_t r = first + 1;
  for (const std::string& defect : defects) {
    EXPECT_EQ(report.rows[r].category, category);
    EXPECT_EQ(report.rows[r].defect, defect);
    auto pick = [&](const TestImage& t) { return reported(t) && (t.defect == defect || t.defect == "good"); };
    expect_same_metrics(expected_metrics(images, maps, pick, report.threshold), report.rows[r].metrics,
                        category + " " + defect);
    ++r;
  }
  return all;
}

// The same for a category of an MVTec AD dataset, whose defect types must be `kinds`.
DetectionMetrics expect_category_rows(const EvalReport& report, size_t first, const fs::path& run,
                                      const fs::path& data_root, const std::string& category,
                                      const std::vector<data::fabric::DefectKind>& kinds,
                                      const std::set<std::string>& held_out) {
  const std::vector<TestImage> images = test_images(data_root, category);
  std::set<std::string> expected, found;
  for (auto kind : kinds) expected.insert(data::fabric::defect_name(kind));
  for (const TestImage& t : images)
    if (t.defect != "good") found.insert(t.defect);
  EXPECT_EQ(found, expected);
  return expect_rows_of(report, first, run, images, category, held_out);
}

// The report of the fixture's one category: its rows, and the mean = its "all"
// row (a mean has no best threshold).
void expect_rows_match(const EvalReport& report, const fs::path& run, const std::set<std::string>& held_out = {}) {
  ASSERT_EQ(report.rows.size(), 1 + kDefects.size());
  const DetectionMetrics all =
      expect_category_rows(report, 0, run, fixture().data, fixture().category, kDefects, held_out);
  expect_same_metrics(all, report.mean, "mean", /*best_threshold=*/false);
  EXPECT_TRUE(std::isnan(report.mean.best.threshold));
}

bool in_unit_interval_or_null(const nlohmann::json& v) {
  return v.is_null() || (v.is_number() && v.get<double>() >= 0 && v.get<double>() <= 1);
}

// The message of the loom::Error that `f` throws ("" if none).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void copy_dataset(const fs::path& to) {
  fs::remove_all(to);
  fs::copy(fixture().data, to, fs::copy_options::recursive);
}

}  // namespace

// A U-Net run: threshold 0.5, rows equal to the independent metrics, the three
// files with every row.
TEST(Evaluate, UnetRowsEqualTheMetricsOfItsOwnMaps) {
  const EvalOptions o = options_for(fixture().unet, "unet");
  const EvalReport report = evaluate_detector(o);
  EXPECT_EQ(report.model, "unet");
  EXPECT_EQ(report.threshold, 0.5);
  EXPECT_NE(report.threshold_source.find("0.5"), std::string::npos) << report.threshold_source;
  expect_rows_match(report, fixture().unet);

  for (const fs::path& p : {report.json_path, report.markdown_path, report.gallery_path})
    EXPECT_TRUE(fs::is_regular_file(p)) << p;
  const nlohmann::json json = nlohmann::json::parse(train::test::read_bytes(report.json_path));
  EXPECT_EQ(json["detector"]["model"], "unet");
  EXPECT_EQ(json["threshold"]["value"].get<double>(), 0.5);
  ASSERT_EQ(json["rows"].size(), report.rows.size());
  for (size_t i = 0; i < report.rows.size(); ++i) {
    const nlohmann::json& row = json["rows"][i];
    EXPECT_EQ(row["category"], report.rows[i].category);
    EXPECT_EQ(row["defect"], report.rows[i].defect);
    EXPECT_EQ(row["images"].get<int64_t>(), report.rows[i].metrics.images);
    for (const char* key : {"image_auroc", "pixel_auroc", "aupro"})
      EXPECT_TRUE(in_unit_interval_or_null(row[key])) << key;
    for (const char* part : {"best", "at_threshold"})
      for (const char* key : {"f1", "precision", "recall", "iou"})
        EXPECT_TRUE(in_unit_interval_or_null(row[part][key])) << part << "." << key;
    EXPECT_NEAR(row["pixel_auroc"].get<double>(), report.rows[i].metrics.pixel_auroc, 1e-12);
    EXPECT_NEAR(row["at_threshold"]["f1"].get<double>(), report.rows[i].metrics.at_threshold.f1, 1e-12);
  }
  // Every test image is in the "all" row; each defect row adds its type's 3 to the 3 good ones.
  EXPECT_EQ(report.rows[0].metrics.images, kTestImages * (1 + static_cast<int64_t>(kDefects.size())));
  EXPECT_EQ(report.rows[1].metrics.images, 2 * kTestImages);
  const std::string markdown = train::test::read_bytes(report.markdown_path);
  EXPECT_NE(
      markdown.find("| category | defect | images | image AUROC | pixel AUROC | AUPRO@0.3 | F1 max | F1@t | IoU@t |"),
      std::string::npos);
  for (const EvalRow& row : report.rows)
    EXPECT_NE(markdown.find("| " + row.category + " | " + row.defect + " | "), std::string::npos) << row.defect;
  EXPECT_NE(markdown.find(report.table), std::string::npos);
  // The gallery: 2 best + 2 worst rows of 4 cells, each cell 32 px upscaled by
  // 4 to 128, with a caption band of 9 px and 2 px padding (data/grid.h).
  const data::ImageInfo info = data::read_image_info(report.gallery_path.string());
  EXPECT_EQ(info.width, 4 * (128 + 2) + 2);
  EXPECT_EQ(info.height, 4 * (128 + 9 + 2) + 2);
}

// A WAE run: the threshold stored in its checkpoint, unless --threshold is given.
TEST(Evaluate, WaeUsesTheRunsThresholdUnlessGiven) {
  const SafeTensors checkpoint = load_safetensors(train::open_trained_run(fixture().wae).checkpoint.string());
  ASSERT_TRUE(checkpoint.metadata.count("user.threshold"));  // nn/checkpoint.h: user metadata
  const double stored = std::stod(checkpoint.metadata.at("user.threshold"));
  const EvalReport own = evaluate_detector(options_for(fixture().wae, "wae"));
  EXPECT_EQ(own.model, "wae");
  EXPECT_EQ(own.threshold, stored);
  EXPECT_NE(own.threshold_source.find("run's own"), std::string::npos) << own.threshold_source;
  expect_rows_match(own, fixture().wae);

  EvalOptions given = options_for(fixture().wae, "wae_given");
  given.threshold = stored * 0.5;
  given.gallery = 0;
  const EvalReport report = evaluate_detector(given);
  EXPECT_EQ(report.threshold, stored * 0.5);
  EXPECT_NE(report.threshold_source.find("--threshold"), std::string::npos) << report.threshold_source;
  EXPECT_TRUE(report.gallery_path.empty());
  EXPECT_FALSE(fs::exists(fs::path(given.out_dir) / "gallery.png"));
  expect_rows_match(report, fixture().wae);
}

// --val-share 0.5: of each folder's 3 test images min(round(1.5), 2) = 2 are
// held out, t is their best-F1 threshold, the rows hold the others; the same
// seed holds out the same images.
TEST(Evaluate, ValShareChoosesTheThresholdOnHeldOutImages) {
  EvalOptions o = options_for(fixture().wae, "val_share");
  o.val_share = 0.5;
  o.seed = 7;
  const EvalReport report = evaluate_detector(o);
  const int64_t folders = 1 + static_cast<int64_t>(kDefects.size());
  EXPECT_EQ(report.validation_images, 2 * folders);
  std::set<std::string> held_out;
  for (const auto& path : report.json["threshold"]["validation"]) held_out.insert(path.get<std::string>());
  ASSERT_EQ(static_cast<int64_t>(held_out.size()), 2 * folders);
  std::map<std::string, int> per_folder;
  for (const std::string& path : held_out) per_folder[fs::path(path).parent_path().filename().string()] += 1;
  for (const auto& [folder, count] : per_folder) EXPECT_EQ(count, 2) << folder;
  EXPECT_EQ(report.rows[0].metrics.images, folders);

  const std::vector<TestImage> images = test_images(fixture().data, fixture().category);
  const auto maps = maps_of(fixture().wae, images);
  std::vector<Tensor> m, k;
  for (const TestImage& t : images)
    if (held_out.count(t.path)) m.push_back(maps.at(t.path)), k.push_back(t.mask);
  ASSERT_EQ(static_cast<int64_t>(m.size()), 2 * folders) << "held-out paths are test images";
  EXPECT_EQ(report.threshold, best_pixel_f1(cat(m, 0), cat(k, 0)).threshold);
  EXPECT_NE(report.threshold_source.find("--val-share 0.5"), std::string::npos) << report.threshold_source;
  expect_rows_match(report, fixture().wae, held_out);

  o.out_dir = out_dir("val_share_again").string();
  EXPECT_EQ(evaluate_detector(o).json["threshold"]["validation"], report.json["threshold"]["validation"]);
}

// Two categories of 48 px images for a 32 px detector: images resized
// bilinear, masks by "any source pixel of the 1.5-pixel block" (both checked
// against the hand formulas above); rows per category; the mean averages the
// two "all" rows and sums their images; --category picks one.
TEST(Evaluate, TwoCategoriesResizedToTheDetectorsSize) {
  const fs::path data = fixture().root / "data48";
  const std::vector<std::string> categories = {data::fabric::fabric_categories()[0],
                                               data::fabric::fabric_categories()[1]};
  const std::vector<data::fabric::DefectKind> kinds = {data::fabric::DefectKind::ColorSpot};
  data::fabric::write_fabric_dataset({.out_dir = data.string(),
                                      .categories = categories,
                                      .defects = kinds,
                                      .n_train = 1,
                                      .n_test = 2,
                                      .size = 48,
                                      .seed = 1});
  EvalOptions o = options_for(fixture().unet, "data48");
  o.data = data.string();
  const EvalReport report = evaluate_detector(o);
  ASSERT_EQ(report.rows.size(), 4u);
  const DetectionMetrics a = expect_category_rows(report, 0, fixture().unet, data, categories[0], kinds, {});
  const DetectionMetrics b = expect_category_rows(report, 2, fixture().unet, data, categories[1], kinds, {});
  EXPECT_EQ(report.mean.images, 8);
  EXPECT_EQ(report.mean.defective_images, 4);
  EXPECT_NEAR(report.mean.pixel_auroc, (a.pixel_auroc + b.pixel_auroc) / 2, 1e-12);
  EXPECT_NEAR(report.mean.aupro, (a.aupro + b.aupro) / 2, 1e-12);
  EXPECT_NEAR(report.mean.best.f1, (a.best.f1 + b.best.f1) / 2, 1e-12);
  EXPECT_NEAR(report.mean.at_threshold.iou, (a.at_threshold.iou + b.at_threshold.iou) / 2, 1e-12);
  EXPECT_NE(report.table.find("| **mean** | all | 8 (4 defective) |"), std::string::npos) << report.table;
  const nlohmann::json json = nlohmann::json::parse(train::test::read_bytes(report.json_path));
  EXPECT_EQ(json["dataset"]["categories"], nlohmann::json(categories));
  EXPECT_NEAR(json["mean"]["pixel_auroc"].get<double>(), report.mean.pixel_auroc, 1e-12);

  o.categories = {categories[1]};
  o.out_dir = out_dir("data48_one").string();
  const EvalReport one = evaluate_detector(o);
  ASSERT_EQ(one.rows.size(), 2u);
  expect_category_rows(one, 0, fixture().unet, data, categories[1], kinds, {});
}

TEST(Evaluate, RefusesBadInput) {
  const Fixture& f = fixture();
  // A missing dataset folder.
  EvalOptions o = options_for(f.unet, "bad");
  o.data = (f.root / "no_such_dataset").string();
  std::string message = error_of([&] { evaluate_detector(o); });
  EXPECT_NE(message.find("no_such_dataset"), std::string::npos) << message;
  EXPECT_NE(message.find("does not exist"), std::string::npos) << message;

  // A dataset without defective images.
  const fs::path good_only = f.root / "good_only";
  copy_dataset(good_only);
  for (auto kind : kDefects) {
    fs::remove_all(good_only / f.category / "test" / data::fabric::defect_name(kind));
    fs::remove_all(good_only / f.category / "ground_truth" / data::fabric::defect_name(kind));
  }
  o.data = good_only.string();
  message = error_of([&] { evaluate_detector(o); });
  EXPECT_NE(message.find("no defective test images"), std::string::npos) << message;
  EXPECT_NE(message.find(f.category), std::string::npos) << message;

  // A mask of the wrong size: both files and both sizes named.
  const fs::path wrong_mask = f.root / "wrong_mask";
  copy_dataset(wrong_mask);
  const std::string hole = data::fabric::defect_name(kDefects[0]);
  const fs::path mask = wrong_mask / f.category / "ground_truth" / hole / "001_mask.png";
  ASSERT_TRUE(fs::exists(mask));
  data::save_png(mask.string(), Tensor::zeros({1, 16, 24}, DType::UInt8));
  o.data = wrong_mask.string();
  message = error_of([&] { evaluate_detector(o); });
  EXPECT_NE(message.find(mask.string()), std::string::npos) << message;
  EXPECT_NE(message.find((wrong_mask / f.category / "test" / hole / "001.png").string()), std::string::npos) << message;
  EXPECT_NE(message.find("24x16"), std::string::npos) << message;
  EXPECT_NE(message.find("32x32"), std::string::npos) << message;

  // A checkpoint of a model that is no detector: named, with the accepted ones.
  for (const std::string model : {"dcgan", "fusion"}) {
    const fs::path checkpoint = f.root / (model + ".safetensors");
    save_safetensors(checkpoint.string(), {{"w", Tensor::zeros({1})}},
                     {{"settings", nlohmann::json{{"model", model}}.dump()}});
    EvalOptions wrong = options_for(checkpoint, "wrong_model");
    message = error_of([&] { evaluate_detector(wrong); });
    EXPECT_NE(message.find("of a " + model + " run"), std::string::npos) << message;
    EXPECT_NE(message.find("unet"), std::string::npos) << message;
    EXPECT_NE(message.find("wae"), std::string::npos) << message;
  }

  // An empty category selection: a category the dataset lacks, a dataset without a test split.
  o = options_for(f.unet, "bad");
  o.categories = {"no_such_category"};
  message = error_of([&] { evaluate_detector(o); });
  EXPECT_NE(message.find("no category 'no_such_category'"), std::string::npos) << message;
  EXPECT_NE(message.find(f.category), std::string::npos) << message;
  const fs::path train_only = f.root / "train_only";
  copy_dataset(train_only);
  fs::remove_all(train_only / f.category / "test");
  fs::remove_all(train_only / f.category / "ground_truth");
  o.categories.clear();
  o.data = train_only.string();
  message = error_of([&] { evaluate_detector(o); });
  EXPECT_NE(message.find("no test images"), std::string::npos) << message;

  // Two ways of choosing the threshold at once; a hold-out without defects.
  o = options_for(f.wae, "bad");
  o.threshold = 0.1;
  o.val_share = 0.5;
  message = error_of([&] { evaluate_detector(o); });
  EXPECT_NE(message.find("not both"), std::string::npos) << message;
  o.threshold.reset();
  o.val_share = 0.1;  // round(0.3) = 0 images of each folder
  message = error_of([&] { evaluate_detector(o); });
  EXPECT_NE(message.find("no defective one"), std::string::npos) << message;
}

namespace {

// A (channels, H, W) PNG of seeded uniform random gray levels (so the maps vary).
void write_noise_png(const fs::path& path, int64_t height, int64_t width, uint64_t seed) {
  Generator gen(seed);
  std::vector<uint8_t> levels;
  for (int64_t v : randint(0, 256, {1, height, width}, gen).to_vector<int64_t>())
    levels.push_back(static_cast<uint8_t>(v));
  data::save_png(path.string(), Tensor::from_vector(levels, {1, height, width}));
}

// A tiny AITEX dataset (data/aitex.h), 64 x 128 (H x W) gray images: three
// defective (codes 002, 002, 019; one of a single defect pixel, one with two
// masks) and three good ones in two rolls.
void write_aitex(const fs::path& root) {
  using loom::testing::Rect;
  using loom::testing::write_mask_png;
  const int64_t H = 64, W = 128;
  write_noise_png(root / "Defect_images/0001_002_00.png", H, W, 1);
  write_mask_png(root / "Mask_images/0001_002_00_mask.png", H, W, Rect{20, 30, 12, 40});
  // The pixel (5, 6): a nearest shrink to 32 x 32 reads rows 0, 2, 4, 6, ... and
  // columns 0, 4, 8, ..., so it would vanish.
  write_noise_png(root / "Defect_images/0002_002_01.png", H, W, 2);
  write_mask_png(root / "Mask_images/0002_002_01_mask.png", H, W, Rect{5, 6, 1, 1});
  write_noise_png(root / "Defect_images/0003_019_00.png", H, W, 3);
  write_mask_png(root / "Mask_images/0003_019_00_mask1.png", H, W, Rect{2, 2, 6, 10});
  write_mask_png(root / "Mask_images/0003_019_00_mask2.png", H, W, Rect{40, 90, 10, 30});
  write_noise_png(root / "NODefect_images/2311694-2040n7u/0001_000_05.png", H, W, 4);
  write_noise_png(root / "NODefect_images/2311694-2040n7u/0002_000_05.png", H, W, 5);
  write_noise_png(root / "NODefect_images/2608691-2040n7u/0003_000_02.png", H, W, 6);
}

// The AITEX images as the layout describes them: Defect_images/NNNN_DDD_RR.png
// (defect DDD) with Mask_images/NNNN_DDD_RR_mask*.png, NODefect_images/<roll>/*.png good.
std::vector<TestImage> aitex_images(const fs::path& root) {
  std::vector<TestImage> images;
  const std::vector<fs::path> masks = sorted_files(root / "Mask_images");
  for (const fs::path& file : sorted_files(root / "Defect_images")) {
    const std::string stem = file.stem().string();
    std::vector<fs::path> own;
    for (const fs::path& mask : masks)
      if (mask.stem().string().starts_with(stem + "_mask")) own.push_back(mask);
    images.push_back(read_test_image(file, stem.substr(5, 3), own));
  }
  for (const fs::path& file : sorted_files(root / "NODefect_images", /*recursive=*/true))
    images.push_back(read_test_image(file, "good", {}));
  return images;
}

// A tiny DAGM 2007 class (data/dagm.h), 48 px gray: Train/ (not scored) and
// Test/ with 4 images, 2 of them defective (Test/Label/NNNN_label.PNG).
void write_dagm(const fs::path& root) {
  using loom::testing::Rect;
  using loom::testing::write_mask_png;
  const fs::path c = root / "Class1";
  write_noise_png(c / "Train/0001.PNG", 48, 48, 10);
  write_noise_png(c / "Train/0002.PNG", 48, 48, 11);
  write_mask_png(c / "Train/Label/0002_label.PNG", 48, 48, Rect{4, 4, 10, 10});
  for (int i = 1; i <= 4; ++i) write_noise_png(c / ("Test/000" + std::to_string(i) + ".PNG"), 48, 48, 20 + i);
  write_mask_png(c / "Test/Label/0002_label.PNG", 48, 48, Rect{10, 12, 8, 20});
  write_mask_png(c / "Test/Label/0004_label.PNG", 48, 48, Rect{31, 3, 1, 2});
}

// The DAGM test images: Class1/Test/NNNN.PNG, defective when Test/Label/NNNN_label.PNG exists.
std::vector<TestImage> dagm_test_images(const fs::path& root) {
  const fs::path test = root / "Class1" / "Test";
  std::vector<TestImage> images;
  for (const fs::path& file : sorted_files(test)) {
    const fs::path label = test / "Label" / (file.stem().string() + "_label.PNG");
    images.push_back(fs::exists(label) ? read_test_image(file, "defect", {label}) : read_test_image(file, "good", {}));
  }
  return images;
}

}  // namespace

// AITEX has no split (every file's split is ""): every image is scored. The
// single-pixel defect survives the 64x128 -> 32x32 shrink, so its image stays
// defective (3 defective images, not 2).
TEST(Evaluate, AitexLayoutWithoutSplitAndASinglePixelDefect) {
  const fs::path root = out_dir("aitex_data");
  write_aitex(root);
  EvalOptions o = options_for(fixture().unet, "aitex");
  o.data = root.string();
  const EvalReport report = evaluate_detector(o);
  const std::vector<TestImage> images = aitex_images(root);
  ASSERT_EQ(images.size(), 6u);
  ASSERT_EQ(report.rows.size(), 3u);  // all, 002, 019
  expect_rows_of(report, 0, fixture().unet, images, "aitex_data");
  EXPECT_EQ(report.rows[0].metrics.images, 6);
  EXPECT_EQ(report.rows[0].metrics.defective_images, 3);
  EXPECT_EQ(report.rows[1].defect, "002");
  EXPECT_EQ(report.rows[1].metrics.defective_images, 2);
  EXPECT_EQ(report.json["dataset"]["split"], "");
  EXPECT_NE(train::test::read_bytes(report.markdown_path).find("every image (the layout has no split)"),
            std::string::npos);
  // The hand mask of the single pixel: one defect pixel, in block (5 / 2, 6 / 4).
  const std::vector<float> tiny = images[1].mask.to_vector<float>();
  EXPECT_EQ(std::count(tiny.begin(), tiny.end(), 1.0f), 1);
  EXPECT_EQ(tiny[2 * 32 + 1], 1.0f);
}

// DAGM: only Test/ is scored; 48 px images and masks resized to 32.
TEST(Evaluate, DagmLayoutScoresTheTestSplit) {
  const fs::path root = out_dir("dagm_data");
  write_dagm(root);
  EvalOptions o = options_for(fixture().unet, "dagm");
  o.data = root.string();
  const EvalReport report = evaluate_detector(o);
  ASSERT_EQ(report.rows.size(), 2u);  // all, defect
  expect_rows_of(report, 0, fixture().unet, dagm_test_images(root), "Class1");
  EXPECT_EQ(report.rows[0].metrics.images, 4);
  EXPECT_EQ(report.rows[0].metrics.defective_images, 2);
  EXPECT_EQ(report.json["dataset"]["split"], "test");
}

// FileListDataset's resize on hand cases (the rule `loom eval` asks for):
//   4x4 -> 2x2 bilinear: src = (d + 0.5) 2 - 0.5 = 2d + 0.5, so each output is
//   the mean of a 2x2 block; a 1-pixel defect at (3, 2) lands in (1, 1) by
//   AnyDefect and vanishes by Nearest (sources: rows 0, 2, columns 0, 2);
//   64x64 -> 16x16: the pixel (37, 22) is output (9, 5), and only that one;
//   8x2 -> 4x4: rows shrink (blocks of 2), columns grow nearest (sources 0, 0,
//   1, 1), so the pixel (5, 1) marks (2, 2) and (2, 3).
TEST(Evaluate, MasksShrinkWithoutLosingDefects) {
  using loom::testing::Rect;
  using loom::testing::write_mask_png;
  const fs::path dir = out_dir("resize");
  const std::vector<uint8_t> levels = {0, 40, 80, 120, 20, 60, 100, 140, 160, 200, 240, 250, 180, 220, 10, 30};
  data::save_png((dir / "4.png").string(), Tensor::from_vector(levels, {1, 4, 4}));
  write_mask_png(dir / "4_mask.png", 4, 4, Rect{3, 2, 1, 1});
  auto sample = [&](const std::string& image, const std::string& mask, int64_t height, int64_t width,
                    data::MaskResize rule) {
    const data::FileListDataset dataset(
        {{(dir / image).string(), {(dir / mask).string()}, 1, "", "", "defect"}},
        {.color = data::ColorMode::Gray, .height = height, .width = width, .mask_resize = rule});
    return dataset.get(0);
  };
  const data::Sample any = sample("4.png", "4_mask.png", 2, 2, data::MaskResize::AnyDefect);
  const std::vector<double> means = {(0 + 40 + 20 + 60) / 4.0, (80 + 120 + 100 + 140) / 4.0,
                                     (160 + 200 + 180 + 220) / 4.0, (240 + 250 + 10 + 30) / 4.0};
  const std::vector<float> pixels = any.image.to_vector<float>();
  ASSERT_EQ(pixels.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(pixels[i], means[i] / 255, 1e-6) << i;
  EXPECT_EQ(any.mask.to_vector<float>(), (std::vector<float>{0, 0, 0, 1}));
  EXPECT_EQ(sample("4.png", "4_mask.png", 2, 2, data::MaskResize::Nearest).mask.to_vector<float>(),
            (std::vector<float>{0, 0, 0, 0}));

  loom::testing::write_flat_png(dir / "64.png", 64, 64, 128, 1);
  write_mask_png(dir / "64_mask.png", 64, 64, Rect{37, 22, 1, 1});
  const std::vector<float> small =
      sample("64.png", "64_mask.png", 16, 16, data::MaskResize::AnyDefect).mask.to_vector<float>();
  ASSERT_EQ(small.size(), 256u);
  EXPECT_EQ(std::count(small.begin(), small.end(), 1.0f), 1);
  EXPECT_EQ(small[9 * 16 + 5], 1.0f);

  loom::testing::write_flat_png(dir / "8x2.png", 8, 2, 128, 1);
  write_mask_png(dir / "8x2_mask.png", 8, 2, Rect{5, 1, 1, 1});
  std::vector<float> mixed(16, 0.0f);
  mixed[2 * 4 + 2] = mixed[2 * 4 + 3] = 1.0f;
  EXPECT_EQ(sample("8x2.png", "8x2_mask.png", 4, 4, data::MaskResize::AnyDefect).mask.to_vector<float>(), mixed);
}

// A detector whose maps hold NaN: the error names the image and the detector.
TEST(Evaluate, NanMapsNameTheImageAndTheDetector) {
  SafeTensors contents = load_safetensors(train::open_trained_run(fixture().unet).checkpoint.string());
  for (auto& [name, tensor] : contents.tensors)  // the weights, not the batch norms' running statistics
    if (tensor.dtype() == DType::Float32 && name.find("running") == std::string::npos)
      tensor = Tensor::full(tensor.shape(), std::nan(""), DType::Float32);
  const fs::path broken = fixture().root / "nan_unet.safetensors";
  save_safetensors(broken.string(), contents);
  EvalOptions o = options_for(broken, "nan");
  o.gallery = 0;
  const std::string message = error_of([&] { evaluate_detector(o); });
  EXPECT_NE(message.find(broken.string()), std::string::npos) << message;
  EXPECT_NE(message.find("(unet)"), std::string::npos) << message;
  EXPECT_NE(message.find("NaN"), std::string::npos) << message;
  EXPECT_NE(message.find(test_images(fixture().data, fixture().category).front().path), std::string::npos) << message;
}

// A negative or NaN --threshold is refused (not read as "not given").
TEST(Evaluate, RefusesANegativeThreshold) {
  EvalOptions o = options_for(fixture().unet, "negative");
  for (double t : {-0.1, std::nan("")}) {
    o.threshold = t;
    const std::string message = error_of([&] { evaluate_detector(o); });
    EXPECT_NE(message.find("--threshold must be >= 0"), std::string::npos) << t << ": " << message;
  }
}

// --gallery 0 removes an earlier run's gallery.png from the same --out; eval.json
// and eval.md are replaced atomically (no temporary file stays); a file that
// cannot be written is an error naming it, and the earlier eval.md stays whole.
TEST(Evaluate, OutputsAreAtomicAndNoStaleGalleryStays) {
  EvalOptions o = options_for(fixture().unet, "outputs");
  const fs::path out(o.out_dir);
  const EvalReport with_gallery = evaluate_detector(o);
  ASSERT_TRUE(fs::is_regular_file(out / "gallery.png"));
  o.gallery = 0;
  const EvalReport without = evaluate_detector(o);
  EXPECT_TRUE(without.gallery_path.empty());
  EXPECT_EQ(without.removed_gallery_path, out / "gallery.png");
  EXPECT_FALSE(fs::exists(out / "gallery.png"));
  EXPECT_EQ(train::test::read_bytes(out / "eval.md").find("gallery.png"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(train::test::read_bytes(out / "eval.json"))["outputs"]["gallery"], "");
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(out)) names.insert(e.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"eval.json", "eval.md"}));
  EXPECT_TRUE(evaluate_detector(o).removed_gallery_path.empty());  // nothing left to remove

  const std::string markdown = train::test::read_bytes(out / "eval.md");
  fs::remove(out / "eval.json");
  fs::create_directory(out / "eval.json");
  o.threshold = 0.25;  // would change eval.md
  const std::string message = error_of([&] { evaluate_detector(o); });
  EXPECT_NE(message.find((out / "eval.json").string()), std::string::npos) << message;
  EXPECT_NE(message.find("is a directory"), std::string::npos) << message;
  EXPECT_EQ(train::test::read_bytes(out / "eval.md"), markdown);
}
