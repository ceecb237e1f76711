// demo.cpp: `loom demo` (see demo.h).
#include "trainers/demo.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <CLI/CLI.hpp>

#include "autograd/functions.h"
#include "data/fabric/dataset.h"
#include "data/grid.h"
#include "data/image.h"
#include "data/mvtec.h"
#include "data/transforms.h"
#include "models/anomaly.h"
#include "tensor/error.h"
#include "trainers/demo_report.h"
#include "trainers/inference.h"
#include "trainers/predict.h"
#include "trainers/run_trainer.h"
#include "trainers/sample.h"
#include "trainers/train_cgan.h"
#include "trainers/train_dcgan.h"
#include "trainers/train_fusion.h"
#include "trainers/train_unet.h"
#include "trainers/train_wae.h"
#include "trainers/text.h"

namespace loom::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kMarker = ".loom-demo";  // marks a folder the demo wrote
// The folders and files the demo writes into DIR (replaced on a rerun).
const std::vector<std::string> kDemoEntries = {"data", "validation", "dcgan",   "wae",    "unet",
                                               "cgan", "fusion",     "predict", "sheets", "report.md"};

// The sizes and step counts of one demo run.
struct DemoPlan {
  std::string category = "twill_denim";
  int64_t size = 64;  // the dataset's images
  int64_t n_train = 96, n_test = 3, n_validation = 8;
  std::vector<std::string> dcgan, wae, unet, cgan, fusion;  // each trainer's own options
  int64_t dcgan_steps = 0, wae_steps = 0, unet_steps = 0, cgan_steps = 0, fusion_steps = 0;
  int64_t sample_n = 64;
  int64_t detection_rows = 8;  // defective test images on the detection sheet
};

// Steps for a budget of `minutes` (the counts are for 5 minutes on 2 cores), at least 1.
int64_t scaled(int64_t steps_in_5_minutes, double minutes) {
  return std::max<int64_t>(1, std::llround(static_cast<double>(steps_in_5_minutes) * minutes / 5.0));
}

DemoPlan make_plan(const DemoOptions& o) {
  DemoPlan plan;
  if (o.tiny) {
    plan.size = 16;
    plan.n_train = 8;
    plan.n_test = 1;
    plan.n_validation = 2;
    plan.dcgan_steps = plan.wae_steps = plan.unet_steps = plan.cgan_steps = plan.fusion_steps = 2;
    plan.cgan = {"--image", "16", "--width",         "2", "--nz",          "4", "--condition-dim",  "4",
                 "--batch", "2",  "--fabric-images", "4", "--sample-rows", "2", "--sample-columns", "2"};
    plan.fusion = {"--image", "16", "--width",         "2", "--d-layers", "1",
                   "--batch", "2",  "--fabric-images", "4", "--samples",  "2"};
    plan.dcgan = {"--image",   "16", "--width",         "4", "--nz", "8", "--batch", "4",
                  "--samples", "4",  "--fabric-images", "8"};
    plan.wae = {"--image",    "16", "--width",       "4", "--latent",        "4", "--batch", "2",
                "--val-good", "2",  "--val-defects", "1", "--fabric-images", "8"};
    plan.unet = {"--image",   "16", "--width",         "2", "--depth",         "2", "--batch", "2",
                 "--samples", "2",  "--fabric-images", "8", "--fabric-defects"};
    plan.sample_n = 4;
    plan.detection_rows = 2;
  } else {
    plan.dcgan_steps = scaled(600, o.minutes);
    plan.wae_steps = scaled(400, o.minutes);
    plan.unet_steps = scaled(300, o.minutes);
    plan.cgan_steps = scaled(500, o.minutes);
    plan.fusion_steps = scaled(150, o.minutes);
    plan.cgan = {"--image",         "32",  "--width",       "16", "--batch",          "16",
                 "--fabric-images", "256", "--sample-rows", "6",  "--sample-columns", "7"};
    plan.fusion = {"--image", "32", "--width", "16", "--batch", "8", "--fabric-images", "256", "--samples", "6"};
    plan.dcgan = {"--image", "32", "--width", "16", "--batch", "32", "--samples", "64"};
    plan.wae = {"--image", "64", "--width",    "16", "--latent",      "32",
                "--batch", "16", "--val-good", "8",  "--val-defects", "4"};
    plan.unet = {"--image", "64", "--width", "8", "--depth", "3", "--batch", "8", "--samples", "6", "--fabric-defects"};
  }
  return plan;
}

