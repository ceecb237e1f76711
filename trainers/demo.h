// demo.h: `loom demo`, the README's main job: on the CPU, in about five
// minutes, from nothing but the program itself,
//   1. data      a small procedural fabric dataset in the MVTec AD layout
//                (data/fabric/dataset.h): one category, 64 x 64, train/good,
//                test/good and test/<defect> with masks, and a few defect-free
//                validation images of the same fabric from another seed
//   2. training  small versions of the models, each by its own trainer in
//                this process (exactly what `loom train <model> ...` runs; the
//                report gives each command line): dcgan, wae and unet on the
//                dataset's train/good images (unet given synthesized defects),
//                cgan and fusion (tiny) on their own procedural defect scenes
//   3. sheets    each model's sample sheet; `loom sample` on the DCGAN run
//   4. predict   `loom predict` with the detectors on the test split, and a
//                pixel-level IoU and F1 of their masks against the ground truth
//                over every test image (good ones included): the U-Net's mask
//                is p > 0.5; the WAE's is a >= mean + 3 sigma of its maps on
//                the validation images
//   5. report    DIR/report.md: what ran, steps, final losses, time per stage,
//                links to the sheets, the detection scores
// Training steps scale with --minutes (5: the default budget); --tiny runs a
// few steps of every stage at the smallest sizes (seconds: the tests).
//
// DIR (runs/demo) may be empty, missing, or an earlier demo's folder (marked by
// the file .loom-demo): the folders the demo writes are then replaced.
// Anything else is refused.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace loom::train {

struct DemoOptions {
  std::string out = "runs/demo";
  double minutes = 5;  // the time budget the step counts are made for (on a 2-core CPU)
  bool tiny = false;   // a few steps at the smallest sizes
  bool quiet = false;  // no progress on stdout
  uint64_t seed = 0;
};

// One stage of the demo, as the report shows it.
struct DemoStage {
  std::string name;                           // "data", "dcgan", ...
  std::string summary;                        // what it did, one line
  std::string command;                        // the equivalent loom command line
  int64_t steps = 0;                          // training steps (0: not a training stage)
  double seconds = 0;                         // wall time
  std::string final_metrics;                  // the last metrics row, "lossD 1.23, lossG 0.81, ..."
  std::vector<std::filesystem::path> sheets;  // images it wrote (relative to the demo folder)
  std::string scores;                         // detection: "pixel IoU 0.41, F1 0.58 (threshold ...)"
};

// A detector's pixel-level scores on the test split (every test image).
struct DemoDetection {
  std::string model;      // "wae", "unet"
  std::string mask_rule;  // how its mask was made: "p > 0.5", "a >= 0.19 (mean + 3 sd ...)"
  double iou = 0, f1 = 0;
};

struct DemoResult {
  std::filesystem::path report;  // DIR/report.md
  std::vector<DemoStage> stages;
  std::vector<DemoDetection> detections;
  double seconds = 0;  // all stages
};

DemoResult run_demo(const DemoOptions& options);

}  // namespace loom::train
