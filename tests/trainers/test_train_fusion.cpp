// test_train_fusion.cpp: the stage-2 trainer (trainers/train_fusion.h) at tiny
// sizes (image 32, width 8): the imperfect input differs from its target only
// inside the pasted window and keeps the defect's pixels, T's L1 to the target
// falls on a fixed batch, D leaves chance, resume is bit-exact (also with
// --dgt), and a run writes what it should. With --data (a tiny MVTec-layout
// fabric dataset): the pool's pairs are built as documented, the errors name
// what is wrong, and training runs and resumes bit-exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "data/fabric/dataset.h"
#include "data/image.h"
#include "data/transforms.h"
#include "tensor/safetensors.h"
#include "tests/trainers/train_test_util.h"
#include "trainers/defect_scenes.h"
#include "trainers/mvtec_defect_crops.h"
#include "trainers/train_fusion.h"

using namespace loom;
using namespace loom::train;
using loom::train::test::read_bytes;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) { return test::fresh_dir("loom_test_train_fusion", name); }

// `loom train fusion --image 32 --width 8 --fabric-images 8 --quiet <args>`, in-process.
fs::path run_fusion(const std::vector<std::string>& args) {
  return test::run_trainer<FusionTrainOptions>(add_fusion_options, train_fusion,
                                               test::concat({"--image", "32", "--width", "8", "--fabric-images", "8",
                                                             "--quiet", "--log-every", "1", "--samples", "2"},
                                                            args));
}

// A tiny MVTec-layout dataset: plain_gray, 3 train/good, 2 test images per
// defect class (hole, knot) with masks, 32x32.
fs::path write_tiny_mvtec(const std::string& name) {
  const fs::path dir = fresh_dir(name);
  data::fabric::FabricDatasetOptions d;
  d.out_dir = dir.string();
  d.categories = {"plain_gray"};
  d.defects = {data::fabric::DefectKind::Hole, data::fabric::DefectKind::Knot};
  d.n_train = 3;
  d.n_test = 2;
  d.size = 32;
  data::fabric::write_fabric_dataset(d);
  return dir;
}

// The message of what `f` throws ("" if nothing).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

FusionTrainOptions tiny_options() {
  FusionTrainOptions options;
  options.image = 32;
  options.width = 8;
  options.common.batch = 4;
  options.fabric_images = 8;
  options.samples = 2;
  return options;
}

}  // namespace

// x = y outside the window W (the mask's bounding box grown by the margin),
// x = y on the defect's own pixels, and x != y somewhere in W (the texture
// around the defect comes from the rolled or other background), per pixel.
TEST(TrainFusion, ImperfectInputDiffersFromTheTargetOnlyAroundTheDefect) {
  const int64_t S = 32, margin = 3;
  for (const FusionBackground background : {FusionBackground::Shifted, FusionBackground::Other}) {
    for (int64_t i = 0; i < 3; ++i) {
      const DefectScene scene = render_defect_scene(S, 11, i);
      Generator gen(5);
      const Tensor x = make_fusion_input(scene, background, margin, gen);
      const models::PasteWindow box = mask_bounding_box(scene.mask);
      const std::vector<float> xs = x.to_vector<float>(), ys = scene.defective.to_vector<float>(),
                               ms = scene.mask.to_vector<float>();
      int64_t differ_inside = 0;
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t r = 0; r < S; ++r)
          for (int64_t q = 0; q < S; ++q) {
            const size_t k = static_cast<size_t>((c * S + r) * S + q);
            const bool in_window = r >= box.top - margin && r < box.top + box.height + margin &&
                                   q >= box.left - margin && q < box.left + box.width + margin;
            if (!in_window || ms[static_cast<size_t>(r * S + q)] > 0.5f) {
              ASSERT_EQ(xs[k], ys[k]) << "pixel (" << c << ", " << r << ", " << q << ") of sample " << i;
            } else if (xs[k] != ys[k]) {
              ++differ_inside;
            }
          }
      EXPECT_GT(differ_inside, 0) << "sample " << i;
    }
  }
}