// Empties the demo's own entries of `dir`; refuses a non-empty folder the demo did not write.
void prepare_folder(const fs::path& dir) {
  if (fs::exists(dir)) {
    LOOM_CHECK(fs::is_directory(dir), "loom demo: ", dir.string(), " is a file; give --out a folder");
    LOOM_CHECK(fs::is_empty(dir) || fs::exists(dir / kMarker), "loom demo: ", dir.string(),
               " is not empty and was not written by loom demo (no ", kMarker, " in it); give another --out");
    for (const std::string& entry : kDemoEntries) fs::remove_all(dir / entry);
  }
  fs::create_directories(dir);
  std::ofstream(dir / kMarker) << "written by loom demo; its folders are replaced when the demo runs again\n";
}

// The last row of <run>/metrics.csv as "name value, ..." (without lr).
std::string final_metrics(const fs::path& run) {
  std::ifstream csv(run / "metrics.csv");
  std::string header, line, last;
  std::getline(csv, header);
  while (std::getline(csv, line))
    if (!line.empty()) last = line;
  std::stringstream names(header), values(last);
  std::string name, value, out;
  while (std::getline(names, name, ',') && std::getline(values, value, ',')) {
    if (name == "lr" || name == "step") continue;
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.4g", std::strtod(value.c_str(), nullptr));
    out += (out.empty() ? "" : ", ") + name + " " + buffer;
  }
  return out;
}

// Copies the run's newest sample sheet to <dir>/sheets/<name>.png; returns the relative path.
fs::path keep_sheet(const fs::path& dir, const fs::path& run, const std::string& name) {
  fs::path newest;
  for (const auto& entry : fs::directory_iterator(run / "samples"))
    if (entry.path().extension() == ".png" && entry.path() > newest) newest = entry.path();
  LOOM_CHECK(!newest.empty(), "loom demo: ", (run / "samples").string(), " holds no sample sheet");
  const fs::path relative = fs::path("sheets") / (name + ".png");
  fs::create_directories(dir / "sheets");
  fs::copy_file(newest, dir / relative, fs::copy_options::overwrite_existing);
  return relative;
}

class Stages {
 public:
  Stages(const DemoOptions& options, int total) : options_(options), total_(total) {}
  // Announces stage `name` and starts its clock.
  DemoStage& begin(const std::string& name, const std::string& what) {
    DemoStage stage;
    stage.name = name;
    stage.summary = what;
    stages_.push_back(stage);
    say("[" + std::to_string(stages_.size()) + "/" + std::to_string(total_) + "] " + name + ": " + what);
    start_ = std::chrono::steady_clock::now();
    return stages_.back();
  }
  void end() {
    DemoStage& stage = stages_.back();
    stage.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    char line[160];
    std::snprintf(line, sizeof line, "      %s done in %.1f s", stage.name.c_str(), stage.seconds);
    say(line + (stage.final_metrics.empty() ? "" : "; " + stage.final_metrics) +
        (stage.scores.empty() ? "" : "; " + stage.scores));
  }
  void say(const std::string& line) const {
    if (!options_.quiet) std::printf("%s\n", line.c_str()), std::fflush(stdout);
  }
  std::vector<DemoStage>& all() { return stages_; }

 private:
  const DemoOptions& options_;
  int total_;
  std::vector<DemoStage> stages_;
  std::chrono::steady_clock::time_point start_;
};

