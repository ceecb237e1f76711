// test_train_unet.cpp: the U-Net trainer (trainers/train_unet.h) at tiny sizes
// (image 32, width 4, depth 2): the training batches carry exact 0/1 masks, the
// loss falls on a fixed batch, resume is bit-exact (with the class head and
// procedural fabric defects on), and a run writes what it should. --defect-data:
// its batches hold the folder's defective images with exactly their masks,
// resume stays bit-exact, and a folder without defects is refused by name.
// With a GPU: the first CUDA steps follow the CPU steps, and a CUDA run resumes
// bit-exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "data/fabric/dataset.h"
#include "data/image.h"
#include "data/mvtec.h"
#include "tensor/cuda_runtime.h"
#include "tests/trainers/train_test_util.h"
#include "trainers/train_unet.h"

using namespace loom;
using namespace loom::train;
using loom::train::test::expect_same_tensors;
using loom::train::test::read_bytes;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kTiny = {
    "--image",         "32", "--width",   "4", "--depth", "2",           "--batch", "4",
    "--fabric-images", "8",  "--samples", "3", "--quiet", "--log-every", "1"};

fs::path fresh_dir(const std::string& name) { return test::fresh_dir("loom_test_train_unet", name); }

fs::path run_unet(const std::vector<std::string>& args) {
  return test::run_trainer<UnetTrainOptions>(add_unet_options, train_unet, test::concat(kTiny, args));
}

// The options of `loom train unet <kTiny>`.
UnetTrainOptions tiny_options() { return test::parse_options<UnetTrainOptions>(add_unet_options, kTiny); }

}  // namespace

// With --good-share 0 every sample gets a defect: each mask is 0/1 with at
// least one defect pixel, and the image stays in [0, 1].
TEST(TrainUnet, BatchesCarryBinaryMasksWithDefects) {
  UnetTrainOptions o = tiny_options();
  o.good_share = 0;
  o.fabric_defects = true;
  UnetTrainer trainer(o);
  for (int round = 0; round < 3; ++round) {
    const MaskedImage batch = trainer.next_batch();
    ASSERT_EQ(batch.image.shape(), (Shape{4, 3, 32, 32}));
    ASSERT_EQ(batch.mask.shape(), (Shape{4, 1, 32, 32}));
    const std::vector<double> m = batch.mask.to_vector<double>(), x = batch.image.to_vector<double>();
    for (double v : m) ASSERT_TRUE(v == 0 || v == 1) << v;
    for (double v : x) ASSERT_TRUE(v >= 0 && v <= 1) << v;
    for (int64_t i = 0; i < 4; ++i) {
      double defect = 0;
      for (int64_t k = 0; k < 32 * 32; ++k) defect += m[static_cast<size_t>(i * 32 * 32 + k)];
      EXPECT_GT(defect, 0) << "sample " << i << " of round " << round;
    }
  }
  // With --good-share close to 1 the samples are defect-free: masks all 0.
  o.good_share = 0.999;
  UnetTrainer good(o);
  for (double v : good.next_batch().mask.to_vector<double>()) ASSERT_EQ(v, 0);
}

// One fixed batch of 4 synthesized defects (width 8), trained on 150 times
// (Adam 1e-3): the loss (BCE + Dice) of steps 146-150 must be below 1/1.5 of
// steps 1-5, and the batch IoU there must pass 0.9 (seed 0: factor 1.78, IoU
// 0.99; the thresholded mask is right long before the soft Dice and BCE saturate).
TEST(TrainUnet, LossFallsOnAFixedBatch) {
  UnetTrainOptions o = tiny_options();
  o.good_share = 0;
  o.width = 8;
  UnetTrainer trainer(o);
  const MaskedImage batch = trainer.next_batch();
  double early = 0, late = 0, late_iou = 0;
  for (int step = 0; step < 150; ++step) {
    auto m = test::metrics_map(trainer.train_on(batch));
    for (const char* key : {"loss", "pixel", "dice", "iou"}) ASSERT_TRUE(std::isfinite(m[key])) << key;
    if (step < 5) early += m["loss"] / 5;
    if (step >= 145) late += m["loss"] / 5, late_iou += m["iou"] / 5;
  }
  EXPECT_LT(late * 1.5, early) << "loss " << early << " -> " << late;
  EXPECT_GT(late_iou, 0.9);
}

