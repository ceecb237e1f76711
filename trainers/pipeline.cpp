// pipeline.cpp: `loom pipeline`, the stages and their state (see pipeline.h).
#include "trainers/pipeline.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "data/fabric/dataset.h"
#include "data/fabric/presets.h"
#include "tensor/error.h"
#include "trainers/mvtec_defect_crops.h"
#include "trainers/pipeline_inputs.h"
#include "trainers/pipeline_synthesis.h"
#include "trainers/run_dir.h"
#include "trainers/run_trainer.h"
#include "trainers/train_cgan.h"
#include "trainers/train_fusion.h"
#include "trainers/train_unet.h"
#include "trainers/text.h"

namespace loom::eval {
namespace fs = std::filesystem;
using train::Resume;
namespace {

// The stages in order, each with the folder it writes and what it does.
struct StageInfo {
  const char* name;
  const char* what;
};
const std::vector<StageInfo> kStages = {
    {"data", "procedural fabric source and target datasets (MVTec AD layout)"},
    {"stage1_cgan",
     "cgan_gram: defect crops of the source, conditioned on Gram matrices of their defect-free surroundings"},
    {"stage2_fusion", "fusion T: fuse a pasted defect window into its fabric (source)"},
    {"stage3_synthetic", "synthetic defects on the target textures: G(z, E(own patch)), pasted, fused by T, masked"},
    {"stage3_unet", "U-Net on the target's good images and the synthetic defects"},
    {"stage3_eval", "loom eval of the U-Net on the target's test split"}};
// What a run directory may hold besides pipeline.json (a fresh run accepts these).
const std::set<std::string> kEntries = {
    "data",        "stage1_cgan",      "stage2_fusion",       "stage3_synthetic", "stage3_unet",
    "stage3_eval", "stage3_sheet.png", "stage3_samples.json", "pipeline.json.tmp"};

// RUN/pipeline.json: the settings and each stage's state.
class PipelineState {
 public:
  explicit PipelineState(fs::path dir) : path_(std::move(dir) / "pipeline.json") {
    if (fs::exists(path_)) json_ = read(path_);
  }
  bool exists() const { return !json_.is_null(); }
  const nlohmann::ordered_json& settings() const { return json_.at("settings"); }
  void start(const nlohmann::ordered_json& settings) {
    json_ = {{"pipeline", "loom multistage GAN (loom pipeline)"},
             {"git_commit", train::git_commit()},
             {"created", train::utc_timestamp_iso()},
             {"settings", settings},
             {"stages", nlohmann::ordered_json::object()}};
    for (const StageInfo& s : kStages) json_["stages"][s.name] = {{"state", "pending"}, {"what", s.what}};
    save();
  }
  std::string state(const std::string& stage) const {
    const auto& stages = json_.at("stages");
    return stages.contains(stage) ? stages.at(stage).value("state", "pending") : "pending";
  }
  nlohmann::ordered_json& stage(const std::string& stage) { return json_["stages"][stage]; }
  void set(const std::string& name, const std::string& state) {
    stage(name)["state"] = state;
    stage(name)[state == "done" ? "finished" : "started"] = train::utc_timestamp_iso();
    save();
  }
  // pipeline.json as written by save(): an object with "settings" and "stages"
  // objects; anything else (a torn or edited file) is refused naming the file
  // and the ways out.
  static nlohmann::ordered_json read(const fs::path& path) {
    std::string problem;
    nlohmann::ordered_json json;
    try {
      std::ifstream in(path, std::ios::binary);
      LOOM_CHECK(in.good(), "cannot open ", path.string());
      json = nlohmann::ordered_json::parse(in);
      if (!json.is_object() || !json.contains("settings") || !json["settings"].is_object() ||
          !json.contains("stages") || !json["stages"].is_object())
        problem = "it has no \"settings\" and \"stages\" objects";
    } catch (const nlohmann::json::exception& e) {
      problem = std::string("it is not valid JSON: ") + e.what();
    }
    LOOM_CHECK(problem.empty(), path.string(), " is damaged (", problem,
               "). It holds the pipeline's settings and stage states. To recover: put back a good copy of it; or "
               "delete it and run `loom pipeline --run-dir ", path.parent_path().string(),
               "` again with the same options (the stages run again; each training stage continues from the "
               "newest checkpoint in its folder); or give another --run-dir to start afresh");
    return json;
  }
  // Written to a temporary file, then renamed over the old one.
  void save() const {
    const fs::path tmp = path_.string() + ".tmp";
    {
      std::ofstream out(tmp);
      out << json_.dump(2) << "\n";
      LOOM_CHECK(out.good(), "cannot write ", tmp.string());
    }
    fs::rename(tmp, path_);
  }

