// cmd_train_unet.cpp: `loom train unet` (the trainer is train_unet.h).
//
//   loom train unet [--steps 1000] [--batch 64] [--image 64] [--width 64] [--depth 4]
//                   [--synth all] [--fabric-defects] [--class-head] [--focal] [--data DIR] ... (--help lists all)
#include <memory>

#include "trainers/train_command.h"
#include "trainers/train_unet.h"

namespace {

struct UnetCommand {
  loom::train::UnetTrainOptions options;
  std::unique_ptr<loom::train::SettingsBinder> binder;
};

loom::cli::TrainCommandRegistration registration{"unet", [](CLI::App& train) {
  auto command = std::make_shared<UnetCommand>();
  auto* cmd = train.add_subcommand(
      "unet", "train a U-Net segmenter (BCE + Dice, Adam 1e-3) on defects synthesized into procedural fabric or "
              "--data images (--synth), with exact masks; sample sheets: image | mask | prediction");
  command->binder = std::make_unique<loom::train::SettingsBinder>(cmd);
  loom::train::add_unet_options(*command->binder, command->options);
  cmd->callback([command] { loom::train::train_unet(*command->binder, command->options); });
}};

}  // namespace
