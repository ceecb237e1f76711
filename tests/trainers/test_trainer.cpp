// test_trainer.cpp: the shared training infrastructure (trainers/trainer.h and
// friends) with a tiny model: a 3-4-1 MLP regressing y = x . (1, -2, 0.5) plus
// a little noise, trained with Adam. Checks the metrics files, settings.json,
// the NaN guard, bit-exact resume and the plain progress lines.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "autograd/functions.h"
#include "nn/adam.h"
#include "nn/nn.h"
#include "tensor/cuda_runtime.h"
#include "tensor/safetensors.h"
#include "tests/trainers/train_test_util.h"
#include "trainers/metrics_log.h"
#include "trainers/trainer.h"

using namespace loom;
using namespace loom::train;
using loom::train::test::lines_of;
using loom::train::test::metric_rows;
using loom::train::test::read_bytes;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) { return test::fresh_dir("loom_test_trainer", name); }

// ---- the tiny trainer ----

struct TinyOptions {
  CommonOptions common;
  int64_t hidden = 4;
};

// What one run of the tiny trainer did.
struct TinyRun {
  fs::path run_dir, last_checkpoint;
  std::shared_ptr<nn::Sequential> net;
  std::unique_ptr<nn::Adam> optimizer;
};

// Runs `loom train tiny <args>` in-process. Step `nan_at` (0-based) starts by
// setting every weight to NaN, so its loss and gradients are NaN; step `crash_at` throws before doing anything
// (a killed process, as far as the files are concerned).
TinyRun run_tiny(std::vector<std::string> args, int64_t nan_at = -1, int64_t crash_at = -1) {
  CLI::App app;
  TinyOptions options;
  options.common.log_every = 1;
  options.common.batch = 8;
  options.common.lr = 0.01;
  options.common.quiet = true;
  SettingsBinder binder(&app);
  add_common_options(binder, options.common);
  binder.add("--hidden", options.hidden, "hidden units");
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  app.parse(reversed);
  RunSetup run = start_run("tiny", binder, options.common);

  TinyRun result;
  Generator init(options.common.seed);
  result.net = nn::make<nn::Sequential>(nn::make<nn::Linear>({.in = 3, .out = options.hidden}, init),
                                        nn::make<nn::Tanh>(),
                                        nn::make<nn::Linear>({.in = options.hidden, .out = 1}, init));
  result.optimizer = std::make_unique<nn::Adam>(result.net->named_parameters(), nn::AdamOptions{.lr = options.common.lr});
  Generator noise(options.common.seed + 1);  // in the checkpoint
  int64_t batches_drawn = 0;                 // the data cursor
  nn::TrainingCheckpoint state;
  state.models = {{"net", result.net.get()}};
  state.optimizers = {{"net", result.optimizer.get()}};
  state.generators = {{"noise", &noise}};
  const Tensor coefficients = Tensor::from_vector(std::vector<float>{1, -2, 0.5}, {3, 1});
  LoopHooks hooks;
  hooks.step = [&](int64_t step) -> Metrics {
    if (step == crash_at) throw std::runtime_error("killed");
    // batch k: x from the Philox stream (seed, k 2^20), the cursor's index
    Generator data(options.common.seed);
    data.set_state({options.common.seed, static_cast<uint64_t>(batches_drawn++) << 20});
    const Tensor x = randn({options.common.batch, 3}, data);                                   // (B, 3)
    const Tensor y = matmul(x, coefficients) + randn({options.common.batch, 1}, noise) * 0.01;  // (B, 1)
    if (step == nan_at)  // diverged: every weight NaN from here on
      for (auto& [name, p] : result.net->named_parameters()) p.fill_(std::nan(""));
    result.optimizer->zero_grad();
    Tensor loss = mse_loss((*result.net)(x), y);
    loss.backward();
    if (options.common.clip > 0) nn::clip_grad_norm_(result.net->named_parameters(), options.common.clip);
    result.optimizer->step();
    return {{"loss", loss.item()}, {"lr", result.optimizer->lr()}};
  };
  hooks.data_cursor = [&] { return std::to_string(batches_drawn); };
  hooks.restore_data_cursor = [&](const std::string& cursor) { batches_drawn = std::stoll(cursor); };
  TrainingLoop loop(run, options.common, state, hooks);
  result.run_dir = run.dir->root();
  result.last_checkpoint = loop.run();
  return result;
}

