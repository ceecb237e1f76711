// test_train_dcgan.cpp: the DCGAN trainer (trainers/train_dcgan.h) at tiny
// sizes (image 32, width 8): D learns to tell real fabric from G's images
// within 30 steps, resume is bit-exact, and a run writes what it should.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "data/image.h"
#include "tensor/cuda_runtime.h"
#include "tensor/safetensors.h"
#include "tests/trainers/train_test_util.h"
#include "trainers/train_dcgan.h"

using namespace loom;
using namespace loom::train;
using loom::train::test::read_bytes;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) { return test::fresh_dir("loom_test_train_dcgan", name); }

// `loom train dcgan --image 32 --width 8 --fabric-images 32 --quiet <args>`, in-process.
fs::path run_dcgan(const std::vector<std::string>& args) {
  return test::run_trainer<DcganTrainOptions>(
      add_dcgan_options, train_dcgan,
      test::concat({"--image", "32", "--width", "8", "--fabric-images", "32", "--quiet", "--log-every", "1"}, args));
}

}  // namespace

// D's accuracy on a batch of real and a batch of fake images (share of D(x) >
// 0.5 and of D(G(z)) < 0.5, averaged) starts near chance (0.5) and must move
// away from it: over steps 21-30 (10 steps x 16 decisions) the mean must reach
// 0.65, which is 3.8 standard deviations above what a D at chance would score
// (sd sqrt(0.25 / 160) = 0.04). Runs with seeds 0-4 score 0.71-0.88 there.
TEST(TrainDcgan, DiscriminatorAccuracyMovesAwayFromChance) {
  DcganTrainOptions options;
  options.image = 32;
  options.width = 8;
  options.common.batch = 8;
  options.fabric_images = 64;
  DcganTrainer trainer(options);
  double late_accuracy = 0, late_margin = 0;
  for (int64_t step = 0; step < 30; ++step) {
    const Metrics m = trainer.step(step);
    std::map<std::string, double> v(m.begin(), m.end());
    ASSERT_TRUE(std::isfinite(v["lossD"]) && std::isfinite(v["lossG"])) << "step " << step;
    if (step >= 20) {
      late_accuracy += v["acc"] / 10;
      late_margin += (v["D_x"] - v["D_G_z"]) / 10;  // mean D(x) - mean D(G(z))
    }
  }
  EXPECT_GE(late_accuracy, 0.65);
  EXPECT_GT(late_margin, 0.0);  // real images score higher than generated ones
}

TEST(TrainDcgan, ResumeIsBitExact) {
  const fs::path whole = fresh_dir("whole"), split = fresh_dir("split");
  const fs::path a = run_dcgan({"--steps", "6", "--batch", "4", "--sample-every", "3", "--run-dir", whole.string()});
  run_dcgan({"--steps", "3", "--batch", "4", "--sample-every", "3", "--run-dir", split.string()});
  const fs::path b = run_dcgan({"--steps", "6", "--resume", split.string()});
  const int compared = test::expect_same_tensors(a, b);
  const SafeTensors fa = load_safetensors(a.string());
  // G and D weights and BN statistics, both Adams' moments and steps, fixed_z.
  EXPECT_TRUE(fa.tensors.count("G.1.running_mean") && fa.tensors.count("optim.D.0.weight.exp_avg_sq") &&
              fa.tensors.count("extra.fixed_z"));
  EXPECT_GT(compared, 30);
  test::expect_same_metadata(a, b, {"step", "data_cursor", "rng.noise.seed", "rng.noise.offset"});
  test::expect_same_run_files(whole, split, "samples/step_0000006.png");
}

TEST(TrainDcgan, RunWritesSettingsMetricsSamplesAndCheckpoint) {
  const fs::path dir = fresh_dir("run");
  const fs::path last = run_dcgan({"--steps", "2", "--batch", "4", "--samples", "4", "--seed", "5", "--run-dir", dir.string()});
  EXPECT_EQ(last, dir / "checkpoints/step_0000002.safetensors");
  const auto settings = nlohmann::json::parse(read_bytes(dir / "settings.json"));
  EXPECT_EQ(settings["model"], "dcgan");
  EXPECT_EQ(settings["seed"].get<uint64_t>(), 5u);
  EXPECT_EQ(settings["image"].get<int64_t>(), 32);
  EXPECT_EQ(settings["lr"].get<double>(), 2e-4);
  EXPECT_EQ(settings["beta1"].get<double>(), 0.5);
  EXPECT_EQ(settings["beta2"].get<double>(), 0.999);
  EXPECT_EQ(test::metrics_header(dir), "step,lossD,lossG,D_x,D_G_z,acc_real,acc_fake,acc,lr");
  // The sheet: 4 images of 32x32 in a 2x2 grid with 2-pixel padding: 2 + 2 (32 + 2) = 70.
  const data::ImageInfo info = data::read_image_info((dir / "samples/step_0000002.png").string());
  EXPECT_EQ(info.width, 70);
  EXPECT_EQ(info.height, 70);
  // fixed_z in the checkpoint: (samples, nz, 1, 1).
  EXPECT_EQ(load_safetensors(last.string()).tensors.at("extra.fixed_z").shape(), (Shape{4, 100, 1, 1}));
}

TEST(TrainDcgan, RefusesABadImageSizeAndCudaBeforeWritingAnything) {
  const fs::path bad = fresh_dir("bad"), cuda = fresh_dir("cuda");
  try {
    run_dcgan({"--steps", "1", "--batch", "4", "--image", "48", "--run-dir", bad.string()});
    FAIL() << "image 48 is not 4 * 2^k";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("48"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(bad));
  if (cuda_rt::device_count() == 0) {  // --device cuda is refused without a GPU
    EXPECT_THROW(run_dcgan({"--steps", "1", "--batch", "4", "--device", "cuda", "--run-dir", cuda.string()}), Error);
    EXPECT_FALSE(fs::exists(cuda));
  }
}

// The same seed trains the same way on the GPU: same initial weights (made on
// the CPU), same Philox noise on both devices, so the losses of the first
// steps agree up to the kernels' different summation orders. A wrong kernel
// anywhere in G, D, the losses or Adam shows up here.
TEST(TrainDcgan, CudaStepsFollowTheCpuSteps) {
  if (cuda_rt::device_count() == 0)
    GTEST_SKIP() << (cuda_rt::built_with_cuda() ? "no CUDA device on this machine" : "loom was built without CUDA");
  DcganTrainOptions options;
  options.image = 32;
  options.width = 8;
  options.common.batch = 8;
  options.fabric_images = 16;
  DcganTrainer on_cpu(options);
  options.common.device = "cuda";
  DcganTrainer on_gpu(options);
  for (int64_t step = 0; step < 3; ++step) {
    std::map<std::string, double> c, g;
    for (const auto& [k, v] : on_cpu.step(step)) c[k] = v;
    for (const auto& [k, v] : on_gpu.step(step)) g[k] = v;
    for (const char* key : {"lossD", "lossG", "D_x", "D_G_z"})
      EXPECT_NEAR(g[key], c[key], 1e-3 * (1 + std::fabs(c[key]))) << key << " at step " << step;
  }
}
