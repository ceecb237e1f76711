// test_train_cgan.cpp: the stage-1 trainer (trainers/train_cgan.h) at tiny
// sizes (image 32, width 8): the training crops hold their defect and the
// condition patches are defect-free (procedural scenes; and MVTec-layout
// data, where c comes from the defective image itself beside the defect, or
// from a train/good image only when there is no room), D learns to tell real defect crops from
// G's within 30 steps, resume is bit-exact, a run writes what it should, and
// `loom sample` on a cgan run draws G(z, E(c)) of a G and E rebuilt here.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "autograd/grad_mode.h"
#include "data/fabric/dataset.h"
#include "data/image.h"
#include "data/transforms.h"
#include "nn/checkpoint.h"
#include "tensor/safetensors.h"
#include "tests/trainers/train_test_util.h"
#include "trainers/defect_scenes.h"
#include "trainers/mvtec_defect_crops.h"
#include "trainers/run_dir.h"
#include "trainers/sample.h"
#include "trainers/train_cgan.h"

using namespace loom;
using namespace loom::train;
using loom::train::test::read_bytes;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) { return test::fresh_dir("loom_test_train_cgan", name); }

// `loom train cgan --image 32 --width 8 --fabric-images 16 --quiet <args>`, in-process.
fs::path run_cgan(const std::vector<std::string>& args) {
  return test::run_trainer<CganTrainOptions>(
      add_cgan_options, train_cgan,
      test::concat({"--image", "32", "--width", "8", "--fabric-images", "16", "--quiet", "--log-every", "1",
                    "--sample-rows", "2", "--sample-columns", "3"},
                   args));
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.contiguous().to_vector<double>()) m = std::max(m, std::abs(v));
  return m;
}

}  // namespace

// Sample i of the pool against the scene it comes from (rendered again here):
// x is the S x S window of the defective image centred on the mask's bounding
// box and holds defect pixels; c is an S x S window of the clean image (no
// defect pixel can be in it), found by searching every position.
TEST(TrainCgan, PoolCropsHoldTheDefectAndConditionsAreClean) {
  const int64_t S = 16;
  CganDefectPool pool(3, S, 7);
  for (int64_t i = 0; i < 3; ++i) {
    const DefectScene scene = render_defect_scene(2 * S, 7, i);
    const data::Sample sample = pool.get(i);
    ASSERT_EQ(sample.image.shape(), (Shape{6, S, S}));
    const models::PasteWindow w = centred_window(mask_bounding_box(scene.mask), S, 2 * S, 2 * S);
    const data::CropBox box{w.top, w.left, S, S};
    EXPECT_EQ(max_abs(sample.image.narrow(0, 0, 3) - data::crop(scene.defective, box)), 0.0) << i;
    EXPECT_GT(max_abs(data::crop(scene.mask, box)), 0.5) << "the crop misses the defect, sample " << i;
    const Tensor c = sample.image.narrow(0, 3, 3);
    bool found = false;
    for (int64_t top = 0; top <= S && !found; ++top)
      for (int64_t left = 0; left <= S && !found; ++left)
        found = max_abs(c - data::crop(scene.clean, {top, left, S, S})) == 0.0;
    EXPECT_TRUE(found) << "condition " << i << " is no window of the clean image";
  }
}

