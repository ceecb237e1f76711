// cmd_train_cgan.cpp: `loom train cgan` (the trainer is train_cgan.h).
//
//   loom train cgan [--steps 1000] [--batch 64] [--image 64] [--width 64] [--nz 100]
//                   [--vgg19 FILE] [--data MVTEC_DIR] [--run-dir DIR] [--resume RUN_OR_CHECKPOINT]
//                   ... (--help lists all)
#include <memory>

#include "trainers/train_cgan.h"
#include "trainers/train_command.h"

namespace {

struct CganCommand {
  loom::train::CganTrainOptions options;
  std::unique_ptr<loom::train::SettingsBinder> binder;
};

loom::cli::TrainCommandRegistration registration{"cgan", [](CLI::App& train) {
  auto command = std::make_shared<CganCommand>();
  auto* cmd = train.add_subcommand(
      "cgan", "train the multistage GAN's stage 1: defect crops conditioned on the Gram matrices of a defect-free "
              "patch (random seeded texture extractor, or VGG19 with --vgg19); procedural fabric or MVTec AD --data");
  command->binder = std::make_unique<loom::train::SettingsBinder>(cmd);
  loom::train::add_cgan_options(*command->binder, command->options);
  cmd->callback([command] { loom::train::train_cgan(*command->binder, command->options); });
}};

}  // namespace