// Every tensor and every metadata entry of two checkpoint files, bit for bit
// (except the settings, whose start_time and resumed_from differ).
void expect_same_checkpoint(const fs::path& a, const fs::path& b) {
  EXPECT_GT(test::expect_same_tensors(a, b), 0);
  const SafeTensors fa = load_safetensors(a.string()), fb = load_safetensors(b.string());
  for (const auto& [key, value] : fa.metadata)
    if (key != "settings") {
      EXPECT_EQ(value, fb.metadata.at(key)) << key;
    }
}

}  // namespace

// ---- metrics files ----

TEST(MetricsLog, CsvAndJsonlHoldEveryRowInColumnOrder) {
  const fs::path dir = fresh_dir("metrics");
  fs::create_directories(dir);
  const double third = 1.0 / 3.0;
  {
    MetricsLog log(dir);
    log.write(10, {{"lossD", third}, {"lossG", 2.5}, {"acc", 1e-7}});
    log.write(20, {{"lossD", 0.1}, {"lossG", -4.0}, {"acc", std::nan("")}});
  }
  const auto csv = lines_of(read_bytes(dir / "metrics.csv"));
  ASSERT_EQ(csv.size(), 3u);
  EXPECT_EQ(csv[0], "step,lossD,lossG,acc");  // the first row's keys, in its order
  // Values read back to the same doubles.
  std::stringstream row(csv[1]);
  std::string field;
  std::vector<std::string> fields;
  while (std::getline(row, field, ',')) fields.push_back(field);
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(fields[0], "10");
  EXPECT_EQ(std::strtod(fields[1].c_str(), nullptr), third);
  EXPECT_EQ(std::strtod(fields[2].c_str(), nullptr), 2.5);
  EXPECT_EQ(std::strtod(fields[3].c_str(), nullptr), 1e-7);
  EXPECT_EQ(csv[2], "20,0.1,-4,nan");

  const auto jsonl = lines_of(read_bytes(dir / "metrics.jsonl"));
  ASSERT_EQ(jsonl.size(), 2u);
  const auto first = nlohmann::ordered_json::parse(jsonl[0]);
  std::vector<std::string> keys;
  for (const auto& [key, value] : first.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"step", "lossD", "lossG", "acc"}));
  EXPECT_EQ(first["step"].get<int64_t>(), 10);
  EXPECT_EQ(first["lossD"].get<double>(), third);
  EXPECT_EQ(first["acc"].get<double>(), 1e-7);
  const auto second = nlohmann::json::parse(jsonl[1]);
  EXPECT_TRUE(second["acc"].is_null());  // JSON has no NaN
  EXPECT_EQ(second["lossG"].get<double>(), -4.0);
}