// pix2pix's L1 term (lambda 100) dominates T's loss: on one fixed batch of 2,
// with Adam at lr 1e-3, mean |T(x) - y| must fall below a third of its first
// value within 80 steps (seed 0: 0.425 at step 0, 0.152 at step 50).
TEST(TrainFusion, L1FallsOnAFixedBatch) {
  FusionTrainOptions options = tiny_options();
  options.common.batch = 2;
  options.common.lr = 1e-3;
  FusionTrainer trainer(options);
  const FusionBatch batch = trainer.next_batch();
  double first = 0, last = 0;
  for (int64_t step = 0; step < 80; ++step) {
    const Metrics m = trainer.step_on(batch);
    std::map<std::string, double> v(m.begin(), m.end());
    for (const char* key : {"lossD", "lossD_real", "lossD_fake", "lossG", "lossG_gan", "l1", "l1_input", "acc"})
      ASSERT_TRUE(v.count(key) && std::isfinite(v[key])) << key << " at step " << step;
    if (step == 0) first = v["l1"];
    last = v["l1"];
  }
  std::printf("l1 %.4f -> %.4f\n", first, last);
  EXPECT_LT(last, first / 3);
}

// D's per-patch accuracy (each logit of the PatchGAN decides once) over steps
// 21-30 must reach 0.75. At image 32 there are 2x2 logits per image, 4 images:
// 16 decisions per side and step, 320 in all; even counting only the 80
// independent images (sd sqrt(0.25 / 80) = 0.056), 0.75 is 4.5 sd above
// chance, and seed 0 scores 1.0 there.
TEST(TrainFusion, DiscriminatorAccuracyMovesAwayFromChance) {
  FusionTrainer trainer(tiny_options());
  double late_accuracy = 0;
  for (int64_t step = 0; step < 30; ++step) {
    const Metrics m = trainer.step(step);
    std::map<std::string, double> v(m.begin(), m.end());
    if (step >= 20) late_accuracy += v["acc"] / 10;
  }
  std::printf("late accuracy %.3f\n", late_accuracy);
  EXPECT_GE(late_accuracy, 0.75);
}

TEST(TrainFusion, ResumeIsBitExact) {
  for (const bool dgt : {false, true}) {
    const std::string tag = dgt ? "_dgt" : "";
    const fs::path whole = fresh_dir("whole" + tag), split = fresh_dir("split" + tag);
    const std::vector<std::string> extra = dgt ? std::vector<std::string>{"--dgt"} : std::vector<std::string>{};
    auto args = [&](const std::vector<std::string>& a) { return test::concat(a, extra); };
    const fs::path a =
        run_fusion(args({"--steps", "4", "--batch", "2", "--sample-every", "2", "--run-dir", whole.string()}));
    run_fusion(args({"--steps", "2", "--batch", "2", "--sample-every", "2", "--run-dir", split.string()}));
    const fs::path b = run_fusion({"--steps", "4", "--resume", split.string()});
    SCOPED_TRACE(tag);
    EXPECT_GT(test::expect_same_tensors(a, b), 0);
    test::expect_same_metadata(a, b, {"step", "data_cursor", "rng.dropout.offset", "rng.dgt.offset"});
    test::expect_same_run_files(whole, split, "samples/step_0000004.png");
  }
}

TEST(TrainFusion, RunWritesSettingsMetricsAndSheet) {
  const fs::path dir = fresh_dir("run"), dgt = fresh_dir("dgt");
  run_fusion({"--steps", "1", "--batch", "2", "--run-dir", dir.string()});
  const auto settings = nlohmann::json::parse(read_bytes(dir / "settings.json"));
  EXPECT_EQ(settings["model"], "fusion");
  EXPECT_EQ(settings["lambda"].get<double>(), 100.0);
  EXPECT_EQ(settings["background"], "shifted");
  EXPECT_EQ(test::metrics_header(dir),
            "step,lossD,lossD_real,lossD_fake,lossG,lossG_gan,l1,l1_input,D_x,D_G_z,acc_real,acc_fake,acc,lr");
  // 2 rows of input | output | target, 32x32 cells with 2-pixel padding: 2 + 3 (34) = 104 by 70.
  data::ImageInfo info = data::read_image_info((dir / "samples/step_0000001.png").string());
  EXPECT_EQ(info.width, 104);
  EXPECT_EQ(info.height, 70);
  // --dgt: clean | F | output | target: 2 + 4 (34) = 138.
  run_fusion({"--steps", "1", "--batch", "2", "--dgt", "--run-dir", dgt.string()});
  info = data::read_image_info((dgt / "samples/step_0000001.png").string());
  EXPECT_EQ(info.width, 138);
  const std::string header = test::metrics_header(dgt);
  EXPECT_NE(header.find("fore,back,mix"), std::string::npos) << header;
}

