// test_pipeline.cpp: `loom pipeline` (trainers/pipeline.h) at tiny settings
// (32 px, width 4, 3 steps per training stage, 6 synthetic samples): every
// artifact exists, the synthetic masks are non-empty, inside their windows and
// match the record, the U-Net trained on the synthetic dataset, a second
// invocation skips every stage, an interrupted U-Net stage resumes from its
// checkpoint bit for bit, each stage's recorded command is a shell line that
// says what the stage did (run through sh here), and bad inputs (a source and
// target that overlap, a damaged pipeline.json, ...) are refused with errors
// naming them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/fabric/dataset.h"
#include "data/fabric/presets.h"
#include "data/image.h"
#include "tests/trainers/train_test_util.h"
#include "trainers/pipeline.h"
#include "trainers/train_unet.h"

using namespace loom;
using namespace loom::eval;
namespace fs = std::filesystem;
using loom::train::test::read_bytes;

namespace {

const std::vector<std::string> kTiny = {
    "--fabric-size",  "32", "--fabric-train", "4", "--fabric-test", "1", "--image",        "32", "--crop",         "32",
    "--cgan-steps",   "3",  "--cgan-width",   "4", "--cgan-batch",  "4", "--fusion-steps", "3",  "--fusion-width", "4",
    "--fusion-batch", "2",  "--samples",      "6", "--unet-steps",  "3", "--unet-width",   "4",  "--unet-depth",   "2",
    "--unet-batch",   "4",  "--quiet"};

fs::path fresh_dir(const std::string& name) { return train::test::fresh_dir("loom_test_pipeline", name); }

// `loom pipeline <args>` in this process.
PipelineResult run(const std::vector<std::string>& args) {
  CLI::App app;
  PipelineOptions options;
  train::SettingsBinder binder(&app);
  add_pipeline_options(binder, options);
  app.parse(std::vector<std::string>(args.rbegin(), args.rend()));
  return run_pipeline(binder, options);
}

PipelineResult run_tiny(const fs::path& dir, std::vector<std::string> extra = {}) {
  extra.insert(extra.end(), {"--run-dir", dir.string()});
  return run(train::test::concat(kTiny, extra));
}

// The message of the loom::Error that `f` throws ("" if none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

nlohmann::json read_json(const fs::path& path) { return nlohmann::json::parse(read_bytes(path)); }

// The words a POSIX shell makes of `command` "loom X ...": the line is run by
// sh with `loom` replaced by printf '%s\n', one word per output line.
std::vector<std::string> shell_words(const std::string& command) {
  EXPECT_EQ(command.rfind("loom ", 0), 0u) << command;
  const std::string line = "printf '%s\\n' " + command.substr(5);
  FILE* pipe = ::popen(line.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string out;
  char buffer[4096];
  for (size_t got; (got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, got);
  EXPECT_EQ(::pclose(pipe), 0) << line;
  return train::test::lines_of(out);
}

// A one-category procedural dataset (32 px, 2 train/good, 1 test image of two kinds).
fs::path tiny_dataset(const std::string& name, const std::string& category) {
  const fs::path dir = fresh_dir(name);
  data::fabric::FabricDatasetOptions fabric;
  fabric.out_dir = dir.string();
  fabric.categories = {category};
  fabric.defects = {data::fabric::DefectKind::Hole, data::fabric::DefectKind::ColorSpot};
  fabric.n_train = 2;
  fabric.n_test = 1;
  fabric.size = 32;
  data::fabric::write_fabric_dataset(fabric);
  return dir;
}

// One tiny pipeline run shared by the tests that only read it.
const fs::path& shared_run() {
  static const fs::path dir = [] {
    const fs::path d = fresh_dir("shared");
    run_tiny(d);
    return d;
  }();
  return dir;
}

}  // namespace

TEST(Pipeline, TinyRunWritesEveryArtifact) {
  const fs::path& dir = shared_run();
  const nlohmann::json state = read_json(dir / "pipeline.json");
  for (const char* stage : {"data", "stage1_cgan", "stage2_fusion", "stage3_synthetic", "stage3_unet", "stage3_eval"})
    EXPECT_EQ(state["stages"][stage]["state"], "done") << stage;
  EXPECT_EQ(state["settings"]["samples"], 6);
  for (const char* file :
       {"stage1_cgan/checkpoints/step_0000003.safetensors", "stage1_cgan/settings.json",
        "stage2_fusion/checkpoints/step_0000003.safetensors", "stage3_unet/checkpoints/step_0000003.safetensors",
        "stage3_sheet.png", "stage3_samples.json", "stage3_eval/eval.json", "stage3_eval/eval.md",
        "stage3_eval/gallery.png"})
    EXPECT_TRUE(fs::exists(dir / file)) << file;
  // The split: source and target categories are disjoint; the target's defects are only in its test split.
  for (const char* c : {"plain_gray", "twill_denim", "twill_khaki", "satin_silk"}) {
    EXPECT_TRUE(fs::exists(dir / "data/source" / c)) << c;
    EXPECT_FALSE(fs::exists(dir / "data/target" / c)) << c;
  }
  for (const char* c : {"gingham_check", "canvas_burlap", "basket_navy"}) {
    EXPECT_TRUE(fs::exists(dir / "data/target" / c / "train/good")) << c;
    EXPECT_FALSE(fs::exists(dir / "data/source" / c)) << c;
  }
  // The stages trained what they should on what they should.
  EXPECT_EQ(read_json(dir / "stage1_cgan/settings.json")["data"], (dir / "data/source").string());
  EXPECT_EQ(read_json(dir / "stage2_fusion/settings.json")["data"], (dir / "data/source").string());
  const nlohmann::json unet = read_json(dir / "stage3_unet/settings.json");
  EXPECT_EQ(unet["defect_data"], (dir / "stage3_synthetic").string());
  EXPECT_EQ(unet["synth"], "none");
  const nlohmann::json eval = read_json(dir / "stage3_eval/eval.json");
  EXPECT_NE(eval.dump().find("canvas_burlap"), std::string::npos);
  EXPECT_EQ(eval.dump().find("plain_gray"), std::string::npos);
}

// The recorded commands, split by a real shell, are the commands that redo
// each stage: the two `loom fabric` calls with every setting of the data stage,
// the trainers with the pipeline's options, `loom eval` with one --category
// per target category. Stage 1's record counts where its conditions came from.
TEST(Pipeline, RecordsCommandsAShellCanRun) {
  const fs::path& dir = shared_run();
  const nlohmann::json stages = read_json(dir / "pipeline.json")["stages"];
  const std::vector<std::string> source = {"plain_gray", "twill_denim", "twill_khaki", "satin_silk"};
  std::vector<std::string> target;
  for (const std::string& c : data::fabric::fabric_categories())
    if (std::find(source.begin(), source.end(), c) == source.end()) target.push_back(c);
  auto fabric_words = [&](const std::string& folder, const std::vector<std::string>& names) {
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ",") + n;
    return std::vector<std::string>{
        "fabric", "--out", (dir / "data" / folder).string(), "--categories", list, "--n", "4", "--n-test", "1",
        "--size", "32",   "--seed", "0"};
  };
  const std::string data = stages["data"]["command"];
  const size_t and_at = data.find(" && ");
  ASSERT_NE(and_at, std::string::npos) << data;
  EXPECT_EQ(shell_words(data.substr(0, and_at)), fabric_words("source", source));
  EXPECT_EQ(shell_words(data.substr(and_at + 4)), fabric_words("target", target));

  std::vector<std::string> eval = {"eval", (dir / "stage3_unet").string(), "--data", (dir / "data/target").string(),
                                   "--out", (dir / "stage3_eval").string()};
  for (const std::string& c : target) eval.insert(eval.end(), {"--category", c});
  EXPECT_EQ(shell_words(stages["stage3_eval"]["command"]), eval);

  const std::vector<std::string> unet = shell_words(stages["stage3_unet"]["command"]);
  ASSERT_GE(unet.size(), 2u);
  EXPECT_EQ(unet[0], "train");
  EXPECT_EQ(unet[1], "unet");
  const auto after = [&](const std::vector<std::string>& words, const std::string& flag) {
    const auto at = std::find(words.begin(), words.end(), flag);
    return at != words.end() && at + 1 != words.end() ? *(at + 1) : std::string("(missing)");
  };
  EXPECT_EQ(after(unet, "--good-share"), "0.2");
  EXPECT_EQ(after(unet, "--steps"), "3");
  EXPECT_EQ(after(unet, "--run-dir"), (dir / "stage3_unet").string());
  EXPECT_EQ(after(shell_words(stages["stage1_cgan"]["command"]), "--data"), (dir / "data/source").string());

  // Every defective source image's condition is counted once: own image or fallback.
  int64_t defective = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir / "data/source"))
    defective += entry.path().parent_path().parent_path().filename() == "ground_truth";
  EXPECT_GT(defective, 0);
  EXPECT_EQ(stages["stage1_cgan"]["conditions_own_image"].get<int64_t>() +
                stages["stage1_cgan"]["conditions_good_image"].get<int64_t>(),
            defective);
}

