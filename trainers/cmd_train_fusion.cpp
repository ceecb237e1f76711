// cmd_train_fusion.cpp: `loom train fusion` (the trainer is train_fusion.h).
//
//   loom train fusion [--steps 1000] [--batch 8] [--image 64] [--width 64] [--lambda 100]
//                     [--background shifted|other] [--dgt] [--run-dir DIR] [--resume RUN_OR_CHECKPOINT]
//                     ... (--help lists all)
#include <memory>

#include "trainers/train_command.h"
#include "trainers/train_fusion.h"

namespace {

struct FusionCommand {
  loom::train::FusionTrainOptions options;
  std::unique_ptr<loom::train::SettingsBinder> binder;
};

loom::cli::TrainCommandRegistration registration{"fusion", [](CLI::App& train) {
  auto command = std::make_shared<FusionCommand>();
  auto* cmd = train.add_subcommand(
      "fusion", "train the multistage GAN's stage 2: the defect-fusing U-Net T against a 70x70 PatchGAN "
                "(GAN + 100 L1, Adam 2e-4) on imperfect inputs made from procedural fabric defects; --dgt for the "
                "DGT encoding");
  command->binder = std::make_unique<loom::train::SettingsBinder>(cmd);
  loom::train::add_fusion_options(*command->binder, command->options);
  cmd->callback([command] { loom::train::train_fusion(*command->binder, command->options); });
}};

}  // namespace
