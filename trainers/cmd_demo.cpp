// cmd_demo.cpp: `loom demo`, the README's main job (demo.h): procedural
// fabric, small models trained on it, their sheets, detection scores and a
// markdown report, in about five minutes on a 2-core CPU.
//
//   loom demo [--out runs/demo] [--minutes 5] [--seed 0] [--tiny] [--quiet]
#include <memory>

#include "trainers/command.h"
#include "trainers/demo.h"

namespace {

loom::cli::CommandRegistration registration{
    "demo", [](CLI::App& app) {
      auto options = std::make_shared<loom::train::DemoOptions>();
      auto* cmd = app.add_subcommand(
          "demo",
          "write a small procedural fabric dataset, train small versions of the models on it (CPU, about 5 "
          "minutes), write their sample sheets, score the detectors on the test split and write report.md");
      cmd->add_option("--out", options->out, "folder for everything (empty, new, or an earlier demo's)")
          ->capture_default_str();
      cmd->add_option("--minutes", options->minutes, "time budget: the training steps scale with it")
          ->capture_default_str();
      cmd->add_option("--seed", options->seed, "seed of the data and of every model")->capture_default_str();
      cmd->add_flag("--tiny", options->tiny, "a few steps at the smallest sizes (seconds; a test of the pipeline)");
      cmd->add_flag("--quiet", options->quiet, "no progress output");
      cmd->callback([options] { loom::train::run_demo(*options); });
    }};

}  // namespace