// Paths with spaces and quotes, a share, a seed: the shell gives back each word.
TEST(Pipeline, EvalCommandLineQuotesEveryWord) {
  EvalOptions eval;
  eval.detector = "/tmp/my runs/it's unet";
  eval.data = "/data/target";
  eval.out_dir = "/tmp/out $HOME";
  eval.categories = {"plain gray", "twill"};
  EXPECT_EQ(shell_words(eval_command_line(eval)),
            (std::vector<std::string>{"eval", eval.detector, "--data", eval.data, "--out", eval.out_dir, "--category",
                                      "plain gray", "--category", "twill"}));
  eval.val_share = 0.1;
  eval.seed = 7;
  EXPECT_EQ(shell_words(eval_command_line(eval)),
            (std::vector<std::string>{"eval", eval.detector, "--data", eval.data, "--out", eval.out_dir, "--category",
                                      "plain gray", "--category", "twill", "--val-share", "0.1", "--seed", "7"}));
}

// Each written sample: its mask file is 0/255, non-empty, inside the recorded
// window, with the recorded number of pixels; its image and background exist.
TEST(Pipeline, SyntheticMasksAreNonEmptyAndInsideTheirWindows) {
  const fs::path& dir = shared_run();
  const nlohmann::json record = read_json(dir / "stage3_samples.json");
  ASSERT_GT(record["written"].get<int64_t>(), 0);
  EXPECT_EQ(record["samples"].size(), record["written"].get<size_t>());
  EXPECT_EQ(record["written"].get<int64_t>() + record["skipped"].get<int64_t>(), 6);
  for (const nlohmann::json& s : record["samples"]) {
    const std::string name = s["name"];
    const fs::path image = dir / "stage3_synthetic" / name;
    const fs::path mask = dir / "stage3_synthetic" / s["category"].get<std::string>() / "ground_truth/gan" /
                          (image.stem().string() + "_mask.png");
    ASSERT_TRUE(fs::exists(image)) << image;
    ASSERT_TRUE(fs::exists(mask)) << mask;
    EXPECT_TRUE(fs::exists(dir / "stage3_synthetic" / s["background"].get<std::string>()));
    const Tensor m = data::load_image_u8(mask.string(), data::ColorMode::Gray);  // (1, 32, 32)
    ASSERT_EQ(m.shape(), (Shape{1, 32, 32}));
    const std::vector<uint8_t> v = m.to_vector<uint8_t>();
    const int64_t top = s["window"]["top"], left = s["window"]["left"];
    const int64_t bottom = top + s["window"]["height"].get<int64_t>(),
                  right = left + s["window"]["width"].get<int64_t>();
    int64_t on = 0;
    for (int64_t i = 0; i < 32; ++i)
      for (int64_t j = 0; j < 32; ++j) {
        const uint8_t p = v[static_cast<size_t>(i * 32 + j)];
        ASSERT_TRUE(p == 0 || p == 255) << name;
        if (p == 0) continue;
        ++on;
        EXPECT_TRUE(i >= top && i < bottom && j >= left && j < right) << name << " pixel " << i << "," << j;
      }
    EXPECT_GT(on, 0) << name;
    EXPECT_EQ(on, s["mask_pixels"].get<int64_t>()) << name;
  }
}

