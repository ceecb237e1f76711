// test_train_fusion.cpp: the stage-2 trainer (trainers/train_fusion.h) at tiny
// sizes (image 32, width 8): the imperfect input differs from its target only
// inside the pasted window and keeps the defect's pixels, T's L1 to the target
// falls on a fixed batch, D leaves chance, resume is bit-exact (also with
// --dgt), and a run writes what it should.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "data/image.h"
#include "data/transforms.h"
#include "tensor/safetensors.h"
#include "tests/trainers/train_test_util.h"
#include "trainers/defect_scenes.h"
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