TEST(TrainUnet, SynthMethodNames) {
  EXPECT_EQ(synth_method_names("cutpaste,draem"), (std::vector<std::string>{"cutpaste", "draem"}));
  EXPECT_EQ(synth_method_names("all").size(), data::synth::synth_methods().size());
  EXPECT_THROW(synth_method_names("cutpaste,nope"), Error);
}

TEST(TrainUnet, ResumeIsBitExact) {
  const std::vector<std::string> extra = {"--class-head", "--fabric-defects", "--synth", "cutpaste,draem,gradient"};
  const fs::path whole = fresh_dir("whole"), split = fresh_dir("split");
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  const fs::path a = run_unet(with({"--steps", "6", "--sample-every", "3", "--run-dir", whole.string()}));
  run_unet(with({"--steps", "3", "--sample-every", "3", "--run-dir", split.string()}));
  const fs::path b = run_unet({"--steps", "6", "--resume", split.string()});
  EXPECT_GT(expect_same_tensors(a, b), 30);
  const SafeTensors fa = load_safetensors(a.string());
  EXPECT_TRUE(fa.tensors.count("unet.classifier.2.weight") || fa.tensors.count("unet.classifier.3.weight"));
  test::expect_same_metadata(a, b, {"step", "data_cursor", "rng.synth.seed", "rng.synth.offset"});
  test::expect_same_run_files(whole, split, "samples/step_0000006.png");
}

TEST(TrainUnet, RunWritesSettingsFiniteMetricsAndTheSheet) {
  const fs::path dir = fresh_dir("run");
  const fs::path last = run_unet({"--steps", "2", "--class-head", "--run-dir", dir.string()});
  EXPECT_EQ(last, dir / "checkpoints/step_0000002.safetensors");
  const auto settings = nlohmann::json::parse(read_bytes(dir / "settings.json"));
  EXPECT_EQ(settings["model"], "unet");
  EXPECT_EQ(settings["lr"].get<double>(), 1e-3);
  EXPECT_EQ(settings["synth"], "all");
  EXPECT_EQ(test::metrics_header(dir), "step,loss,pixel,dice,image,iou,lr");
  for (const std::string& row : test::metric_rows(dir)) EXPECT_EQ(row.find("nan"), std::string::npos) << row;
  // 3 rows of image | mask | prediction, 32 px cells, 2 px padding: 104 x 104.
  const data::ImageInfo info = data::read_image_info((dir / "samples/step_0000002.png").string());
  EXPECT_EQ(info.width, 104);
  EXPECT_EQ(info.height, 104);
}

TEST(TrainUnet, RefusesBadOptionsBeforeWritingAnything) {
  const fs::path bad = fresh_dir("bad");
  EXPECT_THROW(run_unet({"--steps", "1", "--image", "34", "--run-dir", bad.string()}), Error);
  EXPECT_THROW(run_unet({"--steps", "1", "--synth", "nope", "--run-dir", bad.string()}), Error);
  EXPECT_FALSE(fs::exists(bad));
}

namespace {

// A tiny procedural MVTec AD dataset (one category, 32 px): 2 train/good images,
// one test image per defect kind with its mask.
fs::path tiny_defect_dataset(const std::string& name, std::vector<data::fabric::DefectKind> defects) {
  const fs::path dir = fresh_dir(name);
  data::fabric::FabricDatasetOptions fabric;
  fabric.out_dir = dir.string();
  fabric.categories = {"plain_gray"};
  fabric.defects = std::move(defects);
  fabric.n_train = 2;
  fabric.n_test = 1;
  fabric.size = 32;
  data::fabric::write_fabric_dataset(fabric);
  return dir;
}

}  // namespace