// The common options of a demo training run (`data` empty: the trainer's procedural pool).
std::vector<std::string> common_args(const DemoOptions& o, const fs::path& run, const fs::path& data, int64_t steps) {
  const int64_t log_every = std::max<int64_t>(1, steps / 5);
  std::vector<std::string> args = {"--steps",
                                   std::to_string(steps),
                                   "--seed",
                                   std::to_string(o.seed),
                                   "--run-dir",
                                   run.string(),
                                   "--log-every",
                                   std::to_string(log_every),
                                   "--sample-every",
                                   "0",
                                   "--checkpoint-every",
                                   "0"};
  if (!data.empty()) args.insert(args.end(), {"--data", data.string()});
  if (o.quiet) args.push_back("--quiet");
  return args;
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The ground truth of the test split by predict's output names ("hole_003"):
// (1, S, S) float 0/1, zeros for good images.
std::map<std::string, Tensor> test_masks(const fs::path& data_root, const std::string& category, int64_t size) {
  const data::MvtecDataset test(data_root.string(), {.category = category, .split = data::Split::Test},
                                {.height = size, .width = size});
  std::map<std::string, Tensor> masks;
  for (int64_t i = 0; i < test.size(); ++i) {
    const data::Sample s = test.get(i);
    masks[s.defect_type + "_" + fs::path(s.path).stem().string()] =
        s.mask.defined() ? s.mask : Tensor::zeros({1, size, size});
  }
  return masks;
}

// Pixel counts of the masks [map >= t] (or > t when strict) against the ground truth.
PixelCounts score_masks(const PredictResult& result, const std::map<std::string, Tensor>& truth, double t,
                        bool strict) {
  PixelCounts counts;
  for (const PredictedImage& image : result.images) {
    const auto found = truth.find(image.name);
    LOOM_CHECK(found != truth.end(), "loom demo: no ground truth for the test image ", image.path);
    counts += count_pixels(threshold_mask(image.map, t, strict), found->second);
  }
  return counts;
}

DemoDetection detection(const std::string& model, const PixelCounts& counts, const std::string& rule) {
  return {.model = model, .mask_rule = rule, .iou = counts.iou(), .f1 = counts.f1()};
}

std::string format_scores(const DemoDetection& d) {
  char buffer[240];
  std::snprintf(buffer, sizeof buffer, "%s pixel IoU %.3f, F1 %.3f (mask: %s)", d.model.c_str(), d.iou, d.f1,
                d.mask_rule.c_str());
  return buffer;
}

// (1, S, S) -> (3, S, S), for a sheet of RGB images.
Tensor as_rgb(const Tensor& gray) { return cat({gray, gray, gray}, 0); }

// One row per defective test image (up to `rows`): image | truth | WAE map (a / m) | WAE mask | U-Net mask.
void save_detection_sheet(const fs::path& png, const PredictResult& wae, const PredictResult& unet,
                          const std::map<std::string, Tensor>& truth, int64_t rows) {
  std::vector<Tensor> cells;
  int64_t shown = 0;
  for (size_t i = 0; i < wae.images.size() && shown < rows; ++i) {
    const PredictedImage& a = wae.images[i];
    if (a.name.rfind("good_", 0) == 0) continue;
    const Tensor& mask = truth.at(a.name);  // (1, S, S) 0/1
    const int64_t size = a.map.size(1);
    const Tensor image =
        data::resize_bilinear(data::load_image(a.path, data::ColorMode::RGB), size, size);  // (3, S, S)
    std::vector<float> map = a.map.to_vector<float>();                                      // a / m in [0, 1]
    for (float& v : map) v = static_cast<float>(v / wae.map_scale);
    cells.push_back(image);
    cells.push_back(as_rgb(mask));
    cells.push_back(as_rgb(Tensor::from_vector(map, a.map.shape())));
    cells.push_back(as_rgb(data::to_float01(threshold_mask(a.map, wae.threshold, false))));
    const Tensor unet_mask = data::to_float01(threshold_mask(unet.images[i].map, 0.5, true));
    cells.push_back(as_rgb(unet_mask.size(1) == size ? unet_mask : data::resize_bilinear(unet_mask, size, size)));
    ++shown;
  }
  if (cells.empty()) return;
  data::GridOptions grid;
  grid.nrow = 5;
  data::save_png(png.string(), data::make_grid(cells, grid));
}

}  // namespace

