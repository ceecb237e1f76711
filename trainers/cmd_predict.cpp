// cmd_predict.cpp: `loom predict`, anomaly maps or defect masks for a folder
// of images from a trained detector (predict.h).
//
//   loom predict RUN_DIR_OR_CHECKPOINT --in DIR --out DIR [--threshold X] [--batch 16]
#include <cstdio>
#include <memory>
#include <string>

#include "trainers/command.h"
#include "trainers/predict.h"

namespace {

struct PredictArgs {
  std::string run;
  loom::train::PredictOptions options;
};

loom::cli::CommandRegistration registration{
    "predict", [](CLI::App& app) {
      auto args = std::make_shared<PredictArgs>();
      auto* cmd = app.add_subcommand(
          "predict",
          "score every pixel of the images below a folder with a trained detector: anomaly maps "
          "(<name>_map.png, wae) or defect masks (<name>_mask.png, unet), and scores.csv (max of each map)");
      cmd->add_option("run", args->run, "a run directory (its newest checkpoint) or a checkpoint file")->required();
      cmd->add_option("--in", args->options.in_dir, "folder of images (searched at any depth)")->required();
      cmd->add_option("--out", args->options.out_dir, "folder for the maps, masks and scores.csv")->required();
      cmd->add_option("--threshold", args->options.threshold,
                      "anomaly maps: <name>_mask.png where the map >= X (default: the threshold stored by the run); "
                      "unet masks are p > 0.5");
      cmd->add_option("--batch", args->options.batch, "images scored at once")->capture_default_str();
      cmd->callback([args] {
        const loom::train::PredictResult result = loom::train::predict_folder(args->run, args->options);
        const bool maps = result.output == loom::train::PixelOutput::AnomalyMap;
        std::string what = maps ? "anomaly maps (the PNGs show a / " + std::to_string(result.map_scale) + ")"
                                : "defect masks (p > 0.5)";
        if (maps && result.threshold >= 0) what += " and masks (a >= " + std::to_string(result.threshold) + ")";
        std::printf("scored %zu images; %s in %s; scores in %s\n", result.images.size(), what.c_str(),
                    args->options.out_dir.c_str(), result.csv.string().c_str());
      });
    }};

}  // namespace
