// cmd_pipeline.cpp: `loom pipeline`, the multistage GAN's three stages end to
// end, resumable, everything in one run directory (pipeline.h).
//
//   loom pipeline [--run-dir RUN] [--source DIR --target DIR] [--samples 240]
//                 [--cgan-steps 2500] [--fusion-steps 1200] [--unet-steps 2500] ... (--help lists all)
//   loom pipeline --resume RUN        (or --run-dir RUN again) continues it
#include <memory>

#include "trainers/command.h"
#include "trainers/pipeline.h"

namespace {

struct PipelineCommand {
  loom::eval::PipelineOptions options;
  std::unique_ptr<loom::train::SettingsBinder> binder;
};

loom::cli::CommandRegistration registration{
    "pipeline", [](CLI::App& app) {
      auto command = std::make_shared<PipelineCommand>();
      auto* cmd = app.add_subcommand(
          "pipeline",
          "the multistage GAN end to end: stage 1 cgan_gram and stage 2 fusion on the source's defects, stage 3 "
          "synthetic defects on the target textures with exact masks, a U-Net trained on them and evaluated on the "
          "target's test split; each stage resumable (procedural fabric by default, about 20 minutes on 2 cores)");
      command->binder = std::make_unique<loom::train::SettingsBinder>(cmd);
      loom::eval::add_pipeline_options(*command->binder, command->options);
      cmd->callback([command] { loom::eval::run_pipeline(*command->binder, command->options); });
    }};

}  // namespace
