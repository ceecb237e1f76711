// run_trainer.h: runs a trainer in this process exactly as `loom train <model>
// <args>` would: its options bound to a fresh command line, `args` parsed, and
// the trainer's train_<model> called. Used by `loom demo`, `loom pipeline` and
// the trainer tests.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "trainers/settings.h"

namespace loom::train {

// add: the trainer's add_<model>_options; train: its train_<model> (or any
// callable taking (SettingsBinder&, Options&)); returns what train returns (the
// run's last checkpoint).
template <class Options, class Train>
std::filesystem::path run_trainer(void (*add)(SettingsBinder&, Options&), Train train,
                                  const std::vector<std::string>& args) {
  CLI::App app;
  Options options;
  SettingsBinder binder(&app);
  add(binder, options);
  app.parse(std::vector<std::string>(args.rbegin(), args.rend()));  // CLI11 takes the arguments reversed
  return train(binder, options);
}

}  // namespace loom::train