TEST(MetricsLog, RefusesARowWithOtherKeys) {
  const fs::path dir = fresh_dir("metrics_keys");
  fs::create_directories(dir);
  MetricsLog log(dir);
  log.write(1, {{"a", 1.0}, {"b", 2.0}});
  try {
    log.write(2, {{"b", 1.0}, {"a", 2.0}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("step 2 has the values [b, a], but the log's columns are [a, b]"),
              std::string::npos)
        << e.what();
  }
}

TEST(MetricsLog, ResumeDropsRowsAfterTheCheckpointAndAppends) {
  const fs::path dir = fresh_dir("metrics_resume");
  fs::create_directories(dir);
  {
    MetricsLog log(dir);
    for (int step = 1; step <= 5; ++step) log.write(step, {{"loss", step * 1.5}});
  }
  {
    MetricsLog log(dir, 3);  // the checkpoint was at step 3; steps 4 and 5 are redone
    log.write(4, {{"loss", 40.0}});
  }
  EXPECT_EQ(read_bytes(dir / "metrics.csv"), "step,loss\n1,1.5\n2,3\n3,4.5\n4,40\n");
  const auto jsonl = lines_of(read_bytes(dir / "metrics.jsonl"));
  ASSERT_EQ(jsonl.size(), 4u);
  EXPECT_EQ(jsonl[3], "{\"step\":4,\"loss\":40}");
}

// ---- run directory and settings ----

TEST(RunDir, GitCommitFromHeadLooseRefsAndPackedRefs) {
  const fs::path repo = fresh_dir("fake_repo");
  const std::string loose = "0123456789abcdef0123456789abcdef01234567";
  const std::string packed = "fedcba9876543210fedcba9876543210fedcba98";
  fs::create_directories(repo / ".git/refs/heads");
  fs::create_directories(repo / "work/deeper");
  std::ofstream(repo / ".git/HEAD") << "ref: refs/heads/main\n";
  std::ofstream(repo / ".git/refs/heads/main") << loose << "\n";
  EXPECT_EQ(git_commit(repo / "work/deeper"), loose);  // found from a sub-folder
  fs::remove(repo / ".git/refs/heads/main");
  std::ofstream(repo / ".git/packed-refs") << "# pack-refs with: peeled fully-peeled sorted\n"
                                           << loose << " refs/heads/other\n"
                                           << packed << " refs/heads/main\n";
  EXPECT_EQ(git_commit(repo), packed);
  std::ofstream(repo / ".git/HEAD") << loose << "\n";  // detached
  EXPECT_EQ(git_commit(repo), loose);
  std::ofstream(repo / ".git/HEAD") << "ref: refs/heads/missing\n";
  EXPECT_EQ(git_commit(repo), "unknown");
}

TEST(RunDir, GitCommitOfThisRepositoryMatchesGit) {
  // git itself is the independent reference; other commits may land between
  // the two reads, so try a few times.
  const std::string command = std::string("git -C ") + LOOM_SOURCE_DIR + " rev-parse HEAD 2>/dev/null";
  bool same = false;
  std::string ours, theirs;
  for (int attempt = 0; attempt < 3 && !same; ++attempt) {
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) GTEST_SKIP() << "cannot run git";
    char buffer[128] = {0};
    const bool read = std::fgets(buffer, sizeof buffer, pipe) != nullptr;
    ::pclose(pipe);
    if (!read) GTEST_SKIP() << "git rev-parse gave nothing (no git, or not a repository)";
    theirs = buffer;
    while (!theirs.empty() && theirs.back() == '\n') theirs.pop_back();
    ours = git_commit(LOOM_SOURCE_DIR);
    same = ours == theirs;
  }
  EXPECT_EQ(ours, theirs);
}

