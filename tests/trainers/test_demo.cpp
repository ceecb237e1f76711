// test_demo.cpp: `loom sample`, `loom predict` and `loom demo` at tiny sizes
// (trainers/sample.h, predict.h, demo.h): the sampled images are G(z) of the
// checkpoint's generator rebuilt independently, deterministic per seed; the
// predicted maps are the anomaly maps of the checkpoint's WAE rebuilt
// independently, written at each image's own size with scores.csv; pixel IoU
// and F1 against hand counts; a --tiny demo writes its report and sheets.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/image.h"
#include "data/image_folder.h"
#include "data/transforms.h"
#include "models/dcgan.h"
#include "models/wae.h"
#include "nn/checkpoint.h"
#include "trainers/demo.h"
#include "trainers/predict.h"
#include "trainers/sample.h"
#include "trainers/train_dcgan.h"
#include "trainers/train_wae.h"

using namespace loom;
using namespace loom::train;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("loom_test_demo_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  return dir;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

template <class Options>
fs::path train(void (*add)(SettingsBinder&, Options&), fs::path (*run)(SettingsBinder&, Options&),
               std::vector<std::string> args) {
  CLI::App app;
  Options options;
  SettingsBinder binder(&app);
  add(binder, options);
  args.insert(args.end(), {"--quiet", "--sample-every", "0", "--checkpoint-every", "0"});
  app.parse(std::vector<std::string>(args.rbegin(), args.rend()));
  return run(binder, options);
}

// A dcgan run with options unlike the defaults (a rebuild with defaults would not load).
const fs::path& tiny_dcgan_run() {
  static const fs::path run = [] {
    const fs::path dir = fresh_dir("dcgan");
    train(add_dcgan_options, train_dcgan,
          {"--image", "16", "--width",         "4", "--nz",      "8", "--channels", "1", "--batch",   "4",
           "--steps", "2",  "--fabric-images", "8", "--samples", "4", "--seed",     "5", "--run-dir", dir.string()});
    return dir;
  }();
  return run;
}

const fs::path& tiny_wae_run() {
  static const fs::path run = [] {
    const fs::path dir = fresh_dir("wae");
    train(add_wae_options, train_wae,
          {"--image", "16", "--width", "4", "--latent", "4", "--batch", "2", "--steps", "2", "--val-good", "2",
           "--val-defects", "1", "--fabric-images", "8", "--run-dir", dir.string()});
    return dir;
  }();
  return run;
}

Tensor max_abs_diff(const Tensor& a, const Tensor& b) { return amax(abs(sub(a, b))); }

}  // namespace

// The images are G(z), z ~ N(0, I) from Generator(seed), with G built here by
// models::dcgan_generator for the run's options and given the checkpoint's "G."
// tensors: the sampler rebuilt the same network from the saved settings.
TEST(Sample, ImagesAreTheCheckpointsGeneratorOnSeededNoise) {
  const fs::path png = fresh_dir("sample") / "sheet.png";
  const Tensor images = sample_run(tiny_dcgan_run(), {.n = 5, .seed = 11, .out = png.string()});
  ASSERT_EQ(images.shape(), (Shape{5, 1, 16, 16}));

  Generator init(0);
  auto G = models::dcgan_generator({.nz = 8, .ngf = 4, .ndf = 4, .channels = 1, .image_size = 16}, init);
  nn::load_submodel(find_checkpoint(tiny_dcgan_run()).string(), "G.", *G);
  G->eval();
  NoGradGuard no_grad;
  Generator noise(11);
  const Tensor expected = data::denormalize_from_pm1((*G)(randn({5, 8, 1, 1}, noise)));
  EXPECT_EQ(max_abs_diff(images, expected).item(), 0.0);

  // The sheet: 3 columns (ceil sqrt 5), 2 rows, 2 px padding.
  const data::ImageInfo info = data::read_image_info(png.string());
  EXPECT_EQ(info.width, 3 * (16 + 2) + 2);
  EXPECT_EQ(info.height, 2 * (16 + 2) + 2);
}

TEST(Sample, SameSeedSameBytesOtherSeedOtherImages) {
  const fs::path dir = fresh_dir("seeds");
  sample_run(tiny_dcgan_run(), {.n = 4, .seed = 1, .out = (dir / "a.png").string()});
  sample_run(tiny_dcgan_run(), {.n = 4, .seed = 1, .out = (dir / "b.png").string()});
  sample_run(tiny_dcgan_run(), {.n = 4, .seed = 2, .out = (dir / "c.png").string()});
  EXPECT_EQ(read_bytes(dir / "a.png"), read_bytes(dir / "b.png"));
  EXPECT_NE(read_bytes(dir / "a.png"), read_bytes(dir / "c.png"));
}

