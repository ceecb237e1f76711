// test_train_dcgan.cpp: the DCGAN trainer (trainers/train_dcgan.h) at tiny
// sizes (image 32, width 8): D learns to tell real fabric from G's images
// within 30 steps, resume is bit-exact, and a run writes what it should.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "data/image.h"
#include "tensor/safetensors.h"
#include "trainers/train_dcgan.h"

using namespace loom;
using namespace loom::train;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("loom_test_train_dcgan_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  return dir;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `loom train dcgan --image 32 --width 8 --fabric-images 32 --quiet <args>`, in-process.
fs::path run_dcgan(const std::vector<std::string>& args) {
  CLI::App app;
  DcganTrainOptions options;
  SettingsBinder binder(&app);
  add_dcgan_options(binder, options);
  std::vector<std::string> all = {"--image", "32", "--width", "8", "--fabric-images", "32", "--quiet", "--log-every", "1"};
  all.insert(all.end(), args.begin(), args.end());
  app.parse(std::vector<std::string>(all.rbegin(), all.rend()));
  return train_dcgan(binder, options);
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
  const SafeTensors fa = load_safetensors(a.string()), fb = load_safetensors(b.string());
  ASSERT_EQ(fa.tensors.size(), fb.tensors.size());
  int compared = 0;
  for (const auto& [name, ta] : fa.tensors) {
    ASSERT_TRUE(fb.tensors.count(name)) << name;
    const Tensor& tb = fb.tensors.at(name);
    ASSERT_EQ(ta.shape(), tb.shape()) << name;
    ASSERT_EQ(ta.dtype(), tb.dtype()) << name;
    EXPECT_EQ(0, std::memcmp(ta.raw_data(), tb.raw_data(), static_cast<size_t>(ta.numel()) * dtype_size(ta.dtype())))
        << name << " differs";
    ++compared;
  }
  // G and D weights and BN statistics, both Adams' moments and steps, fixed_z.
  EXPECT_TRUE(fa.tensors.count("G.1.running_mean") && fa.tensors.count("optim.D.0.weight.exp_avg_sq") &&
              fa.tensors.count("extra.fixed_z"));
  EXPECT_GT(compared, 30);
  for (const char* key : {"step", "data_cursor", "rng.noise.seed", "rng.noise.offset"})
    EXPECT_EQ(fa.metadata.at(key), fb.metadata.at(key)) << key;
  EXPECT_EQ(read_bytes(whole / "metrics.csv"), read_bytes(split / "metrics.csv"));
  EXPECT_EQ(read_bytes(whole / "samples/step_0000006.png"), read_bytes(split / "samples/step_0000006.png"));
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
  std::ifstream csv(dir / "metrics.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "step,lossD,lossG,D_x,D_G_z,acc_real,acc_fake,acc,lr");
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
  EXPECT_THROW(run_dcgan({"--steps", "1", "--batch", "4", "--device", "cuda", "--run-dir", cuda.string()}), Error);
  EXPECT_FALSE(fs::exists(bad));
  EXPECT_FALSE(fs::exists(cuda));
}
