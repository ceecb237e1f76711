// pipeline.h: `loom pipeline`, the multistage GAN (Liu et al., "Multistage GAN
// for Fabric Defect Detection", IEEE TIP 2020) end to end, every stage
// resumable and every artifact kept in one run directory RUN:
//
//   data              (procedural only) write_fabric_dataset into RUN/data/source
//                     (--source-categories) and RUN/data/target (the other
//                     categories, or --target-categories), MVTec AD layout.
//                     With --source/--target those folders are used instead.
//   stage1_cgan       `loom train cgan --data SOURCE`: defect crops of the
//                     source's defective test images, conditioned on the Gram
//                     matrices of their defect-free surroundings: a window of
//                     the same image beside the defect (a train/good window of
//                     the category only where there is no room; the counts are
//                     recorded) (mvtec_defect_crops.h) -> RUN/stage1_cgan (a run directory)
//   stage2_fusion     `loom train fusion --data SOURCE`: T learns to fuse a
//                     pasted defect window into the real defective image
//                     -> RUN/stage2_fusion
//   stage3_synthetic  on the TARGET categories (whose defects no stage saw):
//                     G's crops conditioned on each target image's own Gram
//                     matrix, pasted, fused by T, masked by the fused region
//                     (pipeline_synthesis.h) -> RUN/stage3_synthetic (MVTec AD
//                     layout: <cat>/train/good, test/gan, ground_truth/gan),
//                     RUN/stage3_sheet.png, RUN/stage3_samples.json
//   stage3_unet       `loom train unet --data RUN/stage3_synthetic --defect-data
//                     RUN/stage3_synthetic --synth none`: good images from the
//                     target's train/good, every defect from stage 3
//                     -> RUN/stage3_unet
//   stage3_eval       `loom eval` (evaluate.h) of the U-Net on the target's test
//                     split (real defects of textures it never saw defective)
//                     -> RUN/stage3_eval/{eval.json, eval.md, gallery.png}
//
// RUN/pipeline.json holds the settings (every option, as settings.json of a
// trainer) and each stage's state ("pending", "running", "done"), time,
// command and summary, rewritten atomically whenever a stage starts or ends.
// A stage's "command" is a shell line that does the same from the command
// line (`loom fabric ... && loom fabric ...`, `loom train ...`, `loom eval ...`;
// stage3_synthetic has none). A damaged pipeline.json is refused naming the
// file and how to recover.
// Running `loom pipeline --run-dir RUN` (or --resume RUN) again restores the
// saved settings (an explicitly given different value is refused, as on a
// trainer's --resume), skips the stages that are done, resumes an interrupted
// training stage from its newest checkpoint (the trainer's --resume), and
// redoes an interrupted data, synthesis or eval stage from scratch (they are
// deterministic). A run directory that is not empty must be a pipeline's
// (pipeline.json) or hold only the pipeline's own entries.
//
// Inputs are checked before the stages run; each error names what is wrong:
// a source without defective test images (with masks) or without train/good
// images, a target that is the source's folder or shares a category with it
// (its defects must stay unseen until the evaluation), a target without a category, a target category without train/good
// images or a target without defective test images to evaluate on, a mask
// whose size differs from its image's, and a stage's run directory holding a
// checkpoint of another model.
//
// The default sizes (64 px images, 32 px defect crops, widths 16/16/8,
// 2500/1200/2500 steps for cgan/fusion/U-Net, 240 synthetic samples) are made
// for about 20 minutes on 2 CPU cores.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "trainers/evaluate.h"
#include "trainers/settings.h"

namespace loom::eval {

struct PipelineOptions {
  std::string run_dir;         // empty: runs/pipeline-<time>; an existing pipeline's: it is continued
  std::string resume;          // an existing pipeline run directory to continue
  std::string source, target;  // MVTec AD datasets; empty: procedural fabric
  std::string source_categories = "plain_gray,twill_denim,twill_khaki,satin_silk";  // procedural source
  std::string target_categories;  // procedural: the other categories; with --target: a filter (empty: all)
  int64_t fabric_size = 64;       // procedural images' side
  int64_t fabric_train = 40;      // procedural train/good images per category
  int64_t fabric_test = 6;        // procedural test/good images, and test images per defect kind, per category
  uint64_t seed = 0;
  int64_t image = 64;  // S of stage 2, stage 3 and the U-Net
  int64_t crop = 32;   // S_c of stage 1's defect crops
  int64_t cgan_steps = 2500, cgan_width = 16, cgan_batch = 16;
  std::string vgg19;  // stage 1's texture extractor (empty: the random one)
  int64_t fusion_steps = 1200, fusion_width = 16, fusion_batch = 8;
  int64_t samples = 240;       // stage 3's synthetic samples
  std::string mask = "fused";  // fused | box
  double window_min = 0.35, window_max = 0.55;
  int64_t unet_steps = 2500, unet_width = 8, unet_depth = 3, unet_batch = 8;
  double good_share = 0.2;
  double eval_val_share = 0;  // loom eval --val-share
  bool quiet = false;
};

void add_pipeline_options(train::SettingsBinder& binder, PipelineOptions& options);

struct PipelineStage {
  std::string name;      // "data", "stage1_cgan", ...
  std::string state;     // "done" at the end of a successful run
  bool skipped = false;  // done by an earlier invocation
  double seconds = 0;    // this invocation's time (0 when skipped)
};

struct PipelineResult {
  std::filesystem::path run_dir;
  std::vector<PipelineStage> stages;
  EvalReport eval;             // stage3_eval's report when it ran in this invocation
  bool evaluated_now = false;  // false: eval was done earlier (its files are in RUN/stage3_eval)
};

// The `loom eval` shell line that evaluates what `options` says (the fields
// the pipeline sets: detector, data, out_dir, one --category per category,
// --val-share and --seed when val_share > 0), each word quoted for a POSIX
// shell where it needs it: stage3_eval's recorded command.
std::string eval_command_line(const EvalOptions& options);

// Runs (or continues) the pipeline. `binder` holds the options (bound with
// add_pipeline_options) so that a continued run restores the saved settings.
PipelineResult run_pipeline(train::SettingsBinder& binder, PipelineOptions& options);

}  // namespace loom::eval