// A second invocation restores the settings, skips every stage and leaves the files alone.
TEST(Pipeline, SecondInvocationSkipsEveryStage) {
  const fs::path& dir = shared_run();
  const std::string eval = read_bytes(dir / "stage3_eval/eval.json");
  const std::string state = read_bytes(dir / "pipeline.json");
  testing::internal::CaptureStdout();
  const PipelineResult again = run({"--run-dir", dir.string()});
  const std::string out = testing::internal::GetCapturedStdout();
  ASSERT_EQ(again.stages.size(), 6u);
  for (const PipelineStage& s : again.stages) {
    EXPECT_TRUE(s.skipped) << s.name;
    EXPECT_EQ(s.state, "done") << s.name;
  }
  EXPECT_FALSE(again.evaluated_now);
  EXPECT_NE(out.find("stage3_unet: "), std::string::npos) << out;
  EXPECT_NE(out.find("skipped"), std::string::npos) << out;
  EXPECT_NE(out.find("all stages done"), std::string::npos) << out;
  EXPECT_EQ(read_bytes(dir / "stage3_eval/eval.json"), eval);
  EXPECT_EQ(read_bytes(dir / "pipeline.json"), state);
  // --resume works the same; a changed setting is refused.
  EXPECT_TRUE(run({"--resume", dir.string(), "--quiet"}).stages.back().skipped);
  EXPECT_NE(error_of([&] {
              run({"--run-dir", dir.string(), "--samples", "7", "--quiet"});
            }).find("samples"),
            std::string::npos);
}