TEST(RunDir, SettingsJsonHoldsEveryOptionTheCommitAndTheSeed) {
  const fs::path dir = fresh_dir("settings");
  run_tiny({"--steps", "2", "--seed", "7", "--hidden", "5", "--run-dir", dir.string()});
  const auto settings = nlohmann::json::parse(read_bytes(dir / "settings.json"));
  EXPECT_EQ(settings["model"], "tiny");
  EXPECT_EQ(settings["seed"].get<uint64_t>(), 7u);
  EXPECT_EQ(settings["steps"].get<int64_t>(), 2);
  EXPECT_EQ(settings["hidden"].get<int64_t>(), 5);
  EXPECT_EQ(settings["device"], "cpu");
  // Defaults are filled in, under the flag's name.
  EXPECT_EQ(settings["schedule"], "constant");
  EXPECT_EQ(settings["checkpoint_every"].get<int64_t>(), 1000);
  EXPECT_EQ(settings["clip"].get<double>(), 0.0);
  EXPECT_EQ(settings["data"], "");
  EXPECT_EQ(settings["git_commit"], git_commit());  // the folder the test runs in
  EXPECT_TRUE(std::regex_match(settings["start_time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  EXPECT_TRUE(settings["resumed_from"].is_null());
  EXPECT_TRUE(fs::is_directory(dir / "samples"));
  EXPECT_TRUE(fs::is_regular_file(dir / "checkpoints/step_0000002.safetensors"));  // the final checkpoint
  // train.log has the plain progress lines.
  const std::string log = read_bytes(dir / "train.log");
  EXPECT_NE(log.find("step 1/2  loss "), std::string::npos) << log;
  EXPECT_NE(log.find("step 2/2  loss "), std::string::npos) << log;
}

// ---- the NaN guard ----

TEST(TrainingLoop, NonFiniteLossStopsTheRunAndKeepsTheLastGoodCheckpoint) {
  const fs::path dir = fresh_dir("nan");
  try {
    run_tiny({"--steps", "10", "--checkpoint-every", "3", "--run-dir", dir.string()}, /*nan_at=*/7);
    FAIL() << "expected the run to stop";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("step 8: loss is nan; the run stopped"), std::string::npos) << message;
    EXPECT_NE(message.find("step_0000006.safetensors"), std::string::npos) << message;
  }
  EXPECT_NE(read_bytes(dir / "train.log").find("step 8: loss is nan; the run stopped"), std::string::npos);
  // Checkpoints at 3 and 6; nothing after the NaN.
  EXPECT_TRUE(fs::exists(dir / "checkpoints/step_0000003.safetensors"));
  EXPECT_TRUE(fs::exists(dir / "checkpoints/step_0000006.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "checkpoints/step_0000009.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "checkpoints/step_0000010.safetensors"));
  // The metrics row of the bad step is there, with the NaN.
  const auto rows = metric_rows(dir);
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_EQ(rows[7].substr(0, 6), "8,nan,");

  // The kept checkpoint loads, is finite, and is what 6 clean steps give.
  const fs::path clean = fresh_dir("nan_clean");
  const TinyRun reference = run_tiny({"--steps", "6", "--run-dir", clean.string()});
  expect_same_checkpoint(dir / "checkpoints/step_0000006.safetensors", reference.last_checkpoint);
  Generator gen(0);
  auto net = nn::make<nn::Sequential>(nn::make<nn::Linear>({.in = 3, .out = 4}, gen), nn::make<nn::Tanh>(),
                                      nn::make<nn::Linear>({.in = 4, .out = 1}, gen));
  nn::load_submodel((dir / "checkpoints/step_0000006.safetensors").string(), "net.", *net);
  for (const auto& [name, p] : net->named_parameters())
    for (float v : p.to_vector<float>()) ASSERT_TRUE(std::isfinite(v)) << name;
}

TEST(TrainingLoop, AnErrorInsideAStepNamesTheStep) {
  // With --clip, a NaN gradient makes clip_grad_norm_ throw inside the step.
  const fs::path dir = fresh_dir("nan_clip");
  try {
    run_tiny({"--steps", "10", "--checkpoint-every", "2", "--clip", "1", "--run-dir", dir.string()}, /*nan_at=*/4);
    FAIL() << "expected the run to stop";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("step 5: clip_grad_norm_"), std::string::npos) << message;
    EXPECT_NE(message.find("the last good checkpoint is " + (dir / "checkpoints/step_0000004.safetensors").string()),
              std::string::npos)
        << message;
  }
}

TEST(TrainingLoop, RefusesToCheckpointNonFiniteWeights) {
  Generator gen(0);
  auto net = nn::make<nn::Sequential>(nn::make<nn::Linear>({.in = 2, .out = 2}, gen));
  nn::TrainingCheckpoint state;
  state.models = {{"net", net.get()}};
  EXPECT_NO_THROW(check_finite_state(state));
  net->named_parameters()[1].second.fill_(INFINITY);
  try {
    check_finite_state(state);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("net.0.bias is not finite"), std::string::npos) << e.what();
  }
}

// ---- resume ----

