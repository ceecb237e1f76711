// cmd_eval.cpp: `loom eval`, a trained detector scored on a dataset's test
// split per category and defect type (evaluate.h).
//
//   loom eval RUN_DIR_OR_CHECKPOINT --data DIR --out DIR [--category NAME ...]
//             [--threshold T | --val-share F [--seed N]] [--max-fpr 0.3] [--gallery 3] [--batch 16] [--quiet]
#include <cmath>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include "trainers/command.h"
#include "trainers/evaluate.h"

namespace {

loom::cli::CommandRegistration registration{
    "eval", [](CLI::App& app) {
      auto options = std::make_shared<loom::eval::EvalOptions>();
      auto* cmd = app.add_subcommand(
          "eval",
          "score a trained detector (a unet run: defect probability; a wae run: anomaly map) on every test image "
          "of a dataset in the MVTec AD, DAGM or AITEX layout; per category and per defect type: image AUROC, "
          "pixel AUROC, AUPRO, pixel F1 at the best threshold and at the chosen one, IoU at the chosen one. "
          "Writes eval.json, eval.md and gallery.png");
      cmd->add_option("detector", options->detector,
                      "a unet or wae run directory (its newest checkpoint) or checkpoint file")
          ->required();
      cmd->add_option(
             "--data", options->data,
             "the dataset root (MVTec AD: <cat>/test/<defect>/*.png with <cat>/ground_truth/<defect>/"
             "<name>_mask.png; DAGM 2007; AITEX, which has no split: every image is scored); images are resized "
             "bilinear to the detector's size, masks so that no defect vanishes (a shrunk pixel is a defect "
             "when any pixel of its block is)")
          ->required();
      cmd->add_option("--out", options->out_dir, "folder for eval.json, eval.md and gallery.png (created)")->required();
      cmd->add_option("--category", options->categories,
                      "evaluate only this category (repeat for several; default: every category with test images)");
      auto threshold = std::make_shared<double>(0);
      auto* threshold_option =
          cmd->add_option("--threshold", *threshold,
                          "the threshold t (>= 0) of the F1@t and IoU@t columns (a pixel is a defect where score >= "
                          "t); default: the run's own (wae: mean + k sd of defect-free validation maps, stored in its "
                          "checkpoint), 0.5 for unet probabilities")
              ->check(
                  [](const std::string& text) -> std::string {
                    double t = std::nan("");
                    try {
                      t = std::stod(text);
                    } catch (const std::exception&) {
                    }
                    if (t >= 0) return "";  // (NaN fails too)
                    return "must be a number >= 0 (a pixel is a defect where its score >= t), got " + text;
                  },
                  "T >= 0");
      cmd->add_option("--val-share", options->val_share,
                      "instead choose t on validation data: hold out this share (0 < F < 1) of each category's test "
                      "images (per defect type, at most all but one), take the best-F1 threshold on them and report "
                      "the other images")
          ->capture_default_str();
      cmd->add_option("--seed", options->seed, "seed of the --val-share hold-out (Philox)")->capture_default_str();
      cmd->add_option("--max-fpr", options->max_fpr, "AUPRO integrates the PRO curve up to this false positive rate")
          ->capture_default_str();
      cmd->add_option("--gallery", options->gallery,
                      "gallery.png shows this many best and as many worst defective images by pixel F1 at t "
                      "(image | ground truth | map | mask); 0: no gallery (a gallery.png of an earlier run in --out is "
                      "removed)")
          ->capture_default_str();
      cmd->add_option("--batch", options->batch, "images scored at once")->capture_default_str();
      cmd->add_flag("--quiet", options->quiet, "no progress lines on stderr");
      cmd->callback([options, threshold, threshold_option] {
        if (threshold_option->count() > 0) options->threshold = *threshold;
        const loom::eval::EvalReport report = loom::eval::evaluate_detector(*options);
        std::printf("%s\nthreshold t = %.6g: %s\n", report.table.c_str(), report.threshold,
                    report.threshold_source.c_str());
        std::printf("wrote %s\nwrote %s\n", report.json_path.string().c_str(), report.markdown_path.string().c_str());
        if (!report.gallery_path.empty()) std::printf("wrote %s\n", report.gallery_path.string().c_str());
        if (!report.removed_gallery_path.empty())
          std::printf("removed %s (an earlier run's gallery; --gallery 0 writes none)\n",
                      report.removed_gallery_path.string().c_str());
      });
    }};

}  // namespace