// --defect-data DIR --synth none --good-share 0: every sample of a batch is one
// of DIR's defective images (read here from the PNG files, independently of the
// dataset reader), with exactly its ground-truth mask (> 127 -> 1).
TEST(TrainUnet, DefectDataBatchesHoldItsImagesAndMasks) {
  using data::fabric::DefectKind;
  const fs::path dir = tiny_defect_dataset("defects", {DefectKind::Hole, DefectKind::ColorSpot, DefectKind::Knot});
  std::vector<std::pair<std::vector<float>, std::vector<float>>> files;  // (image, mask) of each defective image
  for (const std::string defect : {"hole", "color_spot", "knot"}) {
    const fs::path stem = fs::path(data::numbered_stem(0, 1));
    const Tensor image = data::load_image((dir / "plain_gray/test" / defect / stem).string() + ".png");
    std::vector<float> mask = data::load_image((dir / "plain_gray/ground_truth" / defect / stem).string() + "_mask.png",
                                               data::ColorMode::Gray)
                                  .to_vector<float>();
    for (float& v : mask) v = v > 0.5f ? 1.0f : 0.0f;
    files.push_back({image.to_vector<float>(), mask});
  }
  UnetTrainOptions o = tiny_options();
  o.good_share = 0;
  o.synth = "none";
  o.defect_data = dir.string();
  UnetTrainer trainer(o);
  std::vector<int> seen(files.size(), 0);
  for (int round = 0; round < 3; ++round) {
    const MaskedImage batch = trainer.next_batch();  // (4, 3, 32, 32), (4, 1, 32, 32)
    for (int64_t i = 0; i < 4; ++i) {
      const std::vector<float> image = batch.image.select(0, i).contiguous().to_vector<float>();
      const std::vector<float> mask = batch.mask.select(0, i).contiguous().to_vector<float>();
      int found = -1;
      for (size_t k = 0; k < files.size(); ++k)
        if (files[k].first == image) found = static_cast<int>(k);
      ASSERT_GE(found, 0) << "sample " << i << " of round " << round << " is none of the defective images";
      EXPECT_EQ(mask, files[static_cast<size_t>(found)].second) << "sample " << i << " of round " << round;
      seen[static_cast<size_t>(found)]++;
    }
  }
  for (size_t k = 0; k < files.size(); ++k) EXPECT_GT(seen[k], 0) << "defective image " << k << " never drawn";
}

// --defect-data mixed 1:1 with --synth cutpaste: both sources show up.
TEST(TrainUnet, DefectDataMixesWithSynth) {
  const fs::path dir = tiny_defect_dataset("mixed", {data::fabric::DefectKind::Hole});
  const Tensor file = data::load_image((dir / "plain_gray/test/hole" / data::numbered_stem(0, 1)).string() + ".png");
  UnetTrainOptions o = tiny_options();
  o.good_share = 0;
  o.synth = "cutpaste";
  o.defect_data = dir.string();
  UnetTrainer trainer(o);
  int from_data = 0, total = 0;
  for (int round = 0; round < 4; ++round) {
    const MaskedImage batch = trainer.next_batch();
    for (int64_t i = 0; i < 4; ++i, ++total)
      from_data += batch.image.select(0, i).contiguous().to_vector<float>() == file.to_vector<float>();
  }
  EXPECT_GT(from_data, 0);
  EXPECT_LT(from_data, total);
}

TEST(TrainUnet, DefectDataResumeIsBitExact) {
  const fs::path dir =
      tiny_defect_dataset("resume_data", {data::fabric::DefectKind::Hole, data::fabric::DefectKind::Knot});
  const std::vector<std::string> extra = {"--synth", "none", "--defect-data", dir.string()};
  const fs::path whole = fresh_dir("dd_whole"), split = fresh_dir("dd_split");
  const fs::path a =
      run_unet(test::concat({"--steps", "4", "--sample-every", "2", "--run-dir", whole.string()}, extra));
  run_unet(test::concat({"--steps", "2", "--sample-every", "2", "--run-dir", split.string()}, extra));
  const fs::path b = run_unet({"--steps", "4", "--resume", split.string()});
  EXPECT_GT(expect_same_tensors(a, b), 10);
  test::expect_same_metadata(a, b, {"step", "data_cursor", "rng.synth.seed", "rng.synth.offset"});
  test::expect_same_run_files(whole, split, "samples/step_0000004.png");
}

