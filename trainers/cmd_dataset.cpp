// cmd_dataset.cpp: `loom dataset`, commands about dataset folders. Each action
// is its own sub-subcommand added in register_dataset below, so more can join
// `info`:
//
//   loom dataset info DIR [--json]   counts, mask coverage and layout problems
//                                    (data/dataset_summary.h)
#include <iostream>
#include <memory>
#include <string>

#include "data/dataset_summary.h"
#include "trainers/command.h"

namespace {

void add_info(CLI::App& dataset) {
  struct Args {
    std::string dir;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* info = dataset.add_subcommand(
      "info",
      "count the images of a dataset folder (MVTec AD, DAGM 2007 or AITEX layout) per category, split and "
      "defect type, measure the mean share of pixels its masks mark, and list layout problems");
  info->add_option("dir", args->dir, "the dataset root")->required();
  info->add_flag("--json", args->json, "print JSON instead of a table");
  info->callback([args] {
    const loom::data::DatasetSummary summary = loom::data::summarize_dataset(args->dir);
    if (args->json)
      std::cout << loom::data::format_summary_json(summary) << "\n";
    else
      std::cout << loom::data::format_summary_table(summary);
  });
}

loom::cli::CommandRegistration registration{"dataset", [](CLI::App& app) {
                                              auto* dataset = app.add_subcommand("dataset", "inspect dataset folders");
                                              dataset->require_subcommand(1);
                                              add_info(*dataset);
                                            }};

}  // namespace