// make_mvtec_fusion_pool at S = 16 on 32x32 files (a 2x area shrink), margin 2,
// checked pixel by pixel against the files read back here:
//   y = the 2x2 block means of the defective image (sample.path),
//   m = 1 where the block mean of its 0/1 mask is > 0.5 (or > 0 if none is),
//   b = the block means of one of the category's train/good images,
//   x = y outside the window (m's bounding box + 2) and on m, b in the window off m.
TEST(TrainFusion, MvtecPoolPastesTheDefectOnAGoodImage) {
  const fs::path dir = write_tiny_mvtec("pool");
  const int64_t S = 16, margin = 2;
  const auto pool = make_mvtec_fusion_pool(dir.string(), S, 3, margin);
  ASSERT_EQ(pool->size(), 4);
  // 2x2 block means of a (C, 32, 32) image, in double.
  auto shrink2 = [](const Tensor& image) {
    const int64_t C = image.size(0);
    const std::vector<float> v = image.contiguous().to_vector<float>();
    std::vector<double> out(static_cast<size_t>(C * 16 * 16));
    for (int64_t c = 0; c < C; ++c)
      for (int64_t r = 0; r < 16; ++r)
        for (int64_t q = 0; q < 16; ++q) {
          double total = 0;
          for (int64_t dr = 0; dr < 2; ++dr)
            for (int64_t dq = 0; dq < 2; ++dq) total += v[static_cast<size_t>((c * 32 + 2 * r + dr) * 32 + 2 * q + dq)];
          out[static_cast<size_t>((c * 16 + r) * 16 + q)] = total / 4;
        }
    return out;
  };
  std::vector<std::vector<double>> goods;
  for (const auto& entry : fs::directory_iterator(dir / "plain_gray/train/good"))
    goods.push_back(shrink2(data::load_image(entry.path().string())));
  ASSERT_EQ(goods.size(), 3u);
  for (int64_t i = 0; i < pool->size(); ++i) {
    SCOPED_TRACE("sample " + std::to_string(i));
    const data::Sample sample = pool->get(i);
    ASSERT_EQ(sample.image.shape(), (Shape{9, S, S}));
    ASSERT_EQ(sample.mask.shape(), (Shape{1, S, S}));
    const fs::path image_path(sample.path);
    const std::string defect = image_path.parent_path().filename().string();
    const fs::path mask_path = dir / "plain_gray/ground_truth" / defect / (image_path.stem().string() + "_mask.png");
    const std::vector<double> y = shrink2(data::load_image(sample.path));
    std::vector<double> coverage = shrink2(data::load_image(mask_path.string(), data::ColorMode::Gray));
    std::vector<float> m(coverage.size());
    bool any = false;
    for (size_t k = 0; k < m.size(); ++k) any |= (m[k] = coverage[k] > 0.5 ? 1.0f : 0.0f) > 0;
    if (!any)
      for (size_t k = 0; k < m.size(); ++k) m[k] = coverage[k] > 0 ? 1.0f : 0.0f;
    EXPECT_EQ(sample.mask.to_vector<float>(), m);
    int64_t top = S, left = S, bottom = -1, right = -1;
    for (int64_t r = 0; r < S; ++r)
      for (int64_t q = 0; q < S; ++q)
        if (m[static_cast<size_t>(r * S + q)] > 0)
          top = std::min(top, r), bottom = std::max(bottom, r), left = std::min(left, q), right = std::max(right, q);
    ASSERT_GE(bottom, 0) << "empty mask";
    const std::vector<float> v = sample.image.to_vector<float>();  // [x, y, b] (9, S, S)
    auto at = [&](int64_t part, int64_t c, int64_t r, int64_t q) {
      return static_cast<double>(v[static_cast<size_t>(((part * 3 + c) * S + r) * S + q)]);
    };
    // b is one of the good images, shrunk.
    int matches = 0;
    for (const std::vector<double>& good : goods) {
      bool same = true;
      for (size_t k = 0; k < good.size() && same; ++k) same = std::abs(v[2 * 3 * S * S + k] - good[k]) < 1e-6;
      matches += same;
    }
    EXPECT_EQ(matches, 1) << "b is not one of the train/good images";
    int64_t from_b = 0;
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t r = 0; r < S; ++r)
        for (int64_t q = 0; q < S; ++q) {
          const size_t k = static_cast<size_t>((c * S + r) * S + q);
          ASSERT_NEAR(at(1, c, r, q), y[k], 1e-6) << "y at (" << c << ", " << r << ", " << q << ")";
          const bool in_window = r >= top - margin && r <= bottom + margin && q >= left - margin && q <= right + margin;
          const bool on_defect = m[static_cast<size_t>(r * S + q)] > 0;
          if (!in_window || on_defect) {
            ASSERT_EQ(at(0, c, r, q), at(1, c, r, q)) << "x != y at (" << c << ", " << r << ", " << q << ")";
          } else {
            ASSERT_EQ(at(0, c, r, q), at(2, c, r, q)) << "x != b at (" << c << ", " << r << ", " << q << ")";
            ++from_b;
          }
        }
    EXPECT_GT(from_b, 0);
  }
}