// make_mvtec_defect_crops (S = 16) on a 64x64 MVTec-layout dataset whose two
// masks are drawn here: image 000 has a 4x4 defect near the top-left corner
// (room beside it), image 001 a 32x32 defect in the middle (no room). Checked
// against the files, by brute force over every window position:
//   side = min(64, max(S, 3/2 max(box h, box w))), keep = box grown by ceil(side / 16)
//   x    = resize_area(the side x side window centred on the box, moved inside)
//   000: c = resize_area(a side x side window of the SAME defective image), and
//        every window it can be lies outside keep and holds no mask pixel;
//        over seeds 0..3 the window is drawn (not always the same one)
//   001: no side x side window avoids keep, and c = resize_area(a side x side
//        window of one of the two train/good images) (the fallback)
//   counts: 1 own image, 1 good image.
TEST(TrainCgan, MvtecDefectCropsTakeTheConditionBesideTheDefect) {
  const int64_t S = 16, N = 64;
  const fs::path dir = fresh_dir("mvtec_crops");
  data::fabric::FabricDatasetOptions d;
  d.out_dir = dir.string();
  d.categories = {"plain_gray"};
  d.defects = {data::fabric::DefectKind::Hole};
  d.n_train = 2;
  d.n_test = 2;
  d.size = N;
  data::fabric::write_fabric_dataset(d);
  struct Box {
    int64_t top, left, height, width;
  };
  const std::vector<Box> boxes = {{2, 3, 4, 4}, {16, 16, 32, 32}};
  for (size_t k = 0; k < boxes.size(); ++k) {
    Tensor mask = Tensor::zeros({1, N, N});
    float* m = mask.data<float>();
    for (int64_t r = boxes[k].top; r < boxes[k].top + boxes[k].height; ++r)
      for (int64_t q = boxes[k].left; q < boxes[k].left + boxes[k].width; ++q) m[r * N + q] = 1;
    data::save_png((dir / "plain_gray/ground_truth/hole" / ("00" + std::to_string(k) + "_mask.png")).string(), mask);
  }
  std::vector<Tensor> goods;
  for (const auto& entry : fs::directory_iterator(dir / "plain_gray/train/good"))
    goods.push_back(data::load_image(entry.path().string()));
  ASSERT_EQ(goods.size(), 2u);
  // The top-left corners of the side x side windows of `image` whose resize to S is `c`.
  auto windows_giving = [&](const Tensor& image, const Tensor& c, int64_t side) {
    std::vector<std::pair<int64_t, int64_t>> found;
    for (int64_t top = 0; top + side <= image.size(1); ++top)
      for (int64_t left = 0; left + side <= image.size(2); ++left)
        if (max_abs(data::resize_area(data::crop(image, {top, left, side, side}), S, S) - c) < 1e-6)
          found.push_back({top, left});
    return found;
  };
  std::set<std::pair<int64_t, int64_t>> drawn;  // condition windows of image 000 over the seeds
  for (uint64_t seed = 0; seed < 4; ++seed) {
    const auto crops = make_mvtec_defect_crops(dir.string(), S, seed);
    ASSERT_EQ(crops->size(), 2);
    const CropConditionCounts counts = crop_condition_counts(*crops);
    EXPECT_EQ(counts.own_image, 1);
    EXPECT_EQ(counts.good_image, 1);
    for (int64_t i = 0; i < 2; ++i) {
      SCOPED_TRACE("seed " + std::to_string(seed) + ", sample " + std::to_string(i));
      const data::Sample sample = crops->get(i);
      ASSERT_EQ(sample.image.shape(), (Shape{6, S, S}));
      const size_t k = fs::path(sample.path).stem() == "000" ? 0 : 1;
      const Box& box = boxes[k];
      const Tensor image = data::load_image(sample.path);  // (3, N, N)
      const int64_t side = std::min(N, std::max(S, std::max(box.height, box.width) * 3 / 2));
      const int64_t margin = (side + 15) / 16;
      // x: the window centred on the box.
      const int64_t top = std::clamp(box.top + box.height / 2 - side / 2, int64_t{0}, N - side);
      const int64_t left = std::clamp(box.left + box.width / 2 - side / 2, int64_t{0}, N - side);
      EXPECT_LT(max_abs(sample.image.narrow(0, 0, 3) -
                        data::resize_area(data::crop(image, {top, left, side, side}), S, S)),
                1e-6);
      // Windows clear of keep = box grown by the margin (every mask pixel is in box).
      auto clear = [&](int64_t t, int64_t l) {
        return t + side <= box.top - margin || t >= box.top + box.height + margin || l + side <= box.left - margin ||
               l >= box.left + box.width + margin;
      };
      int64_t clear_windows = 0;
      for (int64_t t = 0; t + side <= N; ++t)
        for (int64_t l = 0; l + side <= N; ++l) clear_windows += clear(t, l);
      const Tensor c = sample.image.narrow(0, 3, 3);
      const auto own = windows_giving(image, c, side);
      if (k == 0) {
        ASSERT_GT(clear_windows, 0);
        ASSERT_FALSE(own.empty()) << "c is no window of its own defective image";
        for (const auto& [t, l] : own) {
          EXPECT_TRUE(clear(t, l)) << "condition window at " << t << "," << l << " overlaps the defect's surroundings";
          const Tensor mask = data::load_image((dir / "plain_gray/ground_truth/hole/000_mask.png").string(),
                                               data::ColorMode::Gray);
          EXPECT_EQ(max_abs(data::crop(mask, {t, l, side, side})), 0.0) << "mask pixel in the condition window";
        }
        drawn.insert(own.front());
      } else {
        EXPECT_EQ(clear_windows, 0);
        EXPECT_TRUE(own.empty()) << "the fallback's c comes from the defective image";
        size_t from_good = 0;
        for (const Tensor& good : goods) from_good += windows_giving(good, c, side).size();
        EXPECT_GE(from_good, 1u) << "c is no window of a train/good image";
      }
    }
  }
  EXPECT_GE(drawn.size(), 2u) << "the condition window of image 000 is the same for every seed";
}

