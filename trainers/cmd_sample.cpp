// cmd_sample.cpp: `loom sample`, images from a trained generator (sample.h).
//
//   loom sample RUN_DIR_OR_CHECKPOINT --out sheet.png [--n 64] [--seed 0]
#include <cstdio>
#include <memory>

#include "trainers/command.h"
#include "trainers/sample.h"

namespace {

struct SampleArgs {
  std::string run;
  loom::train::SampleOptions options;
};

loom::cli::CommandRegistration registration{
    "sample", [](CLI::App& app) {
      auto args = std::make_shared<SampleArgs>();
      auto* cmd = app.add_subcommand(
          "sample",
          "draw new images from a trained generator (dcgan) into one PNG sheet; the model is rebuilt "
          "from the settings saved in its checkpoint");
      cmd->add_option("run", args->run, "a run directory (its newest checkpoint) or a checkpoint file")->required();
      cmd->add_option("--out", args->options.out, "the PNG sheet to write")->required();
      cmd->add_option("--n", args->options.n, "images on the sheet")->capture_default_str();
      cmd->add_option("--seed", args->options.seed, "seed of the noise (same seed, same images)")
          ->capture_default_str();
      cmd->callback([args] {
        const loom::Tensor images = loom::train::sample_run(args->run, args->options);
        std::printf("wrote %s: %lld images of %lldx%lld\n", args->options.out.c_str(),
                    static_cast<long long>(images.size(0)), static_cast<long long>(images.size(2)),
                    static_cast<long long>(images.size(3)));
      });
    }};

}  // namespace