TEST(TrainFusion, MvtecPoolErrorsNameWhatIsWrong) {
  // A mask of the wrong size: both files named when the sample is read.
  const fs::path bad_mask = write_tiny_mvtec("bad_mask");
  const fs::path mask = bad_mask / "plain_gray/ground_truth/hole/000_mask.png";
  data::save_png(mask.string(), Tensor::zeros({1, 16, 16}));
  const auto pool = make_mvtec_fusion_pool(bad_mask.string(), 16, 0, 2);
  std::string message;
  for (int64_t i = 0; i < pool->size() && message.empty(); ++i) message = error_of([&] { pool->get(i); });
  EXPECT_NE(message.find("000_mask.png"), std::string::npos) << message;
  EXPECT_NE(message.find("hole/000.png"), std::string::npos) << message;
  // A category without train/good images.
  const fs::path no_good = write_tiny_mvtec("no_good");
  for (const auto& entry : fs::directory_iterator(no_good / "plain_gray/train/good")) fs::remove(entry.path());
  message = error_of([&] { make_mvtec_fusion_pool(no_good.string(), 16, 0, 2); });
  EXPECT_NE(message.find("plain_gray"), std::string::npos) << message;
  EXPECT_NE(message.find("train/good"), std::string::npos) << message;
  // No defective images.
  const fs::path no_defects = write_tiny_mvtec("no_defects");
  for (const char* defect : {"hole", "knot"}) {
    fs::remove_all(no_defects / "plain_gray/test" / defect);
    fs::remove_all(no_defects / "plain_gray/ground_truth" / defect);
  }
  message = error_of([&] { make_mvtec_fusion_pool(no_defects.string(), 16, 0, 2); });
  EXPECT_NE(message.find("defective"), std::string::npos) << message;
  EXPECT_NE(message.find(no_defects.string()), std::string::npos) << message;
  // --dgt with --data.
  FusionTrainOptions options = tiny_options();
  options.common.data = no_good.string();
  options.dgt = true;
  message = error_of([&] { check_fusion_options(options); });
  EXPECT_NE(message.find("--dgt"), std::string::npos) << message;
}

TEST(TrainFusion, DataRunResumesBitExactly) {
  const fs::path data = write_tiny_mvtec("data");
  const fs::path whole = fresh_dir("data_whole"), split = fresh_dir("data_split");
  const std::vector<std::string> common = {"--data", data.string(), "--batch", "2", "--sample-every", "2"};
  const fs::path a = run_fusion(test::concat({"--steps", "4", "--run-dir", whole.string()}, common));
  run_fusion(test::concat({"--steps", "2", "--run-dir", split.string()}, common));
  const fs::path b = run_fusion({"--steps", "4", "--resume", split.string()});
  EXPECT_GT(test::expect_same_tensors(a, b), 0);
  test::expect_same_metadata(a, b, {"step", "data_cursor", "rng.dropout.offset", "rng.dgt.offset"});
  test::expect_same_run_files(whole, split, "samples/step_0000004.png");
  const auto settings = nlohmann::json::parse(read_bytes(whole / "settings.json"));
  EXPECT_EQ(settings["data"], data.string());
  EXPECT_EQ(test::metric_rows(whole).size(), 4u);
}