// D's accuracy (share of D(x, g) > 0.5 and of D(G(z, g), g) < 0.5, averaged)
// starts near chance (0.5) and must move away from it: over steps 31-40
// (10 steps x 16 decisions) the mean must reach 0.62, 3 standard deviations
// above a D at chance (sd sqrt(0.25 / 160) = 0.04). Seeds 0-3 give 0.77,
// 0.71, 0.74, 0.66 there (over steps 21-30: 0.63, 0.69, 0.73, 0.55).
TEST(TrainCgan, DiscriminatorAccuracyMovesAwayFromChance) {
  CganTrainOptions options;
  options.image = 32;
  options.width = 8;
  options.common.batch = 8;
  options.fabric_images = 32;
  CganTrainer trainer(options);
  double late_accuracy = 0, late_margin = 0;
  for (int64_t step = 0; step < 40; ++step) {
    const Metrics m = trainer.step(step);
    std::map<std::string, double> v(m.begin(), m.end());
    for (const char* key : {"lossD", "lossG", "D_x", "D_G_z", "acc_real", "acc_fake", "acc", "lr"})
      ASSERT_TRUE(v.count(key) && std::isfinite(v[key])) << key << " at step " << step;
    if (step >= 30) {
      late_accuracy += v["acc"] / 10;
      late_margin += (v["D_x"] - v["D_G_z"]) / 10;
    }
  }
  std::printf("late accuracy %.3f, late margin %.3f\n", late_accuracy, late_margin);
  EXPECT_GE(late_accuracy, 0.62);
  EXPECT_GT(late_margin, 0.0);  // real crops score higher than generated ones
}

TEST(TrainCgan, ResumeIsBitExact) {
  const fs::path whole = fresh_dir("whole"), split = fresh_dir("split");
  const fs::path a = run_cgan({"--steps", "4", "--batch", "4", "--sample-every", "2", "--run-dir", whole.string()});
  run_cgan({"--steps", "2", "--batch", "4", "--sample-every", "2", "--run-dir", split.string()});
  const fs::path b = run_cgan({"--steps", "4", "--resume", split.string()});
  const int compared = test::expect_same_tensors(a, b);
  const SafeTensors fa = load_safetensors(a.string());
  // Both conditions' projections and batch norms, D's embedding, both Adams, the sheet's inputs.
  for (const char* name : {"G.condition.norm.running_mean", "D.embed.weight", "optim.G.condition.linear.weight.exp_avg",
                           "extra.fixed_z", "extra.sample_conditions"})
    EXPECT_TRUE(fa.tensors.count(name)) << name;
  EXPECT_GT(compared, 40);
  test::expect_same_metadata(a, b, {"step", "data_cursor", "rng.noise.seed", "rng.noise.offset"});
  test::expect_same_run_files(whole, split, "samples/step_0000004.png");
}

TEST(TrainCgan, RunWritesSettingsMetricsAndSheet) {
  const fs::path dir = fresh_dir("run");
  const fs::path last = run_cgan({"--steps", "2", "--batch", "4", "--seed", "3", "--run-dir", dir.string()});
  EXPECT_EQ(last, dir / "checkpoints/step_0000002.safetensors");
  const auto settings = nlohmann::json::parse(read_bytes(dir / "settings.json"));
  EXPECT_EQ(settings["model"], "cgan");
  EXPECT_EQ(settings["seed"].get<uint64_t>(), 3u);
  EXPECT_EQ(settings["vgg19"], "");
  EXPECT_NE(settings["extractor"].get<std::string>().find("random"), std::string::npos) << settings["extractor"];
  EXPECT_NE(read_bytes(dir / "train.log").find("texture extractor: random"), std::string::npos);
  EXPECT_EQ(test::metrics_header(dir), "step,lossD,lossG,D_x,D_G_z,acc_real,acc_fake,acc,lr");
  // 2 rows of (condition + 3 generated) 32x32 cells, 2-pixel padding: 2 + 4 (34) = 138 by 2 + 2 (34) = 70.
  const data::ImageInfo info = data::read_image_info((dir / "samples/step_0000002.png").string());
  EXPECT_EQ(info.width, 138);
  EXPECT_EQ(info.height, 70);
}

