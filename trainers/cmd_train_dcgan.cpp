// cmd_train_dcgan.cpp: `loom train dcgan` (the trainer is train_dcgan.h).
//
//   loom train dcgan [--steps 1000] [--batch 64] [--image 64] [--channels 3] [--width 64]
//                    [--nz 100] [--lr 2e-4] [--seed 0] [--data DIR] [--run-dir DIR]
//                    [--resume RUN_OR_CHECKPOINT] ... (--help lists all)
#include <memory>

#include "trainers/train_command.h"
#include "trainers/train_dcgan.h"

namespace {

struct DcganCommand {
  loom::train::DcganTrainOptions options;
  std::unique_ptr<loom::train::SettingsBinder> binder;
};

loom::cli::TrainCommandRegistration registration{"dcgan", [](CLI::App& train) {
  auto command = std::make_shared<DcganCommand>();
  auto* cmd = train.add_subcommand(
      "dcgan", "train a DCGAN (BCE, non-saturating G loss, Adam 2e-4, betas 0.5/0.999) on procedural fabric or --data; "
               "sample sheets from a fixed z");
  command->binder = std::make_unique<loom::train::SettingsBinder>(cmd);
  loom::train::add_dcgan_options(*command->binder, command->options);
  cmd->callback([command] { loom::train::train_dcgan(*command->binder, command->options); });
}};

}  // namespace
