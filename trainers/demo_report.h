// demo_report.h: the markdown report of `loom demo` (DIR/report.md): what ran
// (one table row per stage: steps, wall time, final losses), each stage's
// command line, links to the sheets, and the detection scores.
#pragma once
#include <filesystem>

#include "trainers/demo.h"

namespace loom::train {

void write_demo_report(const std::filesystem::path& path, const DemoOptions& options, const DemoResult& result);

}  // namespace loom::train
