// train_command.h: how a trainer plugs into `loom train`. cmd_train.cpp adds
// the `train` subcommand; each trainers/cmd_train_<model>.cpp defines one static
// TrainCommandRegistration that adds its model's subcommand to it:
//
//   static loom::cli::TrainCommandRegistration reg{"dcgan", [](CLI::App& train) {
//     auto* cmd = train.add_subcommand("dcgan", "train a DCGAN on fabric images");
//     ... options, cmd->callback(...);
//   }};
//
// so a new trainer is one new file; nothing else changes. The subcommands are
// added in name order.
#pragma once
#include <string>

#include "trainers/command.h"

namespace loom::cli {

struct TrainCommandRegistration {
  TrainCommandRegistration(std::string model, CommandSetup setup);
};

}  // namespace loom::cli
