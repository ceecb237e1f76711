// test_train_wae.cpp: the WAE trainer (trainers/train_wae.h) at tiny sizes
// (image 32, width 8, latent 8): the loss falls on a fixed batch, the threshold
// in the checkpoint is mean + k sigma of the good validation maps, the stored
// F1 is that threshold's pixel F1, resume is bit-exact, and a run writes what
// it should. With a GPU: the first CUDA steps follow the CPU steps, and a CUDA
// run resumes bit-exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "data/fabric/dataset.h"
#include "data/image.h"
#include "nn/checkpoint.h"
#include "tensor/cuda_runtime.h"
#include "tests/trainers/train_test_util.h"
#include "trainers/train_wae.h"

using namespace loom;
using namespace loom::train;
using loom::train::test::expect_same_tensors;
using loom::train::test::read_bytes;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kTiny = {"--image",       "32", "--width",         "8",           "--latent",   "8",
                                        "--batch",       "4",  "--fabric-images", "8",           "--val-good", "4",
                                        "--val-defects", "2",  "--quiet",         "--log-every", "1"};

fs::path fresh_dir(const std::string& name) { return test::fresh_dir("loom_test_train_wae", name); }

fs::path run_wae(const std::vector<std::string>& args) {
  return test::run_trainer<WaeTrainOptions>(add_wae_options, train_wae, test::concat(kTiny, args));
}

// The options of `loom train wae <kTiny>`.
WaeTrainOptions tiny_options() { return test::parse_options<WaeTrainOptions>(add_wae_options, kTiny); }

}  // namespace

// A pool of exactly one batch (4 images) makes every step see the same four
// images. The reconstruction term, averaged over steps 1-5, must fall by a
// factor of 4 by steps 196-200 (Adam 1e-3, betas 0.5/0.999; seeds 0-3 reach 7.3-13).
TEST(TrainWae, ReconstructionFallsOnAFixedBatch) {
  WaeTrainOptions o = tiny_options();
  o.fabric_images = 4;
  WaeTrainer trainer(o);
  double early = 0, late = 0;
  for (int64_t step = 0; step < 200; ++step) {
    auto m = test::metrics_map(trainer.step(step));
    for (const char* key : {"loss", "recon", "mmd"}) ASSERT_TRUE(std::isfinite(m[key])) << key << " step " << step;
    if (step < 5) early += m["recon"] / 5;
    if (step >= 195) late += m["recon"] / 5;
  }
  EXPECT_LT(late * 4, early) << "recon " << early << " -> " << late;
}

// F1 = 2 TP / (2 TP + FP + FN) on a hand example: maps 0.1 0.5 0.9 0.7, masks 0 1 1 0, threshold 0.5:
// predicted 0 1 1 1 -> TP 2, FP 1, FN 0: precision 2/3, recall 1, F1 4/5.
TEST(TrainWae, PixelF1AtAThreshold) {
  const Tensor maps = Tensor::from_vector<float>({0.1f, 0.5f, 0.9f, 0.7f}, {1, 1, 2, 2});
  const Tensor masks = Tensor::from_vector<float>({0, 1, 1, 0}, {1, 1, 2, 2});
  const models::F1Threshold r = pixel_f1_at(maps, masks, 0.5);
  EXPECT_DOUBLE_EQ(r.precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.recall, 1.0);
  EXPECT_DOUBLE_EQ(r.f1, 0.8);
  EXPECT_DOUBLE_EQ(pixel_f1_at(maps, masks, 0.95).f1, 0.0);  // nothing predicted
}