// The U-Net stage interrupted after step 2 (its state "running", its step-3
// checkpoint gone): the next invocation resumes it from step 2 and ends with
// the same step-3 weights, bit for bit; then evaluates.
TEST(Pipeline, InterruptedTrainingStageResumesFromItsCheckpoint) {
  const fs::path dir = fresh_dir("interrupted");
  run_tiny(dir);
  const fs::path last = dir / "stage3_unet/checkpoints/step_0000003.safetensors";
  const fs::path kept = dir.parent_path() / "interrupted_step3.safetensors";
  fs::copy_file(last, kept, fs::copy_options::overwrite_existing);
  ASSERT_TRUE(fs::exists(dir / "stage3_unet/checkpoints/step_0000002.safetensors"));
  fs::remove(last);
  fs::remove_all(dir / "stage3_eval");
  nlohmann::json state = read_json(dir / "pipeline.json");
  state["stages"]["stage3_unet"]["state"] = "running";
  state["stages"]["stage3_eval"]["state"] = "pending";
  std::ofstream(dir / "pipeline.json") << state.dump(2);

  const PipelineResult again = run({"--run-dir", dir.string(), "--quiet"});
  for (const PipelineStage& s : again.stages)
    EXPECT_EQ(s.skipped, s.name != "stage3_unet" && s.name != "stage3_eval") << s.name;
  EXPECT_TRUE(again.evaluated_now);
  EXPECT_GT(train::test::expect_same_tensors(kept, last), 10);
  EXPECT_TRUE(fs::exists(dir / "stage3_eval/eval.md"));
  EXPECT_NE(read_bytes(dir / "stage3_unet/train.log").find("resuming from step 2"), std::string::npos);
}