TEST(TrainingLoop, ResumeIsBitExact) {
  // 2N steps in one run versus N steps, then N more resumed from the run directory.
  const fs::path whole = fresh_dir("resume_whole"), split = fresh_dir("resume_split");
  const TinyRun a = run_tiny({"--steps", "8", "--clip", "0.5", "--run-dir", whole.string()});
  run_tiny({"--steps", "4", "--clip", "0.5", "--run-dir", split.string()});
  const TinyRun b = run_tiny({"--steps", "8", "--resume", split.string()});
  EXPECT_EQ(b.run_dir, fs::absolute(split));  // continues in the resumed run's folder
  EXPECT_EQ(b.last_checkpoint.filename(), "step_0000008.safetensors");
  expect_same_checkpoint(a.last_checkpoint, b.last_checkpoint);  // weights, Adam moments and steps, RNG, cursor
  // The live objects too: every parameter and optimizer buffer.
  const auto pa = a.net->state_dict(), pb = b.net->state_dict();
  for (size_t i = 0; i < pa.size(); ++i)
    EXPECT_EQ(pa[i].second.to_vector<float>(), pb[i].second.to_vector<float>()) << pa[i].first;
  const auto oa = a.optimizer->state(), ob = b.optimizer->state();
  ASSERT_EQ(oa.size(), ob.size());
  for (size_t i = 0; i < oa.size(); ++i)
    EXPECT_EQ(oa[i].second.to_vector<double>(), ob[i].second.to_vector<double>()) << oa[i].first;
  EXPECT_EQ(metric_rows(whole), metric_rows(split));  // the same losses, step by step
  const auto settings = nlohmann::json::parse(read_bytes(split / "settings.json"));
  EXPECT_EQ(settings["steps"].get<int64_t>(), 8);
  EXPECT_EQ(settings["clip"].get<double>(), 0.5);  // restored, not given again
  EXPECT_FALSE(settings["resumed_from"].is_null());
}

TEST(TrainingLoop, ResumeAfterAKilledRunIsBitExactWithASchedule) {
  // A cosine schedule depends on --steps: the interrupted run had the same total.
  const fs::path whole = fresh_dir("killed_whole"), killed = fresh_dir("killed");
  const TinyRun a = run_tiny({"--steps", "9", "--schedule", "cosine", "--run-dir", whole.string()});
  EXPECT_THROW(run_tiny({"--steps", "9", "--schedule", "cosine", "--checkpoint-every", "4", "--run-dir",
                         killed.string()}, -1, /*crash_at=*/6),
               std::runtime_error);
  const TinyRun b = run_tiny({"--resume", (killed / "checkpoints/step_0000004.safetensors").string()});
  expect_same_checkpoint(a.last_checkpoint, b.last_checkpoint);
  EXPECT_EQ(metric_rows(whole), metric_rows(killed));  // rows 5 and 6 of the killed run were replaced
}

TEST(TrainingLoop, ResumeRefusesToChangeTheModelOrTheSeed) {
  const fs::path dir = fresh_dir("resume_refuse");
  run_tiny({"--steps", "2", "--run-dir", dir.string()});
  try {
    run_tiny({"--steps", "4", "--resume", dir.string(), "--hidden", "6", "--seed", "3"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("--hidden 6 (the run has 4)"), std::string::npos) << message;
    EXPECT_NE(message.find("--seed 3 (the run has 0)"), std::string::npos) << message;
  }
  // The same value again is fine.
  EXPECT_NO_THROW(run_tiny({"--steps", "3", "--resume", dir.string(), "--hidden", "4"}));
}

TEST(TrainingLoop, AFreshRunRefusesAFolderWithCheckpoints) {
  const fs::path dir = fresh_dir("occupied");
  run_tiny({"--steps", "2", "--run-dir", dir.string()});
  try {
    run_tiny({"--steps", "2", "--run-dir", dir.string()});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already holds a run (step_0000002.safetensors); continue it with --resume"),
              std::string::npos)
        << e.what();
  }
}

// ---- progress output ----

TEST(Progress, PlainLineFormat) {
  EXPECT_EQ(format_progress_line(450, 1000, {{"lossD", 1.23454}, {"lossG", 0.81234}}, 3.214, 171.2),
            "step 450/1000  lossD 1.2345  lossG 0.8123  3.21 it/s  ETA 2:51");
  EXPECT_EQ(format_progress_line(1, 10, {{"x", 1.5e-5}, {"y", 2e6}, {"z", std::nan("")}}, 0, -1),
            "step 1/10  x 1.500e-05  y 2.000e+06  z nan  - it/s  ETA ?");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(59.6), "1:00");
}

