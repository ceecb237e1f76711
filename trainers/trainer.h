// trainer.h: what every `loom train X` shares: the common options, the run
// setup (run directory, settings, --resume) and the training loop.
//
// A trainer (train_dcgan.cpp is the first) does this:
//   CommonOptions common; DcganOptions model;            bound to CLI flags by a SettingsBinder
//   RunSetup run = start_run("dcgan", binder, common);   --resume restores the saved settings here
//   ...build models and optimizers from the (restored) options...
//   nn::TrainingCheckpoint state{.models = {{"G", &G}, ...}, .optimizers = ..., .generators = ...};
//   TrainingLoop loop(run, common, state, hooks);        loads the checkpoint when resuming
//   loop.run();
//
// The loop, for step = start .. steps-1 (0-based; `steps_done` = step + 1):
//   schedule: lr = schedule.lr_at(step) on every optimizer in `state`
//   metrics  = hooks.step(step)                        the trainer's one training step
//   guard:     a non-finite metric stops the run (loom::Error naming the step, the
//              metric and the last good checkpoint), after logging the row; a
//              loom::Error from the step (clipping a non-finite gradient, say)
//              stops it the same way, naming the step
//   every log_every steps (and the last): progress line + metrics.csv/jsonl row
//   every sample_every steps (and the last): hooks.save_samples(samples/step_N.png)
//   every checkpoint_every steps (and the last): hooks.before_checkpoint(N), then
//              checkpoints/step_N.safetensors with
//              the models, optimizers, generators, extra tensors, step, data
//              cursor and settings; refused if any weight or optimizer moment is
//              not finite; older ones beyond --keep-checkpoints are deleted
//
// Determinism: a resumed run continues bit for bit, because everything that
// a step reads (weights, batch-norm statistics, optimizer moments and steps,
// Generator states, the data cursor, the step for the schedule) is in the
// checkpoint.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "nn/checkpoint.h"
#include "nn/schedule.h"
#include "trainers/progress.h"
#include "trainers/run_dir.h"
#include "trainers/settings.h"

namespace loom::train {

// The options of every `loom train X` (the trainer's own come on top).
struct CommonOptions {
  int64_t steps = 1000;
  int64_t batch = 64;
  double lr = 2e-4;
  uint64_t seed = 0;
  std::string device = "cpu";       // cpu | cuda
  std::string schedule = "constant";  // constant | step | linear | cosine
  double clip = 0;                  // max global gradient norm; 0: no clipping
  int64_t log_every = 50;
  int64_t sample_every = 500;
  int64_t checkpoint_every = 1000;
  int64_t keep_checkpoints = 3;     // 0: keep all
  std::string run_dir;              // empty: runs/<model>-<time>
  std::string resume;               // a run directory or checkpoint file
  std::string data;                 // a dataset folder; empty: procedural fabric
  bool quiet = false;               // no progress output on stdout (train.log still written)
};

// Adds --steps, --batch, --lr, --seed, --device, --schedule, --clip, --log-every,
// --sample-every, --checkpoint-every, --keep-checkpoints, --run-dir, --resume,
// --data and --quiet. `lr_help` names the trainer's default ("Adam lr for G and D").
void add_common_options(SettingsBinder& binder, CommonOptions& options, const std::string& lr_help = "learning rate");

// Checks that `device` can train `model`: "cpu", or "cuda" when loom was
// built with CUDA, a GPU is visible and the model's trainer moves its work to
// the GPU (dcgan, wae, unet); otherwise the message says which of these is missing.
void check_device(const std::string& device, const std::string& model = "dcgan");
// The device --device names: Device::cpu() or Device::cuda(0).
Device training_device(const CommonOptions& options);

// The --schedule over `steps` steps: constant (nullptr), step (x0.1 at 1/2 and
// 3/4 of the run: MultiStepLR), linear (constant for the first half, then linearly
// to 0: LinearDecayLR), cosine (CosineAnnealingLR with T = steps, to 0).
std::unique_ptr<nn::LRSchedule> make_schedule(const std::string& name, double base_lr, int64_t steps);

// A started run: its directory, the checkpoint to resume from (empty when
// fresh) and the settings written to settings.json.
struct RunSetup {
  std::string model;
  std::unique_ptr<RunDir> dir;
  std::filesystem::path resume_from;
  nlohmann::ordered_json settings;
};

// Validates the common options, resolves --resume (the saved settings are
// restored into the bound options by the binder's rules), picks the run
// directory (--run-dir; else the resumed run's; else runs/<model>-<time>; a
// fresh run refuses a folder that already has checkpoints) and
// writes settings.json: {"model", every option, "git_commit", "start_time",
// "resumed_from"}.
// `validate` (optional) checks the trainer's own options once they are final,
// before anything is written.
RunSetup start_run(const std::string& model, SettingsBinder& binder, CommonOptions& options,
                   const std::function<void()>& validate = nullptr);

// Throws unless every floating tensor of the models' state dicts and the
// optimizers' states is finite, naming the first one that is not.
void check_finite_state(const nn::TrainingCheckpoint& state);

struct LoopHooks {
  std::function<Metrics(int64_t step)> step;                                         // required
  std::function<void(const std::filesystem::path& png, int64_t steps_done)> save_samples;  // optional
  std::function<std::string()> data_cursor;                                          // optional
  std::function<void(const std::string& cursor)> restore_data_cursor;                // optional
  // optional: called just before each checkpoint is written (after that step's
  // samples), e.g. to put a threshold chosen on validation images into state.metadata
  std::function<void(int64_t steps_done)> before_checkpoint;
};

class TrainingLoop {
 public:
  // When run.resume_from is set, loads that checkpoint into `state` (models,
  // optimizers, generators, extra tensors) and restores the data cursor.
  TrainingLoop(RunSetup& run, const CommonOptions& options, nn::TrainingCheckpoint& state, LoopHooks hooks);
  int64_t start_step() const { return start_step_; }
  // Runs the remaining steps; returns the path of the last checkpoint written.
  // A non-finite metric throws (see above).
  std::filesystem::path run();

 private:
  void save_checkpoint(int64_t steps_done);
  // Ends the run at `steps_done` because of `what`: logs and throws the message.
  [[noreturn]] void stop(Progress& progress, int64_t steps_done, const std::string& what);

  RunSetup& run_;
  const CommonOptions& options_;
  nn::TrainingCheckpoint& state_;
  LoopHooks hooks_;
  std::unique_ptr<nn::LRSchedule> schedule_;
  int64_t start_step_ = 0;
  std::filesystem::path last_checkpoint_;
};

}  // namespace loom::train
