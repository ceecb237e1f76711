// cmd_train_wae.cpp: `loom train wae` (the trainer is train_wae.h).
//
//   loom train wae [--steps 1000] [--batch 64] [--image 64] [--latent 64] [--width 64]
//                  [--lambda 10] [--sigma2 1] [--threshold-k 3] [--data DIR] ... (--help lists all)
#include <memory>

#include "trainers/train_command.h"
#include "trainers/train_wae.h"

namespace {

struct WaeCommand {
  loom::train::WaeTrainOptions options;
  std::unique_ptr<loom::train::SettingsBinder> binder;
};

loom::cli::TrainCommandRegistration registration{"wae", [](CLI::App& train) {
  auto command = std::make_shared<WaeCommand>();
  auto* cmd = train.add_subcommand(
      "wae", "train a WAE-MMD on defect-free images (procedural fabric or --data); the anomaly threshold "
             "(mean + k sigma on good validation images) goes into each checkpoint; sample sheets: input | "
             "reconstruction | residual");
  command->binder = std::make_unique<loom::train::SettingsBinder>(cmd);
  loom::train::add_wae_options(*command->binder, command->options);
  cmd->callback([command] { loom::train::train_wae(*command->binder, command->options); });
}};

}  // namespace