// --source and --target given (no data stage), with --mask box: every mask is a filled rectangle.
TEST(Pipeline, GivenSourceAndTargetDatasetsWithBoxMasks) {
  const fs::path source = tiny_dataset("given_source", "plain_gray");
  const fs::path target = tiny_dataset("given_target", "basket_navy");
  const fs::path dir = fresh_dir("given");
  run_tiny(dir, {"--source", source.string(), "--target", target.string(), "--cgan-batch", "2", "--unet-batch", "2",
                 "--mask", "box"});
  EXPECT_FALSE(fs::exists(dir / "data"));
  EXPECT_TRUE(fs::exists(dir / "stage3_eval/eval.json"));
  const nlohmann::json record = read_json(dir / "stage3_samples.json");
  ASSERT_GT(record["written"].get<int64_t>(), 0);
  for (const nlohmann::json& s : record["samples"]) {
    const fs::path image = dir / "stage3_synthetic" / s["name"].get<std::string>();
    const std::vector<uint8_t> v = data::load_image_u8((image.parent_path().parent_path().parent_path() /
                                                        "ground_truth/gan" / (image.stem().string() + "_mask.png"))
                                                           .string(),
                                                       data::ColorMode::Gray)
                                       .to_vector<uint8_t>();
    int64_t top = 32, left = 32, bottom = -1, right = -1, on = 0;
    for (int64_t i = 0; i < 32; ++i)
      for (int64_t j = 0; j < 32; ++j)
        if (v[static_cast<size_t>(i * 32 + j)]) {
          ++on;
          top = std::min(top, i), left = std::min(left, j), bottom = std::max(bottom, i), right = std::max(right, j);
        }
    EXPECT_EQ(on, (bottom - top + 1) * (right - left + 1)) << image;
  }
}

TEST(Pipeline, RefusesASourceWithoutDefectiveSamples) {
  const fs::path source = tiny_dataset("no_defects_source", "plain_gray");
  fs::remove_all(source / "plain_gray/test/hole");
  fs::remove_all(source / "plain_gray/test/color_spot");
  fs::remove_all(source / "plain_gray/ground_truth");
  const fs::path target = tiny_dataset("no_defects_target", "basket_navy");
  const std::string e = error_of([&] {
    run_tiny(fresh_dir("no_defects"), {"--source", source.string(), "--target", target.string()});
  });
  EXPECT_NE(e.find("--source " + source.string() + " has no defective test images"), std::string::npos) << e;
}

TEST(Pipeline, RefusesAnEmptyTargetSet) {
  const fs::path source = tiny_dataset("empty_target_source", "plain_gray");
  const fs::path target = tiny_dataset("empty_target", "basket_navy");
  fs::remove_all(target / "basket_navy/train/good");
  fs::create_directories(target / "basket_navy/train/good");
  const std::string e = error_of([&] {
    run_tiny(fresh_dir("empty_target_run"), {"--source", source.string(), "--target", target.string()});
  });
  EXPECT_NE(e.find("--target " + target.string() + " has no train/good images of category 'basket_navy'"),
            std::string::npos)
      << e;
}

TEST(Pipeline, RefusesMasksOfTheWrongSize) {
  const fs::path source = tiny_dataset("wrong_mask_source", "plain_gray");
  const fs::path mask = source / "plain_gray/ground_truth/hole/000_mask.png";
  data::save_png(mask.string(), Tensor::zeros({1, 16, 16}));
  const fs::path target = tiny_dataset("wrong_mask_target", "basket_navy");
  const std::string e = error_of([&] {
    run_tiny(fresh_dir("wrong_mask"), {"--source", source.string(), "--target", target.string()});
  });
  EXPECT_NE(e.find("--source: mask " + mask.string() + " is 16x16 but its image"), std::string::npos) << e;
}