TEST(Sample, RefusesADetectorAndAMissingRun) {
  EXPECT_THROW(sample_run(tiny_wae_run(), {.n = 2, .seed = 0, .out = ""}), Error);
  EXPECT_THROW(sample_run(fresh_dir("nothing"), {.n = 2, .seed = 0, .out = ""}), Error);
}

// Predict on a folder with a sub-folder and an image of another size: maps at
// each image's size, names with the sub-folder, scores = max of the WAE's
// anomaly map computed here from the checkpoint's "wae." tensors.
TEST(Predict, WaeMapsScoresAndFiles) {
  const fs::path in = fresh_dir("predict_in"), out = fresh_dir("predict_out");
  Generator gen(3);
  data::save_png((in / "a.png").string(), rand({3, 16, 16}, gen));
  data::save_png((in / "sub" / "b.png").string(), rand({3, 24, 20}, gen));
  const PredictResult result = predict_folder(tiny_wae_run(), {.in_dir = in.string(), .out_dir = out.string()});
  ASSERT_EQ(result.images.size(), 2u);
  EXPECT_EQ(result.images[0].name, "a");
  EXPECT_EQ(result.images[1].name, "sub_b");
  EXPECT_EQ(result.output, PixelOutput::AnomalyMap);

  Generator init(0);
  models::Wae wae({.image_size = 16, .channels = 3, .latent = 4, .width = 4}, init);
  nn::load_submodel(find_checkpoint(tiny_wae_run()).string(), "wae.", wae);
  const data::ImageFolder folder(in.string(), {.height = 16, .width = 16});
  for (int64_t i = 0; i < 2; ++i) {
    const Tensor x = folder.get(i).image.unsqueeze(0);   // (1, 3, 16, 16)
    const Tensor map = models::wae_anomaly_map(wae, x);  // default map settings = the trainer's defaults
    EXPECT_LE(max_abs_diff(map.squeeze(0), result.images[static_cast<size_t>(i)].map).item(), 1e-6);
    EXPECT_NEAR(result.images[static_cast<size_t>(i)].score, amax(map).item(), 1e-6);
  }
  EXPECT_GT(result.threshold, 0);  // the run's stored threshold, so masks were written
  const data::ImageInfo b = data::read_image_info((out / "sub_b_map.png").string());
  EXPECT_EQ(b.height, 24);
  EXPECT_EQ(b.width, 20);
  EXPECT_TRUE(fs::exists(out / "a_mask.png"));
  std::ifstream csv(out / "scores.csv");
  std::string header, row_a, row_b, extra;
  std::getline(csv, header);
  std::getline(csv, row_a);
  std::getline(csv, row_b);
  EXPECT_EQ(header, "name,file,score,mask_pixels");
  EXPECT_EQ(row_a.rfind("a,", 0), 0u);
  EXPECT_EQ(row_b.rfind("sub_b,", 0), 0u);
  EXPECT_FALSE(std::getline(csv, extra) && !extra.empty());
}

TEST(Predict, RefusesAGenerator) {
  const fs::path in = fresh_dir("refuse_in");
  data::save_png((in / "a.png").string(), Tensor::zeros({3, 16, 16}));
  EXPECT_THROW(predict_folder(tiny_dcgan_run(), {.in_dir = in.string(), .out_dir = fresh_dir("x").string()}), Error);
}

// A scorer of defect probabilities: the left half 0.9, the right half 0.1.
class HalfScorer : public PixelScorer {
 public:
  int64_t image_size() const override { return 8; }
  int64_t channels() const override { return 1; }
  PixelOutput output() const override { return PixelOutput::DefectProbability; }
  Tensor score(const Tensor& images) override {
    std::vector<float> p(static_cast<size_t>(images.size(0) * 64));
    for (size_t i = 0; i < p.size(); ++i) p[i] = (i % 8) < 4 ? 0.9f : 0.1f;
    return Tensor::from_vector(p, {images.size(0), 1, 8, 8});
  }
};