DemoResult run_demo(const DemoOptions& options) {
  LOOM_CHECK(options.minutes > 0 && options.minutes <= 600, "--minutes must be in (0, 600], got ", options.minutes);
  const auto start = std::chrono::steady_clock::now();
  const DemoPlan plan = make_plan(options);
  const fs::path dir(options.out);
  prepare_folder(dir);
  Stages stages(options, 7);  // data, dcgan, wae, unet, cgan, fusion, predict
  const fs::path data_root = dir / "data", category_dir = data_root / plan.category;
  std::vector<DemoDetection> detections;

  // 1. the dataset, and defect-free validation images of the same fabric from another seed
  {
    DemoStage& stage = stages.begin("data", "procedural fabric '" + plan.category + "', " + std::to_string(plan.size) +
                                                "x" + std::to_string(plan.size) + ", MVTec AD layout");
    data::fabric::FabricDatasetOptions fabric;
    fabric.out_dir = data_root.string();
    fabric.categories = {plan.category};
    fabric.n_train = plan.n_train;
    fabric.n_test = plan.n_test;
    fabric.size = plan.size;
    fabric.seed = options.seed;
    const int64_t written = data::fabric::write_fabric_dataset(fabric);
    fabric.out_dir = (dir / "validation").string();
    fabric.seed = options.seed + 1;
    fabric.n_train = 0;
    fabric.n_test = plan.n_validation;
    fabric.defects = {data::fabric::DefectKind::Hole};  // (only test/good is used)
    data::fabric::write_fabric_dataset(fabric);
    stage.command = "loom fabric --out " + data_root.string() + " --categories " + plan.category + " --n " +
                    std::to_string(plan.n_train) + " --n-test " + std::to_string(plan.n_test) + " --size " +
                    std::to_string(plan.size) + " --seed " + std::to_string(options.seed);
    stage.summary += ": " + std::to_string(written) + " images (" + std::to_string(plan.n_train) +
                     " train/good; test: " + std::to_string(plan.n_test) + " good and " + std::to_string(plan.n_test) +
                     " per defect kind, with masks), and " + std::to_string(plan.n_validation) +
                     " defect-free validation images (seed " + std::to_string(options.seed + 1) + ")";
    stages.end();
  }

  // One training stage: `loom train <model> <args>` in this process, with the
  // run's final metrics and its last sample sheet kept. The caller ends it.
  auto train_stage = [&](const std::string& model, const std::string& summary, auto add, auto train,
                         const std::vector<std::string>& model_args, int64_t steps,
                         const fs::path& data) -> DemoStage& {
    DemoStage& stage = stages.begin(model, summary);
    const fs::path run = dir / model;
    const std::vector<std::string> args = concat(model_args, common_args(options, run, data, steps));
    stage.command = "loom train " + model + " " + join(args, " ");
    run_trainer(add, train, args);
    stage.steps = steps;
    stage.final_metrics = final_metrics(run);
    stage.sheets.push_back(keep_sheet(dir, run, model + "_train"));
    return stage;
  };

  // 2. DCGAN, and `loom sample` from its checkpoint
  {
    const fs::path run = dir / "dcgan";
    DemoStage& stage = train_stage("dcgan", "DCGAN on the train/good images", add_dcgan_options, train_dcgan,
                                   plan.dcgan, plan.dcgan_steps, category_dir);
    const fs::path sheet = fs::path("sheets") / "dcgan_sample.png";
    sample_run(run, {.n = plan.sample_n, .seed = options.seed, .out = (dir / sheet).string()});
    stage.sheets.push_back(sheet);
    stages.end();
  }

  // 3. WAE
  {
    train_stage("wae",
                "WAE-MMD on the train/good images (a detector of what it "
                "cannot rebuild)",
                add_wae_options, train_wae, plan.wae, plan.wae_steps, category_dir);
    stages.end();
  }

  // 4. U-Net
  {
    train_stage("unet",
                "U-Net on the train/good images given synthesized defects (data/synth "
                "methods and rendered fabric defects of random categories)",
                add_unet_options, train_unet, plan.unet, plan.unet_steps, category_dir);
    stages.end();
  }

  // 5. the multistage GAN's two stages, tiny, on their own procedural defect scenes
  {
    train_stage("cgan",
                "stage 1: Gram-conditioned defect crops (procedural defect scenes of "
                "every category, random texture extractor)",
                add_cgan_options, train_cgan, plan.cgan, plan.cgan_steps, fs::path());
    stages.end();
  }
  {
    train_stage("fusion",
                "stage 2: pix2pix fusing a pasted defect into its fabric (procedural "
                "defect scenes)",
                add_fusion_options, train_fusion, plan.fusion, plan.fusion_steps, fs::path());
    stages.end();
  }

  // 6. `loom predict` on the test split, scored against the masks
  {
    DemoStage& stage = stages.begin("predict", "the detectors on the test split, scored against the masks");
    const TrainedRun wae_run = open_trained_run(dir / "wae");
    const std::unique_ptr<PixelScorer> wae = inference_of("wae").scorer(wae_run);
    const std::map<std::string, Tensor> truth = test_masks(data_root, plan.category, wae->image_size());
    const PredictResult validation =
        predict_folder(*wae, {.in_dir = (dir / "validation" / plan.category / "test" / "good").string(),
                              .out_dir = (dir / "predict" / "wae_validation").string()});
    std::vector<Tensor> maps;
    for (const PredictedImage& image : validation.images) maps.push_back(image.map);
    const double threshold = models::threshold_mean_k_sigma(stack(maps, 0), 3.0);
    const PredictResult wae_test = predict_folder(*wae, {.in_dir = (category_dir / "test").string(),
                                                         .out_dir = (dir / "predict" / "wae").string(),
                                                         .threshold = threshold});
    char rule[160];
    std::snprintf(rule, sizeof rule, "a >= %.4g, mean + 3 sd of its maps on the validation images", threshold);
    detections.push_back(detection("wae", score_masks(wae_test, truth, threshold, false), rule));
    const std::unique_ptr<PixelScorer> unet = inference_of("unet").scorer(open_trained_run(dir / "unet"));
    const PredictResult unet_test = predict_folder(
        *unet, {.in_dir = (category_dir / "test").string(), .out_dir = (dir / "predict" / "unet").string()});
    const std::map<std::string, Tensor> unet_truth = test_masks(data_root, plan.category, unet->image_size());
    detections.push_back(detection("unet", score_masks(unet_test, unet_truth, 0.5, true), "p > 0.5"));
    for (const DemoDetection& d : detections) stage.scores += (stage.scores.empty() ? "" : "; ") + format_scores(d);
    stage.command = "loom predict " + (dir / "unet").string() + " --in " + (category_dir / "test").string() +
                    " --out " + (dir / "predict" / "unet").string() + "   (and the same for wae)";
    const fs::path sheet = fs::path("sheets") / "detection.png";
    save_detection_sheet(dir / sheet, wae_test, unet_test, truth, plan.detection_rows);
    stage.sheets.push_back(sheet);
    stage.summary +=
        ": maps, masks and scores.csv in predict/wae/ and predict/unet/; the sheet shows defective "
        "test images: image | ground truth | WAE map | WAE mask | U-Net mask";
    stages.end();
  }

  // 7. the report
  DemoResult result;
  result.stages = stages.all();
  result.detections = detections;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.report = dir / "report.md";
  write_demo_report(result.report, options, result);
  stages.say("report: " + result.report.string() + " (" + std::to_string(std::lround(result.seconds)) +
             " s in all); sheets in " + (dir / "sheets").string() + ", runs in " + dir.string() +
             "/{dcgan,wae,unet,cgan,fusion}");
  return result;
}

}  // namespace loom::train