// The checkpoint's threshold, recomputed from the saved model: the anomaly maps
// of the good validation images, mean + k std (population) in float64; and the
// stored F1 is the pixel F1 of [a >= threshold] on the defective ones.
TEST(TrainWae, ThresholdInTheCheckpointIsMeanPlusKSigmaOfGoodMaps) {
  const fs::path dir = fresh_dir("threshold");
  const fs::path last = run_wae({"--steps", "3", "--threshold-k", "2.5", "--run-dir", dir.string()});
  std::map<std::string, std::string> meta;
  const SafeTensors file = load_safetensors(last.string());
  for (const auto& [key, value] : file.metadata) meta[key] = value;
  ASSERT_TRUE(meta.count("user.threshold"));
  EXPECT_EQ(std::stod(meta["user.threshold_k"]), 2.5);

  WaeTrainOptions o = tiny_options();
  WaeTrainer reference(o);  // the same validation images (they depend on the seed only)
  nn::load_submodel(last.string(), "wae.", reference.model());
  const Tensor good = models::wae_anomaly_map(reference.model(), reference.validation_good(), reference.map_options());
  const std::vector<double> a = good.to_vector<double>();
  double mean = 0, var = 0;
  for (double v : a) mean += v / static_cast<double>(a.size());
  for (double v : a) var += (v - mean) * (v - mean) / static_cast<double>(a.size());
  const double expected = mean + 2.5 * std::sqrt(var);
  EXPECT_NEAR(std::stod(meta["user.threshold"]), expected, 1e-6 * std::abs(expected));

  const Tensor bad =
      models::wae_anomaly_map(reference.model(), reference.validation_defective(), reference.map_options());
  const std::vector<double> b = bad.to_vector<double>(), t = reference.validation_masks().to_vector<double>();
  double tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    const bool p = b[i] >= expected, d = t[i] > 0.5;
    tp += p && d, fp += p && !d, fn += !p && d;
  }
  ASSERT_GT(tp + fn, 0) << "the defective validation images have defect pixels";
  EXPECT_NEAR(std::stod(meta["user.val_f1"]), 2 * tp / (2 * tp + fp + fn), 1e-9);
  const double best = std::stod(meta["user.val_best_f1"]);
  EXPECT_GE(best, std::stod(meta["user.val_f1"]));
  EXPECT_LE(best, 1.0);
  EXPECT_NE(read_bytes(dir / "train.log").find("validation: threshold"), std::string::npos);
}

TEST(TrainWae, ResumeIsBitExact) {
  const fs::path whole = fresh_dir("whole"), split = fresh_dir("split");
  const fs::path a = run_wae({"--steps", "6", "--sample-every", "3", "--run-dir", whole.string()});
  run_wae({"--steps", "3", "--sample-every", "3", "--run-dir", split.string()});
  const fs::path b = run_wae({"--steps", "6", "--resume", split.string()});
  EXPECT_GT(expect_same_tensors(a, b), 30);
  const SafeTensors fa = load_safetensors(a.string());
  EXPECT_TRUE(fa.tensors.count("wae.encoder.body.1.running_mean") &&
              fa.tensors.count("optim.wae.decoder.project.weight.exp_avg_sq"));
  test::expect_same_metadata(
      a, b, {"step", "data_cursor", "rng.prior.seed", "rng.prior.offset", "user.threshold", "user.val_f1"});
  test::expect_same_run_files(whole, split, "samples/step_0000006.png");
}

TEST(TrainWae, RunWritesSettingsFiniteMetricsAndTheSheet) {
  const fs::path dir = fresh_dir("run");
  const fs::path last = run_wae({"--steps", "2", "--seed", "3", "--run-dir", dir.string()});
  EXPECT_EQ(last, dir / "checkpoints/step_0000002.safetensors");
  const auto settings = nlohmann::json::parse(read_bytes(dir / "settings.json"));
  EXPECT_EQ(settings["model"], "wae");
  EXPECT_EQ(settings["lr"].get<double>(), 1e-3);
  EXPECT_EQ(settings["beta1"].get<double>(), 0.5);
  EXPECT_EQ(settings["latent"].get<int64_t>(), 8);
  EXPECT_EQ(test::metrics_header(dir), "step,loss,recon,mmd,lr");
  for (const std::string& row : test::metric_rows(dir)) EXPECT_EQ(row.find("nan"), std::string::npos) << row;
  // Rows: 4 good + 2 defective validation images; columns input | reconstruction | residual;
  // 32 px cells with 2 px padding: 2 + 3 (32 + 2) = 104 wide, 2 + 6 (32 + 2) = 206 high.
  const data::ImageInfo info = data::read_image_info((dir / "samples/step_0000002.png").string());
  EXPECT_EQ(info.width, 104);
  EXPECT_EQ(info.height, 206);
}

// With --data in the MVTec AD layout the validation images are the test split's:
// a dataset of 6 train/good, 2 test/good and 2 test images per defect class
// (hole, knot) gives 2 good validation images and 3 defective ones (evenly
// spaced through the 4), each equal to its file read back, with its mask.
TEST(TrainWae, ValidationUsesTheTestSplitOfAnMvtecDataset) {
  const fs::path data = fresh_dir("mvtec");
  data::fabric::FabricDatasetOptions d;
  d.out_dir = data.string();
  d.categories = {"plain_gray"};
  d.defects = {data::fabric::DefectKind::Hole, data::fabric::DefectKind::Knot};
  d.n_train = 6;
  d.n_test = 2;
  d.size = 32;
  data::fabric::write_fabric_dataset(d);
  WaeTrainOptions o = tiny_options();
  o.common.data = data.string();
  o.val_good = 4;
  o.val_defects = 3;
  WaeTrainer trainer(o);
  ASSERT_EQ(trainer.validation_good().shape(), (Shape{2, 3, 32, 32}));
  ASSERT_EQ(trainer.validation_defective().shape(), (Shape{3, 3, 32, 32}));
  ASSERT_EQ(trainer.validation_masks().shape(), (Shape{3, 1, 32, 32}));
  // Defective picks k * 4 / 3 for k = 0, 1, 2: files 0, 1, 2 of hole/000, hole/001, knot/000, knot/001.
  const std::vector<float> expected =
      data::load_image((data / "plain_gray/test/hole/001.png").string()).to_vector<float>();
  EXPECT_EQ(trainer.validation_defective().select(0, 1).contiguous().to_vector<float>(), expected);
  const std::vector<double> m = trainer.validation_masks().to_vector<double>();
  double defect = 0;
  for (double v : m) defect += v;
  EXPECT_GT(defect, 0);
  EXPECT_NE(trainer.validation_description().find("MVTec AD"), std::string::npos) << trainer.validation_description();
}

