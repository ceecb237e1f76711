// cmd_train.cpp: `loom train <model>`, the parent of the trainers' subcommands
// (each registers itself from its own cmd_train_<model>.cpp; see
// train_command.h). The options every trainer shares are in trainer.h.
#include <algorithm>
#include <utility>
#include <vector>

#include "trainers/train_command.h"

namespace loom::cli {
namespace {

std::vector<std::pair<std::string, CommandSetup>>& train_registry() {
  static std::vector<std::pair<std::string, CommandSetup>> trainers;
  return trainers;
}

CommandRegistration registration{"train", [](CLI::App& app) {
  auto* train = app.add_subcommand(
      "train", "train a model; each writes a run directory (settings.json, train.log, metrics.csv/.jsonl, "
               "samples/, checkpoints/) and continues bit for bit with --resume");
  train->require_subcommand(1);
  auto trainers = train_registry();
  std::sort(trainers.begin(), trainers.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [model, setup] : trainers) setup(*train);
}};

}  // namespace

TrainCommandRegistration::TrainCommandRegistration(std::string model, CommandSetup setup) {
  train_registry().emplace_back(std::move(model), std::move(setup));
}

}  // namespace loom::cli
