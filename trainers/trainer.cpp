// trainer.cpp: common options, run setup and the training loop (see trainer.h).
#include "trainers/trainer.h"

#include <cmath>

#include "tensor/cuda_runtime.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"
#include "trainers/metrics_log.h"

namespace loom::train {
namespace fs = std::filesystem;

namespace {

// The trainers that move their models, batches and noise to the GPU. Every op
// has CUDA kernels (kernels/cuda); the other trainers (cgan, fusion) still
// keep their work on the CPU only.
bool trains_on_cuda(const std::string& model) { return model == "dcgan" || model == "wae" || model == "unet"; }

bool is_due(int64_t steps_done, int64_t every, int64_t total) {
  return steps_done == total || (every > 0 && steps_done % every == 0);
}

// The first non-finite element's name among floating `tensors`, or "".
std::string first_non_finite(const std::string& prefix, const nn::NamedTensors& tensors) {
  for (const auto& [name, t] : tensors) {
    if (t.dtype() != DType::Float32 && t.dtype() != DType::Float64) continue;
    for (double v : t.to_vector<double>())
      if (!std::isfinite(v)) return prefix + name;
  }
  return "";
}

// "lossD is nan" for the first metric that is not finite, or "".
std::string first_non_finite_metric(const Metrics& values) {
  for (const auto& [name, value] : values)
    if (!std::isfinite(value)) return name + " is " + format_value(value);
  return "";
}

}  // namespace

void add_common_options(SettingsBinder& binder, CommonOptions& o, const std::string& lr_help) {
  binder.add("--steps", o.steps, "training steps (on --resume: the new total)", Resume::Override);
  binder.add("--batch", o.batch, "images per step");
  binder.add("--lr", o.lr, lr_help);
  binder.add("--seed", o.seed, "Philox seed of the initialisation, the noise and the data");
  binder.add("--device", o.device, "cpu or cuda", Resume::Override)->check(CLI::IsMember({"cpu", "cuda"}));
  binder.add("--schedule", o.schedule, "learning-rate schedule: constant, step (x0.1 at 1/2 and 3/4), "
                                       "linear (decay to 0 over the second half) or cosine (to 0)")
      ->check(CLI::IsMember({"constant", "step", "linear", "cosine"}));
  binder.add("--clip", o.clip, "clip the global gradient norm of each network to this (0: off)");
  binder.add("--log-every", o.log_every, "log line and metrics row every N steps", Resume::Override);
  binder.add("--sample-every", o.sample_every, "sample sheet every N steps (and at the end; 0: only at the end)",
             Resume::Override);
  binder.add("--checkpoint-every", o.checkpoint_every, "checkpoint every N steps (and at the end; 0: only at the end)",
             Resume::Override);
  binder.add("--keep-checkpoints", o.keep_checkpoints, "keep the newest N checkpoints (0: all)", Resume::Override);
  binder.add("--run-dir", o.run_dir, "run directory (default runs/<model>-<YYYYmmdd-HHMMSS>, or the resumed run's)",
             Resume::Local);
  binder.add("--resume", o.resume, "continue a run: its run directory (newest checkpoint) or a checkpoint file",
             Resume::Local);
  binder.add("--data", o.data, "dataset folder (MVTec AD, DAGM, AITEX or any folder of images); "
                               "default: procedural fabric", Resume::Override);
  binder.add("--quiet", o.quiet, "no progress on stdout (train.log is still written)", Resume::Local);
}

void check_device(const std::string& device, const std::string& model) {
  if (device == "cpu") return;
  LOOM_CHECK(device == "cuda", "--device must be cpu or cuda, got '", device, "'");
  LOOM_CHECK(cuda_rt::built_with_cuda(),
             "--device cuda: this loom was built without CUDA (configure with -DLOOM_CUDA=ON where nvcc is "
             "installed); use --device cpu");
  LOOM_CHECK(cuda_rt::device_count() > 0, "--device cuda: no CUDA device is visible; use --device cpu");
  LOOM_CHECK(trains_on_cuda(model), "--device cuda: loom train ", model,
             " does not run on CUDA yet (dcgan, wae and unet do); use --device cpu");
}

Device training_device(const CommonOptions& options) {
  return options.device == "cuda" ? Device::cuda(0) : Device::cpu();
}

std::unique_ptr<nn::LRSchedule> make_schedule(const std::string& name, double base_lr, int64_t steps) {
  if (name == "constant") return nullptr;
  if (name == "step") {
    std::vector<int64_t> milestones;
    for (int64_t m : {steps / 2, steps * 3 / 4})
      if (m >= 1 && (milestones.empty() || m > milestones.back())) milestones.push_back(m);
    if (milestones.empty()) return nullptr;  // too few steps for a milestone
    return std::make_unique<nn::MultiStepLR>(base_lr, milestones, 0.1);
  }
  if (name == "linear") return std::make_unique<nn::LinearDecayLR>(base_lr, steps / 2, steps - steps / 2);
  if (name == "cosine") return std::make_unique<nn::CosineAnnealingLR>(base_lr, std::max<int64_t>(steps, 1), 0.0);
  detail::throw_error("--schedule must be constant, step, linear or cosine, got '", name, "'");
}

RunSetup start_run(const std::string& model, SettingsBinder& binder, CommonOptions& options,
                   const std::function<void()>& validate) {
  RunSetup run;
  run.model = model;
  fs::path dir = options.run_dir;
  if (!options.resume.empty()) {
    run.resume_from = find_checkpoint(options.resume);
    const SafeTensors file = load_safetensors(run.resume_from.string());
    const auto settings = file.metadata.find("settings");
    LOOM_CHECK(settings != file.metadata.end(), "--resume: ", run.resume_from.string(),
               " is not a training checkpoint of loom (no settings in its metadata)");
    const nlohmann::json saved = nlohmann::json::parse(settings->second);
    LOOM_CHECK(saved.value("model", model) == model, "--resume: ", run.resume_from.string(), " is a checkpoint of ",
               saved.value("model", std::string("?")), ", not of ", model);
    binder.restore_from(saved);
    if (dir.empty()) dir = run_dir_of_checkpoint(run.resume_from);
  }
  LOOM_CHECK(options.steps >= 1, "--steps must be positive, got ", options.steps);
  LOOM_CHECK(options.batch >= 1, "--batch must be positive, got ", options.batch);
  LOOM_CHECK(std::isfinite(options.lr) && options.lr > 0, "--lr must be positive, got ", options.lr);
  LOOM_CHECK(std::isfinite(options.clip) && options.clip >= 0, "--clip must be >= 0, got ", options.clip);
  LOOM_CHECK(options.log_every >= 1, "--log-every must be positive, got ", options.log_every);
  LOOM_CHECK(options.sample_every >= 0 && options.checkpoint_every >= 0 && options.keep_checkpoints >= 0,
             "--sample-every, --checkpoint-every and --keep-checkpoints must be >= 0");
  check_device(options.device, model);
  make_schedule(options.schedule, options.lr, options.steps);  // validates the name
  if (validate) validate();
  if (dir.empty()) dir = default_run_dir(model);
  run.dir = std::make_unique<RunDir>(dir);
  LOOM_CHECK(!run.resume_from.empty() || run.dir->checkpoints().empty(), "run directory ", dir.string(),
             " already holds a run (", run.dir->checkpoints().back().second.filename().string(),
             "); continue it with --resume ", dir.string(), ", or give another --run-dir");

  run.settings = nlohmann::ordered_json::object();
  run.settings["model"] = model;
  const nlohmann::ordered_json options_json = binder.to_json();
  for (const auto& [key, value] : options_json.items()) run.settings[key] = value;
  run.settings["git_commit"] = git_commit();
  run.settings["start_time"] = utc_timestamp_iso();
  run.settings["resumed_from"] = run.resume_from.empty() ? nlohmann::ordered_json(nullptr)
                                                         : nlohmann::ordered_json(fs::absolute(run.resume_from).string());
  run.dir->write_settings(run.settings);
  return run;
}

void check_finite_state(const nn::TrainingCheckpoint& state) {
  std::string bad;
  for (const auto& [name, model] : state.models)
    if (bad.empty()) bad = first_non_finite(name + ".", model->state_dict());
  for (const auto& [name, optimizer] : state.optimizers)
    if (bad.empty()) bad = first_non_finite("optim." + name + ".", optimizer->state());
  LOOM_CHECK(bad.empty(), "refusing to write a checkpoint: ", bad, " is not finite");
}

TrainingLoop::TrainingLoop(RunSetup& run, const CommonOptions& options, nn::TrainingCheckpoint& state, LoopHooks hooks)
    : run_(run), options_(options), state_(state), hooks_(std::move(hooks)),
      schedule_(make_schedule(options.schedule, options.lr, options.steps)) {
  LOOM_CHECK(static_cast<bool>(hooks_.step), "TrainingLoop: no step function");
  if (!run.resume_from.empty()) {
    nn::load_checkpoint(run.resume_from.string(), state_);
    start_step_ = state_.step;
    if (hooks_.restore_data_cursor) hooks_.restore_data_cursor(state_.data_cursor);
    last_checkpoint_ = run.resume_from;
    LOOM_CHECK(start_step_ <= options.steps, "--resume: the checkpoint is at step ", start_step_,
               ", past --steps ", options.steps, "; give a larger --steps to train on");
  }
}

void TrainingLoop::save_checkpoint(int64_t steps_done) {
  if (hooks_.before_checkpoint) hooks_.before_checkpoint(steps_done);
  check_finite_state(state_);
  state_.step = steps_done;
  state_.data_cursor = hooks_.data_cursor ? hooks_.data_cursor() : "";
  state_.settings = run_.settings.dump();
  const fs::path path = run_.dir->checkpoint_path(steps_done);
  nn::save_checkpoint(path.string(), state_);
  last_checkpoint_ = path;
  run_.dir->prune_checkpoints(options_.keep_checkpoints);
}

void TrainingLoop::stop(Progress& progress, int64_t steps_done, const std::string& what) {
  const std::string kept = last_checkpoint_.empty() ? "no checkpoint was written before it"
                                                    : "the last good checkpoint is " + last_checkpoint_.string();
  const std::string message = "step " + std::to_string(steps_done) + ": " + what + "; the run stopped (" + kept + ")";
  progress.finish();
  run_.dir->log(message);  // the caller prints it (loom's main: "loom train: <message>")
  detail::throw_error(message);
}

fs::path TrainingLoop::run() {
  RunDir& dir = *run_.dir;
  MetricsLog metrics(dir.root(), run_.resume_from.empty() ? -1 : start_step_);
  Progress progress({.total_steps = options_.steps,
                     .log_every = options_.log_every,
                     .terminal = !options_.quiet && Progress::stdout_is_terminal(),
                     .out = options_.quiet ? nullptr : stdout,
                     .mirror = [&dir](const std::string& line) { dir.log(line); }},
                    start_step_);
  progress.message("loom train " + run_.model + ": run directory " + dir.root().string() +
                   (run_.resume_from.empty() ? "" : ", resuming from step " + std::to_string(start_step_) + " (" +
                                                        run_.resume_from.string() + ")"));
  for (int64_t step = start_step_; step < options_.steps; ++step) {
    if (schedule_)
      for (auto& [name, optimizer] : state_.optimizers) schedule_->apply(*optimizer, step);
    const int64_t steps_done = step + 1;
    Metrics values;
    try {
      values = hooks_.step(step);
    } catch (const Error& e) {  // e.g. clipping a non-finite gradient
      stop(progress, steps_done, e.what());
    }
    const std::string bad = first_non_finite_metric(values);
    if (!bad.empty() || is_due(steps_done, options_.log_every, options_.steps)) {
      metrics.write(steps_done, values);
      progress.update(steps_done, values);
    }
    if (!bad.empty()) stop(progress, steps_done, bad);
    if (hooks_.save_samples && is_due(steps_done, options_.sample_every, options_.steps))
      hooks_.save_samples(dir.sample_path(steps_done), steps_done);
    if (is_due(steps_done, options_.checkpoint_every, options_.steps)) save_checkpoint(steps_done);
  }
  progress.finish();
  progress.message("done: " + std::to_string(options_.steps) + " steps; checkpoint " + last_checkpoint_.string() +
                   "; samples in " + dir.samples_dir().string());
  return last_checkpoint_;
}

}  // namespace loom::train