// stage1_cgan holding a U-Net run's checkpoint: the pipeline names the folder and both models.
TEST(Pipeline, RefusesAStageRunOfAnotherModel) {
  const fs::path dir = fresh_dir("wrong_model");
  train::test::run_trainer<train::UnetTrainOptions>(
      train::add_unet_options, train::train_unet,
      {"--steps", "1", "--image", "32", "--width", "2", "--depth", "2", "--batch", "2", "--fabric-images", "2",
       "--samples", "1", "--quiet", "--run-dir", (dir / "stage1_cgan").string()});
  const std::string e = error_of([&] { run_tiny(dir); });
  EXPECT_NE(e.find((dir / "stage1_cgan").string() + " holds a checkpoint of a unet run"), std::string::npos) << e;
  EXPECT_NE(e.find("not of cgan"), std::string::npos) << e;
  EXPECT_EQ(read_json(dir / "pipeline.json")["stages"]["stage1_cgan"]["state"], "running");
}

// A target that is the source's folder, or shares a category with it, could
// have shown its defects to stages 1 and 2: refused, naming both.
TEST(Pipeline, RefusesASourceAndTargetThatOverlap) {
  const fs::path source = tiny_dataset("overlap_source", "plain_gray");
  std::string e = error_of([&] {
    run_tiny(fresh_dir("same_folder"), {"--source", source.string(), "--target", source.string() + "/."});
  });
  EXPECT_NE(e.find("--source " + source.string() + " and --target " + source.string() + "/. are the same folder"),
            std::string::npos)
      << e;
  const fs::path target = tiny_dataset("overlap_target", "plain_gray");
  e = error_of([&] {
    run_tiny(fresh_dir("shared_category"), {"--source", source.string(), "--target", target.string()});
  });
  EXPECT_NE(e.find("--source " + source.string() + " and --target " + target.string() +
                   " share the category 'plain_gray'"),
            std::string::npos)
      << e;
}

// A damaged pipeline.json (not JSON, or JSON without the settings and stages)
// is refused naming the file and the ways to recover.
TEST(Pipeline, RefusesADamagedStateFileNamingIt) {
  const fs::path dir = fresh_dir("damaged");
  fs::create_directories(dir);
  for (const char* text : {"{\"settings\": {\"samples\": 6", "[1, 2, 3]\n"}) {
    std::ofstream(dir / "pipeline.json") << text;
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--run-dir", dir.string(), "--quiet"}, {"--resume", dir.string(), "--quiet"}}) {
      const std::string e = error_of([&] { run(args); });
      EXPECT_NE(e.find((dir / "pipeline.json").string() + " is damaged"), std::string::npos) << e;
      EXPECT_NE(e.find(std::string(text[0] == '[' ? "no \"settings\"" : "not valid JSON")), std::string::npos) << e;
      EXPECT_NE(e.find("To recover: put back a good copy of it; or delete it and run `loom pipeline --run-dir " +
                       dir.string() + "`"),
                std::string::npos)
          << e;
    }
  }
}

TEST(Pipeline, RefusesBadOptionsAndForeignFolders) {
  const fs::path source = tiny_dataset("half_given", "plain_gray");
  EXPECT_NE(error_of([&] {
              run_tiny(fresh_dir("half"), {"--source", source.string()});
            }).find("--target"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] {
        run_tiny(fresh_dir("overlap"), {"--source-categories", "plain_gray", "--target-categories", "plain_gray"});
      }).find("both a source and a target category"),
      std::string::npos);
  EXPECT_NE(error_of([&] {
              run_tiny(fresh_dir("unknown"), {"--source-categories", "velvet"});
            }).find("unknown fabric category 'velvet'"),
            std::string::npos);
  const fs::path foreign = fresh_dir("foreign");
  fs::create_directories(foreign);
  std::ofstream(foreign / "notes.txt") << "mine";
  EXPECT_NE(error_of([&] { run_tiny(foreign); }).find("is no pipeline run"), std::string::npos);
  EXPECT_NE(error_of([&] {
              run({"--resume", fresh_dir("nothing").string()});
            }).find("no pipeline.json"),
            std::string::npos);
}