TEST(TrainWae, RefusesBadOptionsBeforeWritingAnything) {
  const fs::path bad = fresh_dir("bad");
  EXPECT_THROW(run_wae({"--steps", "1", "--image", "48", "--run-dir", bad.string()}), Error);
  EXPECT_THROW(run_wae({"--steps", "1", "--batch", "1", "--run-dir", bad.string()}), Error);
  EXPECT_FALSE(fs::exists(bad));
}

namespace {

void skip_without_gpu() {
  if (cuda_rt::device_count() == 0)
    GTEST_SKIP() << (cuda_rt::built_with_cuda() ? "no CUDA device on this machine" : "loom was built without CUDA");
}

}  // namespace

// The same seed trains the same way on the GPU: same initial weights (made on
// the CPU), same batches, same Philox prior sample on both devices, so the
// losses of the first steps agree up to the kernels' different summation
// orders. A wrong kernel in the encoder, the decoder, the MMD or Adam shows up
// here. Then the validation threshold (anomaly maps computed on the GPU: the
// blur's convolutions and reflect padding) agrees, and the sample sheet is written.
TEST(TrainWae, CudaStepsFollowTheCpuSteps) {
  skip_without_gpu();
  if (testing::Test::IsSkipped()) return;
  WaeTrainOptions options = tiny_options();
  options.smooth_sigma = 1.0;
  options.ssim_weight = 0.5;  // the SSIM part of the map on the GPU too
  WaeTrainer on_cpu(options);
  options.common.device = "cuda";
  WaeTrainer on_gpu(options);
  for (int64_t step = 0; step < 3; ++step) {
    auto c = test::metrics_map(on_cpu.step(step)), g = test::metrics_map(on_gpu.step(step));
    for (const char* key : {"loss", "recon", "mmd"})
      EXPECT_NEAR(g[key], c[key], 1e-3 * (1 + std::fabs(c[key]))) << key << " at step " << step;
  }
  const double threshold_cpu = on_cpu.validate().threshold, threshold_gpu = on_gpu.validate().threshold;
  EXPECT_NEAR(threshold_gpu, threshold_cpu, 1e-3 * (1 + std::fabs(threshold_cpu)));
  const fs::path sheet = fresh_dir("cuda_sheet") / "sheet.png";
  fs::create_directories(sheet.parent_path());
  on_gpu.save_samples(sheet);
  const data::ImageInfo info = data::read_image_info(sheet.string());
  EXPECT_EQ(info.width, 104);  // input | reconstruction | residual, 32 px cells
  EXPECT_EQ(info.height, 206);  // 4 good + 2 defective rows
}

// A CUDA run stopped after 3 steps and resumed (the checkpoint's tensors come
// back on the CPU and are loaded into the model and Adam on the GPU) ends with
// the same tensors, metrics and sample sheet as an uninterrupted CUDA run: the
// default kernels are deterministic.
TEST(TrainWae, CudaResumeIsBitExact) {
  skip_without_gpu();
  if (testing::Test::IsSkipped()) return;
  const fs::path whole = fresh_dir("cuda_whole"), split = fresh_dir("cuda_split");
  const fs::path a = run_wae({"--steps", "6", "--sample-every", "3", "--device", "cuda", "--run-dir", whole.string()});
  run_wae({"--steps", "3", "--sample-every", "3", "--device", "cuda", "--run-dir", split.string()});
  const fs::path b = run_wae({"--steps", "6", "--resume", split.string()});  // --device cuda from settings.json
  EXPECT_GT(expect_same_tensors(a, b), 30);
  test::expect_same_metadata(a, b, {"step", "rng.prior.offset", "user.threshold", "user.val_f1"});
  test::expect_same_run_files(whole, split, "samples/step_0000006.png");
}