TEST(TrainUnet, DefectDataRefusals) {
  // a dataset without defective images: the error names --defect-data and the folder
  const fs::path good_only = fresh_dir("good_only");
  fs::create_directories(good_only / "plain_gray/train/good");
  data::save_png((good_only / "plain_gray/train/good/000.png").string(), Tensor::zeros({3, 32, 32}));
  UnetTrainOptions o = tiny_options();
  o.defect_data = good_only.string();
  try {
    UnetTrainer trainer(o);
    ADD_FAILURE() << "a --defect-data folder without defects was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--defect-data " + good_only.string()), std::string::npos) << e.what();
  }
  // --synth none with no other source
  o.defect_data.clear();
  o.synth = "none";
  EXPECT_THROW(UnetTrainer trainer(o), Error);
}

namespace {

void skip_without_gpu() {
  if (cuda_rt::device_count() == 0)
    GTEST_SKIP() << (cuda_rt::built_with_cuda() ? "no CUDA device on this machine" : "loom was built without CUDA");
}

const std::vector<std::string> kCudaExtra = {"--class-head", "--fabric-defects"};

}  // namespace

// The same seed trains the same way on the GPU: same initial weights (made on
// the CPU), the same batches (drawn on the CPU), so the losses of the first
// steps agree up to the kernels' different summation orders. A wrong kernel in
// the convolutions, pooling, up-sampling, the class head, the losses or Adam
// shows up here. The IoU counts pixels whose logit is > 0: a logit within
// rounding of 0 may land on either side, so it gets 0.01 (a few pixels of the
// union) instead of 1e-3.
TEST(TrainUnet, CudaStepsFollowTheCpuSteps) {
  skip_without_gpu();
  if (testing::Test::IsSkipped()) return;
  UnetTrainOptions options = test::parse_options<UnetTrainOptions>(add_unet_options, test::concat(kTiny, kCudaExtra));
  UnetTrainer on_cpu(options);
  options.common.device = "cuda";
  UnetTrainer on_gpu(options);
  for (int64_t step = 0; step < 3; ++step) {
    auto c = test::metrics_map(on_cpu.step(step)), g = test::metrics_map(on_gpu.step(step));
    for (const char* key : {"loss", "pixel", "dice", "image"}) {
      ASSERT_TRUE(c.count(key) && g.count(key)) << key;
      EXPECT_NEAR(g[key], c[key], 1e-3 * (1 + std::fabs(c[key]))) << key << " at step " << step;
    }
    EXPECT_NEAR(g["iou"], c["iou"], 1e-2) << "iou at step " << step;
  }
  const fs::path sheet = fresh_dir("cuda_sheet") / "sheet.png";
  fs::create_directories(sheet.parent_path());
  on_gpu.save_samples(sheet);
  const data::ImageInfo info = data::read_image_info(sheet.string());
  EXPECT_EQ(info.width, 104);  // image | mask | prediction, 32 px cells
  EXPECT_EQ(info.height, 104);  // 3 sheet rows
}

// A CUDA run stopped after 3 steps and resumed (the checkpoint's tensors come
// back on the CPU and are loaded into the model and Adam on the GPU) ends with
// the same tensors, metrics and sample sheet as an uninterrupted CUDA run: the
// default kernels are deterministic.
TEST(TrainUnet, CudaResumeIsBitExact) {
  skip_without_gpu();
  if (testing::Test::IsSkipped()) return;
  const fs::path whole = fresh_dir("cuda_whole"), split = fresh_dir("cuda_split");
  const std::vector<std::string> run = test::concat({"--sample-every", "3", "--device", "cuda"}, kCudaExtra);
  const fs::path a = run_unet(test::concat({"--steps", "6", "--run-dir", whole.string()}, run));
  run_unet(test::concat({"--steps", "3", "--run-dir", split.string()}, run));
  const fs::path b = run_unet({"--steps", "6", "--resume", split.string()});  // the rest from settings.json
  EXPECT_GT(expect_same_tensors(a, b), 30);
  test::expect_same_metadata(a, b, {"step", "data_cursor", "rng.synth.offset"});
  test::expect_same_run_files(whole, split, "samples/step_0000006.png");
}