TEST(Predict, ProbabilityMasksAreTheHalfAboveOneHalf) {
  const fs::path in = fresh_dir("half_in"), out = fresh_dir("half_out");
  data::save_png((in / "x.png").string(), Tensor::zeros({1, 8, 8}));
  HalfScorer scorer;
  const PredictResult result = predict_folder(scorer, {.in_dir = in.string(), .out_dir = out.string()});
  ASSERT_EQ(result.images.size(), 1u);
  EXPECT_EQ(result.images[0].mask_pixels, 32);
  EXPECT_NEAR(result.images[0].score, 0.9, 1e-6);
  const std::vector<uint8_t> mask =
      data::load_image_u8((out / "x_mask.png").string(), data::ColorMode::Gray).to_vector<uint8_t>();
  for (size_t i = 0; i < mask.size(); ++i) EXPECT_EQ(mask[i], (i % 8) < 4 ? 255 : 0) << i;
  EXPECT_FALSE(fs::exists(out / "x_map.png"));
}

// 2 x 3 pixels: predicted 1 1 0 / 0 1 0, truth 1 0 0 / 0 1 1: TP 2, FP 1, FN 1, TN 2.
TEST(Predict, PixelCountsIouF1ByHand) {
  const Tensor predicted = Tensor::from_vector(std::vector<float>{1, 1, 0, 0, 1, 0}, {2, 3});
  const Tensor truth = Tensor::from_vector(std::vector<float>{1, 0, 0, 0, 1, 1}, {2, 3});
  const PixelCounts c = count_pixels(predicted, truth);
  EXPECT_EQ(c.true_positive, 2);
  EXPECT_EQ(c.false_positive, 1);
  EXPECT_EQ(c.false_negative, 1);
  EXPECT_EQ(c.true_negative, 2);
  EXPECT_DOUBLE_EQ(c.iou(), 2.0 / 4.0);
  EXPECT_DOUBLE_EQ(c.f1(), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(PixelCounts{}.iou(), 1.0);  // nothing predicted, nothing there
  EXPECT_THROW(count_pixels(predicted, Tensor::zeros({3, 2})), Error);
}

TEST(Demo, TinyWritesTheReportSheetsAndPredictions) {
  const fs::path dir = fresh_dir("demo");
  const DemoResult result = run_demo({.out = dir.string(), .tiny = true, .quiet = true});
  ASSERT_TRUE(fs::exists(result.report));
  const std::string report = read_bytes(result.report);
  int sheets = 0;
  for (const DemoStage& stage : result.stages) {
    EXPECT_NE(report.find("## " + stage.name), std::string::npos) << stage.name;
    for (const fs::path& sheet : stage.sheets) {
      EXPECT_TRUE(fs::exists(dir / sheet)) << sheet;
      EXPECT_NE(report.find(sheet.generic_string()), std::string::npos) << sheet;
      ++sheets;
    }
  }
  for (const std::string name :
       {"dcgan_train", "dcgan_sample", "wae_train", "unet_train", "cgan_train", "fusion_train", "detection"})
    EXPECT_TRUE(fs::exists(dir / "sheets" / (name + ".png"))) << name;
  EXPECT_EQ(sheets, 7);
  ASSERT_EQ(result.detections.size(), 2u);
  for (const DemoDetection& d : result.detections) {
    EXPECT_TRUE(d.iou >= 0 && d.iou <= 1 && d.f1 >= 0 && d.f1 <= 1) << d.model;
    EXPECT_GE(d.f1, d.iou) << d.model;  // F1 = 2 IoU / (1 + IoU) >= IoU
    EXPECT_NE(report.find("| " + d.model + " | "), std::string::npos) << d.model;
  }
  EXPECT_TRUE(fs::exists(dir / "predict" / "wae" / "scores.csv"));
  EXPECT_TRUE(fs::exists(dir / "predict" / "unet" / "scores.csv"));
  EXPECT_TRUE(fs::exists(dir / "dcgan" / "settings.json"));

  // A rerun replaces its own folders; a folder the demo did not write is refused.
  EXPECT_NO_THROW(run_demo({.out = dir.string(), .tiny = true, .quiet = true}));
  const fs::path foreign = fresh_dir("foreign");
  fs::create_directories(foreign);
  std::ofstream(foreign / "keep.txt") << "mine";
  EXPECT_THROW(run_demo({.out = foreign.string(), .tiny = true, .quiet = true}), Error);
  EXPECT_TRUE(fs::exists(foreign / "keep.txt"));
}