TEST(TrainCgan, RefusesABatchOfOneAndAMissingVggFileBeforeWritingAnything) {
  const fs::path one = fresh_dir("one"), vgg = fresh_dir("vgg");
  EXPECT_THROW(run_cgan({"--steps", "1", "--batch", "1", "--run-dir", one.string()}), Error);
  EXPECT_FALSE(fs::exists(one));
  EXPECT_THROW(run_cgan({"--steps", "1", "--batch", "2", "--vgg19", "/nonexistent/vgg19.safetensors", "--run-dir",
                         vgg.string()}),
               Error);
}

// `loom sample` on a cgan run against a rebuild that shares no code with the
// sampler's: a run with non-default sizes (nz 8, width 8, condition-dim 16,
// seed 4, 3 condition rows), then, from its checkpoint file, G's tensors
// ("G.*") loaded into a models::CganGenerator built here, the extractor
// E = TextureFeatures::random with the run's seed, and the run's condition
// patches c ("extra.sample_conditions"). The sampler's image i must be
// G(z_i, E(c_{i mod 3})) with z ~ N(0, I) (5, 8) from Generator(seed),
// bit for bit; and the run's last sample sheet must show G(fixed_z, E(c_r)) in
// row r (checkpoint's "extra.fixed_z"), to the PNG's 8-bit rounding.
TEST(TrainCgan, SamplerDrawsTheCheckpointsGeneratorOnTheRunsConditions) {
  const fs::path dir = fresh_dir("sampler");
  const fs::path checkpoint = run_cgan({"--steps", "3", "--batch", "4", "--nz", "8", "--condition-dim", "16", "--seed",
                                        "4", "--sample-rows", "3", "--sample-columns", "2", "--run-dir", dir.string()});
  const int64_t n = 5, S = 32, nz = 8, rows = 3, k = 2;
  const Tensor images = sample_run(dir, {.n = n, .seed = 11, .out = ""});
  ASSERT_EQ(images.shape(), (Shape{n, 3, S, S}));

  const SafeTensors saved = load_safetensors(checkpoint.string());
  const Tensor conditions = saved.tensors.at("extra.sample_conditions");  // (rows, 3, S, S) in [-1, 1]
  const Tensor fixed_z = saved.tensors.at("extra.fixed_z");               // (k, nz)
  ASSERT_EQ(conditions.shape(), (Shape{rows, 3, S, S}));
  ASSERT_EQ(fixed_z.shape(), (Shape{k, nz}));
  const auto E = models::TextureFeatures::random({.in_channels = 3, .seed = 4});
  Generator init(123);  // any: every tensor of G is overwritten by the checkpoint's
  models::CganGenerator G({.nz = nz,
                           .ngf = 8,
                           .ndf = 8,
                           .channels = 3,
                           .image_size = S,
                           .gram_dim = E->condition_dim(),
                           .condition_dim = 16},
                          init);
  nn::load_submodel(checkpoint.string(), "G.", G);
  G.eval();
  NoGradGuard no_grad;
  const Tensor g = (*E)(conditions);  // (rows, gram_dim)
  std::vector<Tensor> g_rows;
  for (int64_t i = 0; i < n; ++i) g_rows.push_back(g.narrow(0, i % rows, 1));
  Generator noise(11);
  const Tensor z = randn({n, nz}, noise);
  const Tensor expected = data::denormalize_from_pm1(G.forward(z, cat(g_rows, 0)));
  EXPECT_EQ(max_abs(images - expected), 0.0);
  EXPECT_GT(max_abs(images - images.narrow(0, 0, 1).expand(images.shape())), 0.0) << "all images alike";

  // The sheet of step 3: row r = [c_r, G(fixed_z_1, g_r), G(fixed_z_2, g_r)], 32x32 cells, 2 px padding.
  const Tensor sheet = data::load_image((dir / "samples/step_0000003.png").string());  // (3, H, W)
  for (int64_t r = 0; r < rows; ++r) {
    const Tensor generated =
        data::denormalize_from_pm1(G.forward(fixed_z, g.narrow(0, r, 1).expand({k, g.size(1)}).contiguous()));
    for (int64_t j = 0; j < k; ++j) {
      const Tensor cell = data::crop(sheet, {2 + r * (S + 2), 2 + (j + 1) * (S + 2), S, S});
      EXPECT_LE(max_abs(cell - generated.select(0, j)), 0.5 / 255 + 1e-6) << "row " << r << ", column " << j + 1;
    }
  }
}
