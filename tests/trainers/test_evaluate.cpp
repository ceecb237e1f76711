// test_evaluate.cpp: `loom eval` (trainers/evaluate.h) on a tiny procedural
// dataset in the MVTec AD layout (1 category, 2 defect types, 3 test images
// per folder, 32 px) with a tiny U-Net and a tiny WAE (2 training steps each).
// The rows must equal detection_metrics computed here from the scorer's own
// maps of the image files read directly (not through the dataset readers), so
// the plumbing is checked: which images, which masks, which threshold. Also
// the outputs, the threshold rules and the refusals of bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "autograd/functions.h"
#include "data/fabric/dataset.h"
#include "data/fabric/presets.h"
#include "data/image.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"
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
// resized as the documentation says, the image bilinear, the mask nearest.
struct TestImage {
  std::string path, defect;
  Tensor image, mask;
};

Tensor resized(const Tensor& nchw, bool nearest) {
  if (nchw.size(2) == 32 && nchw.size(3) == 32) return nchw;
  return nearest ? upsample_nearest(nchw, 32, 32) : upsample_bilinear(nchw, 32, 32);
}

std::vector<TestImage> test_images(const fs::path& data_root, const std::string& name) {
  const fs::path category = data_root / name;
  std::vector<TestImage> images;
  std::vector<fs::path> folders;
  for (const auto& e : fs::directory_iterator(category / "test")) folders.push_back(e.path());
  std::sort(folders.begin(), folders.end());
  for (const fs::path& folder : folders) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(folder)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      TestImage t{file.string(), folder.filename().string(),
                  resized(data::load_image(file.string(), data::ColorMode::RGB).unsqueeze(0), false),
                  Tensor::zeros({1, 1, 32, 32})};
      if (t.defect != "good") {
        const fs::path mask_file = category / "ground_truth" / t.defect / (file.stem().string() + "_mask.png");
        const Tensor gray = data::load_image(mask_file.string(), data::ColorMode::Gray).unsqueeze(0);
        std::vector<float> binary;
        for (float v : gray.to_vector<float>()) binary.push_back(v > 0.5f ? 1.0f : 0.0f);
        t.mask = resized(Tensor::from_vector(binary, gray.shape()), true);
      }
      images.push_back(t);
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
// over the right images (`reported`: the images not held out) at the report's
// threshold: "all", then each defect type in name order. Returns the expected
// "all" metrics.
DetectionMetrics expect_category_rows(const EvalReport& report, size_t first, const fs::path& run,
                                      const fs::path& data_root, const std::string& category,
                                      const std::vector<data::fabric::DefectKind>& kinds,
                                      const std::set<std::string>& held_out) {
  const std::vector<TestImage> images = test_images(data_root, category);
  const auto maps = maps_of(run, images);
  auto reported = [&](const TestImage& t) { return !held_out.count(t.path); };
  EXPECT_GE(report.rows.size(), first + 1 + kinds.size());
  if (report.rows.size() < first + 1 + kinds.size()) return {};
  EXPECT_EQ(report.rows[first].category, category);
  EXPECT_EQ(report.rows[first].defect, "all");
  const DetectionMetrics all = expected_metrics(images, maps, reported, report.threshold);
  expect_same_metrics(all, report.rows[first].metrics, category + " all");
  std::set<std::string> defects;
  for (auto kind : kinds) defects.insert(data::fabric::defect_name(kind));
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
// bilinear, masks nearest; rows per category; the mean averages the two "all"
// rows and sums their images; --category picks one.
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
  o.threshold = -1;
  o.val_share = 0.1;  // round(0.3) = 0 images of each folder
  message = error_of([&] { evaluate_detector(o); });
  EXPECT_NE(message.find("no defective one"), std::string::npos) << message;
}