 private:
  fs::path path_;
  nlohmann::ordered_json json_;
};

void say(const PipelineOptions& o, const std::string& line) {
  if (!o.quiet) std::printf("%s\n", line.c_str()), std::fflush(stdout);
}

// `word` as one shell word: unchanged when it holds only characters the shell
// leaves alone, else in single quotes (a ' inside as '\'').
std::string shell_word(const std::string& word) {
  const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) ||
           std::string_view("_-./,:=+@%").find(ch) != std::string_view::npos;
  });
  if (plain) return word;
  std::string quoted = "'";
  for (char ch : word) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return quoted + "'";
}

// A command line that a shell runs as `words` (each word quoted where needed).
std::string command_line(const std::vector<std::string>& words) {
  std::vector<std::string> quoted;
  for (const std::string& w : words) quoted.push_back(shell_word(w));
  return train::join(quoted, " ");
}

// The shortest decimal text that reads back as exactly `value` ("0.2", not "0.200000").
std::string number_text(double value) {
  char text[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

bool has_checkpoint(const fs::path& run) {
  if (!fs::is_directory(run / "checkpoints")) return false;
  for (const auto& entry : fs::directory_iterator(run / "checkpoints"))
    if (entry.path().extension() == ".safetensors") return true;
  return false;
}

// A training stage: fresh (--run-dir) or, when its folder holds a checkpoint of
// `model`, continued (--resume) to the same number of steps. Returns the command.
template <class Options>
std::string train_stage(const PipelineOptions& o, const std::string& model, const fs::path& run,
                        void (*add)(train::SettingsBinder&, Options&),
                        fs::path (*train_fn)(train::SettingsBinder&, Options&), std::vector<std::string> args,
                        int64_t steps) {
  const std::vector<std::string> intervals = {"--steps",
                                              std::to_string(steps),
                                              "--log-every",
                                              std::to_string(std::max<int64_t>(1, steps / 20)),
                                              "--sample-every",
                                              std::to_string(std::max<int64_t>(1, steps / 4)),
                                              "--checkpoint-every",
                                              std::to_string(std::max<int64_t>(1, steps / 10)),
                                              "--keep-checkpoints",
                                              "2"};
  args.insert(args.end(), intervals.begin(), intervals.end());
  if (o.quiet) args.push_back("--quiet");
  std::vector<std::string> words = {"loom", "train", model};
  words.insert(words.end(), args.begin(), args.end());
  words.insert(words.end(), {"--run-dir", run.string()});
  const std::string command = command_line(words);
  if (has_checkpoint(run)) {
    const train::TrainedRun trained = open_stage_run(run, model);  // refuses another model's checkpoint
    say(o, "  resuming " + run.string() + " from " + trained.checkpoint.filename().string());
    std::vector<std::string> resume = {"--resume", run.string()};
    resume.insert(resume.end(), intervals.begin(), intervals.end());
    if (o.quiet) resume.push_back("--quiet");
    train::run_trainer(add, train_fn, resume);
  } else {
    args.insert(args.end(), {"--run-dir", run.string()});
    train::run_trainer(add, train_fn, args);
  }
  return command;
}

void check_procedural_split(const std::vector<std::string>& source, const std::vector<std::string>& target) {
  const auto& known = data::fabric::fabric_categories();
  LOOM_CHECK(!source.empty() && !target.empty(),
             "--source-categories and --target-categories must each name at least one category");
  for (const auto* list : {&source, &target})
    for (const std::string& name : *list)
      LOOM_CHECK(std::find(known.begin(), known.end(), name) != known.end(), "unknown fabric category '", name,
                 "'; the categories are ", train::join(known, ", "));
  for (const std::string& name : target)
    LOOM_CHECK(std::find(source.begin(), source.end(), name) == source.end(), "category '", name,
               "' is both a source and a target category; the target's defects must stay unseen");
}

// The procedural target categories: --target-categories, or those not in --source-categories.
std::vector<std::string> procedural_targets(const PipelineOptions& o) {
  std::vector<std::string> target = split_names(o.target_categories);
  const std::vector<std::string> source = split_names(o.source_categories);
  if (target.empty())
    for (const std::string& c : data::fabric::fabric_categories())
      if (std::find(source.begin(), source.end(), c) == source.end()) target.push_back(c);
  return target;
}

void check_options(const PipelineOptions& o) {
  LOOM_CHECK(o.source.empty() == o.target.empty(),
             "give both --source and --target (MVTec AD datasets), or neither (procedural fabric)");
  LOOM_CHECK(o.samples >= 1, "--samples must be positive, got ", o.samples);
  LOOM_CHECK(o.mask == "fused" || o.mask == "box", "--mask must be 'fused' or 'box', got '", o.mask, "'");
  LOOM_CHECK(o.cgan_steps >= 1 && o.fusion_steps >= 1 && o.unet_steps >= 1,
             "--cgan-steps, --fusion-steps and --unet-steps must be positive");
  LOOM_CHECK(o.fabric_train >= 1 && o.fabric_test >= 1, "--fabric-train and --fabric-test must be positive");
  if (o.source.empty()) check_procedural_split(split_names(o.source_categories), procedural_targets(o));
}

// The run directory: --resume's, --run-dir's, or a new one; a non-empty folder
// must be a pipeline's or hold only its entries.
fs::path pick_run_dir(const PipelineOptions& o) {
  LOOM_CHECK(o.resume.empty() || o.run_dir.empty() || fs::path(o.resume) == fs::path(o.run_dir), "--resume ", o.resume,
             " and --run-dir ", o.run_dir, " name two folders; give one");
  if (!o.resume.empty()) {
    LOOM_CHECK(fs::exists(fs::path(o.resume) / "pipeline.json"), "--resume ", o.resume,
               " is not a pipeline run directory (it has no pipeline.json)");
    return o.resume;
  }
  const fs::path dir = o.run_dir.empty() ? train::default_run_dir("pipeline") : fs::path(o.run_dir);
  if (fs::exists(dir) && !fs::exists(dir / "pipeline.json")) {
    LOOM_CHECK(fs::is_directory(dir), "--run-dir ", dir.string(), " is a file");
    for (const auto& entry : fs::directory_iterator(dir))
      LOOM_CHECK(kEntries.count(entry.path().filename().string()), "--run-dir ", dir.string(),
                 " is not empty and is no pipeline run (no pipeline.json; it holds ", entry.path().filename().string(),
                 "); give another --run-dir");
  }
  return dir;
}

// Times one stage and keeps its state: skipped when done, else run and marked done.
class StageRunner {
 public:
  StageRunner(const PipelineOptions& o, PipelineState& state, PipelineResult& result)
      : o_(o), state_(state), result_(result) {}

  template <class Body>
  void run(const std::string& name, Body body) {
    const auto info = std::find_if(kStages.begin(), kStages.end(), [&](const StageInfo& s) { return s.name == name; });
    const std::string banner = "== [" + std::to_string(info - kStages.begin() + 1) + "/" +
                               std::to_string(kStages.size()) + "] " + name + ": " + info->what;
    PipelineStage stage;
    stage.name = name;
    if (state_.state(name) == "done") {
      say(o_, banner + " -- done (" + state_.stage(name).value("finished", std::string("earlier")) + "), skipped");
      stage.state = "done";
      stage.skipped = true;
      result_.stages.push_back(stage);
      return;
    }
    say(o_, banner);
    state_.set(name, "running");
    const auto start = std::chrono::steady_clock::now();
    const std::string summary = body(state_.stage(name));
    stage.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    stage.state = "done";
    state_.stage(name)["seconds"] = stage.seconds;
    state_.stage(name)["summary"] = summary;
    state_.set(name, "done");
    char line[64];
    std::snprintf(line, sizeof line, "   done in %.1f s", stage.seconds);
    say(o_, line + (summary.empty() ? "" : ": " + summary));
    result_.stages.push_back(stage);
  }

 private:
  const PipelineOptions& o_;
  PipelineState& state_;
  PipelineResult& result_;
};

std::string format_mean(const EvalReport& report) {
  char line[256];
  std::snprintf(line, sizeof line,
                "mean over target categories: image AUROC %.3f, pixel AUROC %.3f, AUPRO %.3f, pixel F1 %.3f at "
                "threshold %.3g (best F1 %.3f)",
                report.mean.image_auroc, report.mean.pixel_auroc, report.mean.aupro, report.mean.at_threshold.f1,
                report.threshold, report.mean.best.f1);
  return line;
}

}  // namespace

std::string eval_command_line(const EvalOptions& options) {
  std::vector<std::string> words = {"loom", "eval", options.detector, "--data", options.data, "--out", options.out_dir};
  for (const std::string& category : options.categories) words.insert(words.end(), {"--category", category});
  if (options.val_share > 0)
    words.insert(words.end(), {"--val-share", number_text(options.val_share), "--seed", std::to_string(options.seed)});
  return command_line(words);
}

void add_pipeline_options(train::SettingsBinder& binder, PipelineOptions& o) {
  binder.add("--run-dir", o.run_dir,
             "run directory (default runs/pipeline-<time>); an existing pipeline's is continued", Resume::Local);
  binder.add("--resume", o.resume, "continue the pipeline run in this directory", Resume::Local);
  binder.add("--source", o.source, "source dataset (MVTec AD layout) with defective samples; default: procedural");
  binder.add("--target", o.target, "target dataset (MVTec AD layout): train/good for stage 3, test for the eval");
  binder.add("--source-categories", o.source_categories, "procedural source categories, joined by commas");
  binder.add("--target-categories", o.target_categories,
             "procedural target categories (default: the others), or the --target categories to use (default: all)");
  binder.add("--fabric-size", o.fabric_size, "procedural images' side");
  binder.add("--fabric-train", o.fabric_train, "procedural train/good images per category");
  binder.add("--fabric-test", o.fabric_test, "procedural test/good images and test images per defect kind");
  binder.add("--seed", o.seed, "seed of every stage");
  binder.add("--image", o.image, "image size of stage 2, stage 3 and the U-Net");
  binder.add("--crop", o.crop, "stage 1's defect crop size (4 * 2^k)");
  binder.add("--cgan-steps", o.cgan_steps, "stage 1 training steps");
  binder.add("--cgan-width", o.cgan_width, "stage 1 width (ngf = ndf)");
  binder.add("--cgan-batch", o.cgan_batch, "stage 1 batch");
  binder.add("--vgg19", o.vgg19, "VGG19 weights for stage 1's texture extractor (default: the random extractor)");
  binder.add("--fusion-steps", o.fusion_steps, "stage 2 training steps");
  binder.add("--fusion-width", o.fusion_width, "stage 2 width (ngf = ndf)");
  binder.add("--fusion-batch", o.fusion_batch, "stage 2 batch");
  binder.add("--samples", o.samples, "stage 3 synthetic defective samples");
  binder.add("--mask", o.mask, "stage 3 masks: fused (the fused region) or box (its enclosing rectangle)")
      ->check(CLI::IsMember({"fused", "box"}));
  binder.add("--window-min", o.window_min, "smallest paste window side, as a share of the image side");
  binder.add("--window-max", o.window_max, "largest paste window side, as a share of the image side");
  binder.add("--unet-steps", o.unet_steps, "U-Net training steps");
  binder.add("--unet-width", o.unet_width, "U-Net base width");
  binder.add("--unet-depth", o.unet_depth, "U-Net depth (max-pool downs)");
  binder.add("--unet-batch", o.unet_batch, "U-Net batch");
  binder.add("--good-share", o.good_share, "share of the U-Net's samples left defect-free");
  binder.add("--eval-val-share", o.eval_val_share,
             "loom eval --val-share: hold out this share of the target's test images to choose the threshold (0: "
             "threshold 0.5, a pixel is a defect where the U-Net's p >= 0.5)");
  binder.add("--quiet", o.quiet, "no progress output", Resume::Local);
}

PipelineResult run_pipeline(train::SettingsBinder& binder, PipelineOptions& o) {
  const fs::path run = pick_run_dir(o);
  PipelineState state(run);
  const bool continued = state.exists();
  if (continued) binder.restore_from(state.settings());
  check_options(o);
  fs::create_directories(run);
  if (!continued) state.start(binder.to_json());
  PipelineResult result;
  result.run_dir = run;
  say(o, "loom pipeline: " + std::string(continued ? "continuing" : "new") + " run in " + run.string());

  const bool procedural = o.source.empty();
  const fs::path source = procedural ? run / "data/source" : fs::path(o.source);
  const fs::path target = procedural ? run / "data/target" : fs::path(o.target);
  std::vector<std::string> target_categories = procedural ? procedural_targets(o) : split_names(o.target_categories);

  StageRunner stages(o, state, result);
  stages.run("data", [&](nlohmann::ordered_json& record) -> std::string {
    if (!procedural) return "given: --source " + o.source + ", --target " + o.target;
    fs::remove_all(run / "data");
    data::fabric::FabricDatasetOptions fabric;
    fabric.n_train = o.fabric_train;
    fabric.n_test = o.fabric_test;
    fabric.size = o.fabric_size;
    fabric.seed = o.seed;
    int64_t written = 0;
    std::vector<std::string> commands;  // the same datasets from the shell
    for (const auto& [dir, names] :
         {std::pair{source, split_names(o.source_categories)}, {target, target_categories}}) {
      fabric.out_dir = dir.string();
      fabric.categories = names;
      written += data::fabric::write_fabric_dataset(fabric);
      commands.push_back(command_line({"loom", "fabric", "--out", dir.string(), "--categories", train::join(names, ","),
                                       "--n", std::to_string(o.fabric_train), "--n-test",
                                       std::to_string(o.fabric_test), "--size", std::to_string(o.fabric_size),
                                       "--seed", std::to_string(o.seed)}));
    }
    record["command"] = train::join(commands, " && ");
    return std::to_string(written) + " images: source " + o.source_categories + ", target " +
           train::join(target_categories, ",");
  });

  // Sample-sheet rows of stages 1 and 2: 6, or every defective source image when fewer.
  const std::string sheet_rows = std::to_string(std::min<int64_t>(6, check_pipeline_source(source.string())));
  target_categories = check_pipeline_target(target.string(), target_categories);
  if (!procedural) check_pipeline_disjoint(source.string(), target.string(), target_categories);

  const std::string seed = std::to_string(o.seed);
  stages.run("stage1_cgan", [&](nlohmann::ordered_json& record) -> std::string {
    std::vector<std::string> args = {"--image",          std::to_string(o.crop),
                                     "--width",          std::to_string(o.cgan_width),
                                     "--batch",          std::to_string(o.cgan_batch),
                                     "--seed",           seed,
                                     "--data",           source.string(),
                                     "--sample-rows",    sheet_rows,
                                     "--sample-columns", "6"};
    if (!o.vgg19.empty()) args.insert(args.end(), {"--vgg19", o.vgg19});
    // Where the trainer's condition patches come from (mvtec_defect_crops.h): beside
    // the defect in its own image, or a train/good image where there is no room.
    const train::CropConditionCounts conditions =
        train::crop_condition_counts(*train::make_mvtec_defect_crops(source.string(), o.crop, o.seed));
    record["conditions_own_image"] = conditions.own_image;
    record["conditions_good_image"] = conditions.good_image;
    say(o, "  " + train::describe_crop_conditions(conditions));
    record["command"] =
        train_stage(o, "cgan", run / "stage1_cgan", train::add_cgan_options, train::train_cgan, args, o.cgan_steps);
    return train::describe_crop_conditions(conditions);
  });
  stages.run("stage2_fusion", [&](nlohmann::ordered_json& record) -> std::string {
    const std::vector<std::string> args = {"--image",   std::to_string(o.image),
                                           "--width",   std::to_string(o.fusion_width),
                                           "--batch",   std::to_string(o.fusion_batch),
                                           "--seed",    seed,
                                           "--data",    source.string(),
                                           "--samples", sheet_rows};
    record["command"] = train_stage(o, "fusion", run / "stage2_fusion", train::add_fusion_options, train::train_fusion,
                                    args, o.fusion_steps);
    return "";
  });
  stages.run("stage3_synthetic", [&](nlohmann::ordered_json& record) -> std::string {
    SynthesisOptions synthesis;
    synthesis.cgan_run = run / "stage1_cgan";
    synthesis.fusion_run = run / "stage2_fusion";
    synthesis.target = target;
    synthesis.categories = target_categories;
    synthesis.out_dir = run / "stage3_synthetic";
    synthesis.sheet = run / "stage3_sheet.png";
    synthesis.record = run / "stage3_samples.json";
    synthesis.samples = o.samples;
    synthesis.window_min = o.window_min;
    synthesis.window_max = o.window_max;
    synthesis.mask = o.mask;
    synthesis.seed = o.seed;
    synthesis.progress = [&](const std::string& line) { say(o, "  " + line); };
    const SynthesisResult r = synthesize_defects(synthesis);
    record["written"] = r.written;
    record["redrawn"] = r.rejected;
    record["skipped"] = r.skipped;
    char line[200];
    std::snprintf(line, sizeof line, "%lld samples (%lld draws redrawn, %lld skipped), masks %.1f%% of the pixels",
                  static_cast<long long>(r.written), static_cast<long long>(r.rejected),
                  static_cast<long long>(r.skipped), 100 * r.mean_mask_share);
    return line;
  });
  stages.run("stage3_unet", [&](nlohmann::ordered_json& record) -> std::string {
    const std::string synthetic = (run / "stage3_synthetic").string();
    const std::vector<std::string> args = {"--image",       std::to_string(o.image),
                                           "--width",       std::to_string(o.unet_width),
                                           "--depth",       std::to_string(o.unet_depth),
                                           "--batch",       std::to_string(o.unet_batch),
                                           "--seed",        seed,
                                           "--data",        synthetic,
                                           "--defect-data", synthetic,
                                           "--synth",       "none",
                                           "--good-share",  number_text(o.good_share),
                                           "--samples",     "6"};
    record["command"] =
        train_stage(o, "unet", run / "stage3_unet", train::add_unet_options, train::train_unet, args, o.unet_steps);
    return "";
  });
  stages.run("stage3_eval", [&](nlohmann::ordered_json& record) -> std::string {
    open_stage_run(run / "stage3_unet", "unet");
    EvalOptions eval{.detector = (run / "stage3_unet").string(),
                     .data = target.string(),
                     .out_dir = (run / "stage3_eval").string(),
                     .categories = target_categories,
                     .val_share = o.eval_val_share,
                     .seed = o.seed,
                     .quiet = o.quiet};
    result.eval = evaluate_detector(eval);
    result.evaluated_now = true;
    record["command"] = eval_command_line(eval);
    return format_mean(result.eval);
  });

  say(o, "loom pipeline: all stages done. Where everything is:");
  for (const auto& [entry, what] : std::vector<std::pair<std::string, std::string>>{
           {"pipeline.json", "settings and stage states"},
           {"data", "the procedural source and target datasets"},
           {"stage1_cgan", "stage 1 run (checkpoints, samples/, metrics.csv)"},
           {"stage2_fusion", "stage 2 run"},
           {"stage3_synthetic", "synthetic defects on the target (MVTec AD layout)"},
           {"stage3_sheet.png", "good | pasted | fused | mask"},
           {"stage3_samples.json", "per-sample windows, thresholds and mask sizes"},
           {"stage3_unet", "the U-Net run"},
           {"stage3_eval", "eval.json, eval.md, gallery.png"}})
    if (fs::exists(run / entry)) say(o, "  " + (run / entry).string() + "  -- " + what);
  return result;
}

}  // namespace loom::eval