TEST(Progress, NotATerminalPrintsALineEveryLogEveryStepsAndTheLast) {
  FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  std::vector<std::string> mirrored;
  {
    Progress progress({.total_steps = 5, .log_every = 2, .terminal = false, .out = out,
                       .mirror = [&](const std::string& line) { mirrored.push_back(line); }},
                      0);
    for (int64_t step = 1; step <= 5; ++step) progress.update(step, {{"loss", 0.5}, {"acc", 1.2345e-4}});
    progress.finish();
  }
  std::rewind(out);
  std::string text;
  for (int c; (c = std::fgetc(out)) != EOF;) text += static_cast<char>(c);
  std::fclose(out);
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 3u) << text;
  const char* steps[] = {"2/5", "4/5", "5/5"};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(std::regex_match(lines[i], std::regex(std::string("step ") + steps[i] +
                                                      R"(  loss 0\.5000  acc 1\.234e-04  (\d+\.\d\d|-) it/s  ETA (\d+:\d\d|\?))")))
        << lines[i];
  }
  EXPECT_EQ(mirrored, lines);  // train.log gets the same lines
  EXPECT_EQ(text.find('\r'), std::string::npos);
}

TEST(Progress, TerminalRedrawsOneLine) {
  FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  Progress progress({.total_steps = 4, .log_every = 100, .terminal = true, .out = out, .mirror = nullptr}, 0);
  for (int64_t step = 1; step <= 4; ++step) progress.update(step, {{"loss", 1.0}});
  progress.finish();
  std::rewind(out);
  std::string text;
  for (int c; (c = std::fgetc(out)) != EOF;) text += static_cast<char>(c);
  std::fclose(out);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;  // only the final newline
  EXPECT_EQ(std::count(text.begin(), text.end(), '\r'), 4);
  EXPECT_NE(text.find("[##########..........]  2/4  loss 1.0000"), std::string::npos) << text;
  EXPECT_NE(text.find("[####################]  4/4  loss 1.0000"), std::string::npos) << text;
}

// ---- options ----

TEST(CommonOptions, CudaIsRefusedWithAReason) {
  const bool gpu = cuda_rt::device_count() > 0;
  // dcgan, wae and unet train on CUDA where there is a GPU; cgan and fusion not yet.
  for (const std::string model : {"dcgan", "wae", "unet", "cgan", "fusion"}) {
    const bool trains_on_cuda = model == "dcgan" || model == "wae" || model == "unet";
    if (gpu && trains_on_cuda) {
      EXPECT_NO_THROW(check_device("cuda", model)) << model;
      continue;
    }
    try {
      check_device("cuda", model);
      FAIL() << model << ": expected --device cuda to be refused";
    } catch (const Error& e) {
      const std::string message = e.what();
      const std::string reason = !cuda_rt::built_with_cuda() ? "built without CUDA"
                                 : !gpu                      ? "no CUDA device"
                                                             : "loom train " + model + " does not run on CUDA yet";
      EXPECT_NE(message.find(reason), std::string::npos) << model << ": " << message;
    }
  }
  EXPECT_NO_THROW(check_device("cpu", "cgan"));
  EXPECT_THROW(check_device("gpu", "dcgan"), Error);
}

TEST(CommonOptions, Schedules) {
  EXPECT_EQ(make_schedule("constant", 0.1, 100), nullptr);
  const auto step = make_schedule("step", 0.1, 100);
  EXPECT_DOUBLE_EQ(step->lr_at(49), 0.1);
  EXPECT_DOUBLE_EQ(step->lr_at(50), 0.1 * 0.1);
  EXPECT_DOUBLE_EQ(step->lr_at(75), 0.1 * 0.01);
  const auto cosine = make_schedule("cosine", 0.1, 100);
  EXPECT_DOUBLE_EQ(cosine->lr_at(50), 0.05);
  EXPECT_DOUBLE_EQ(cosine->lr_at(100), 0.0);
  const auto linear = make_schedule("linear", 0.1, 100);
  EXPECT_DOUBLE_EQ(linear->lr_at(49), 0.1);
  EXPECT_NEAR(linear->lr_at(99), 0.1 * (1 - 50.0 / 51.0), 1e-15);
  EXPECT_THROW(make_schedule("exp", 0.1, 100), Error);
}
