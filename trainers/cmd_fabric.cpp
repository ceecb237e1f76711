// cmd_fabric.cpp: `loom fabric`, a procedural woven-fabric dataset in the MVTec
// AD layout and the documentation's sample sheet (data/fabric/dataset.h).
//
//   loom fabric --out DIR [--n 100] [--n-test 20] [--size 256] [--seed 0]
//               [--categories all|a,b,...] [--defects all|a,b,...]
//               [--tileable] [--force] [--sheet FILE.png] [--sheet-size 112]
//   loom fabric --sheet docs/fabric_samples.png       (the sheet only)
//   loom fabric --list                                (categories and defects)
//
// Writes, per category: DIR/<category>/train/good/NNN.png (--n),
// test/good/NNN.png and test/<defect>/NNN.png (--n-test each) and
// ground_truth/<defect>/NNN_mask.png (0/255). Refuses a non-empty DIR unless
// --force, which overwrites files of the same names and keeps the others.
#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "data/fabric/dataset.h"
#include "data/fabric/presets.h"
#include "data/image.h"
#include "tensor/error.h"
#include "trainers/command.h"
#include "trainers/text.h"

namespace {

namespace fab = loom::data::fabric;

struct Args {
  std::string out_dir, categories = "all", defects = "all", sheet;
  int64_t n = 100, n_test = 20, size = 256, sheet_size = 112;
  uint64_t seed = 0;
  bool tileable = false, force = false, list = false;
};

std::vector<std::string> split_commas(const std::string& spec) {
  std::vector<std::string> parts;
  std::stringstream stream(spec);
  for (std::string part; std::getline(stream, part, ',');)
    if (!part.empty()) parts.push_back(part);
  return parts;
}

std::vector<std::string> defect_names() {
  std::vector<std::string> names;
  for (fab::DefectKind k : fab::defect_kinds()) names.push_back(fab::defect_name(k));
  return names;
}

void run(const Args& args) {
  if (args.list) {
    std::cout << "categories: " << loom::train::join(fab::fabric_categories(), ", ")
              << "\ndefects: " << loom::train::join(defect_names(), ", ") << "\n";
    return;
  }
  LOOM_CHECK(!args.out_dir.empty() || !args.sheet.empty(), "give --out DIR (a dataset), --sheet FILE.png, or both");
  const auto start = std::chrono::steady_clock::now();
  if (!args.out_dir.empty()) {
    fab::FabricDatasetOptions options;
    options.out_dir = args.out_dir;
    if (args.categories != "all") options.categories = split_commas(args.categories);
    if (args.defects != "all")
      for (const std::string& name : split_commas(args.defects)) options.defects.push_back(fab::defect_from_name(name));
    options.n_train = args.n;
    options.n_test = args.n_test;
    options.size = args.size;
    options.seed = args.seed;
    options.tileable = args.tileable;
    options.force = args.force;
    const int64_t written = fab::write_fabric_dataset(options, [](const std::string& line) {
      std::cout << "loom fabric: " << line << "\n" << std::flush;
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "done: " << written << " images in " << seconds << " s\n";
  }
  if (!args.sheet.empty()) {
    loom::data::save_png(args.sheet, fab::fabric_sample_sheet(args.sheet_size, args.seed));
    std::cout << "sample sheet: " << args.sheet << "\n";
  }
}

loom::cli::CommandRegistration registration{
    "fabric", [](CLI::App& app) {
      auto args = std::make_shared<Args>();
      auto* cmd = app.add_subcommand(
          "fabric",
          "write a procedural woven-fabric dataset with defects and exact masks in the MVTec AD layout: "
          "OUT/<category>/{train/good,test/good,test/<defect>,ground_truth/<defect>}");
      cmd->add_option("--out", args->out_dir, "output root (must be empty unless --force)");
      cmd->add_option("--n", args->n, "train/good images per category (0 for none)")->capture_default_str();
      cmd->add_option("--n-test", args->n_test, "test/good images, and test images per defect class, per category")
          ->capture_default_str();
      cmd->add_option("--size", args->size, "image side in pixels, 16..4096")->capture_default_str();
      cmd->add_option("--seed", args->seed, "Philox seed")->capture_default_str();
      cmd->add_option("--categories", args->categories,
                      "'all' or a comma-separated list of: " + loom::train::join(fab::fabric_categories(), ", "))
          ->capture_default_str();
      cmd->add_option("--defects", args->defects,
                      "'all' or a comma-separated list of: " + loom::train::join(defect_names(), ", "))
          ->capture_default_str();
      cmd->add_flag("--tileable", args->tileable, "render fabrics that tile seamlessly");
      cmd->add_flag("--force", args->force,
                    "write into a non-empty --out folder (files of the same names are overwritten, others kept)");
      cmd->add_option("--sheet", args->sheet,
                      "also (or only) write a sample sheet PNG: each category with each defect, "
                      "defects outlined in magenta");
      cmd->add_option("--sheet-size", args->sheet_size, "image side on the sample sheet, 16..4096")
          ->capture_default_str();
      cmd->add_flag("--list", args->list, "list the categories and defect classes and exit");
      cmd->callback([args] { run(*args); });
    }};

}  // namespace
