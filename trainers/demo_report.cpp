// demo_report.cpp: the markdown report of `loom demo` (see demo_report.h).
#include "trainers/demo_report.h"

#include <cstdio>
#include <fstream>

#include "tensor/error.h"
#include "trainers/run_dir.h"

namespace loom::train {
namespace {

std::string seconds_text(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f s", seconds);
  return buffer;
}

}  // namespace

void write_demo_report(const std::filesystem::path& path, const DemoOptions& options, const DemoResult& result) {
  std::ofstream md(path);
  LOOM_CHECK(md.good(), "loom demo: cannot write ", path.string());
  md << "# loom demo\n\n"
     << "Small versions of loom's models trained on the CPU on procedural fabric"
     << (options.tiny ? " (--tiny: a few steps only, a test of the pipeline, not of the models)" : "") << ", written "
     << utc_timestamp_iso() << " at commit `" << git_commit() << "`, seed " << options.seed << ", in "
     << seconds_text(result.seconds) << " wall time. These are minutes-long runs of small models: the "
     << "sheets show what a few hundred steps learn, not what the models can do (`loom train <model>` with more "
     << "steps and wider networks trains them properly).\n\n"
     << "| stage | steps | time | final metrics |\n|---|---:|---:|---|\n";
  for (const DemoStage& stage : result.stages)
    md << "| " << stage.name << " | " << (stage.steps > 0 ? std::to_string(stage.steps) : "") << " | "
       << seconds_text(stage.seconds) << " | " << stage.final_metrics << " |\n";
  if (!result.detections.empty()) {
    md << "\nDetection on the procedural test split (every test image, good ones included; pixel level against "
          "the ground-truth masks):\n\n| detector | mask | pixel IoU | pixel F1 |\n|---|---|---:|---:|\n";
    for (const DemoDetection& d : result.detections) {
      char scores[64];
      std::snprintf(scores, sizeof scores, "%.3f | %.3f", d.iou, d.f1);
      md << "| " << d.model << " | " << d.mask_rule << " | " << scores << " |\n";
    }
  }
  md << "\n";
  for (const DemoStage& stage : result.stages) {
    md << "## " << stage.name << "\n\n" << stage.summary << ".\n\n";
    if (!stage.command.empty()) md << "    " << stage.command << "\n\n";
    if (!stage.final_metrics.empty()) md << "Last logged step: " << stage.final_metrics << ".\n\n";
    if (!stage.scores.empty()) md << "Detection on the test split: " << stage.scores << ".\n\n";
    for (const std::filesystem::path& sheet : stage.sheets)
      md << "![" << sheet.stem().string() << "](" << sheet.generic_string() << ")\n\n";
  }
  md << "Each training run's folder holds its settings.json, train.log, metrics.csv and checkpoint; "
     << "`loom sample RUN --n 64 --out FILE.png` draws from a generator and `loom predict RUN --in DIR --out DIR` "
     << "scores a folder of images with a detector.\n";
  LOOM_CHECK(md.good(), "loom demo: writing ", path.string(), " failed");
}

}  // namespace loom::train
