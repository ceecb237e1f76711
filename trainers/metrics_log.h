// metrics_log.h: the metrics of a run, one row per logged step, in two files:
//   metrics.csv    "step,lossD,lossG,..." then one line per row
//   metrics.jsonl  {"step":10,"lossD":1.2345,...} per line
// The columns are the first row's keys, in their order; a later row must have
// the same keys (a row with a different set is refused, naming the keys).
// Numbers are written in the shortest form that reads back to the same double
// (std::to_chars); a non-finite value is "nan"/"inf"/"-inf" in the CSV and null
// in the JSON. Both files are flushed after every row.
//
// Resuming: opening with `resume_step` >= 0 keeps the rows of both files whose
// step is <= resume_step (the ones the checkpoint had seen), drops later ones
// (written after the checkpoint by the run that stopped) and appends; the CSV
// header is kept. resume_step < 0 starts both files afresh.
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "trainers/progress.h"

namespace loom::train {

// Shortest round-trip text of a double ("0.1", "1e-07", "nan").
std::string shortest_number(double value);

class MetricsLog {
 public:
  MetricsLog(const std::filesystem::path& dir, int64_t resume_step = -1);
  void write(int64_t step, const Metrics& values);
  std::filesystem::path csv_path() const { return csv_path_; }
  std::filesystem::path jsonl_path() const { return jsonl_path_; }

 private:
  std::filesystem::path csv_path_, jsonl_path_;
  std::vector<std::string> columns_;  // without "step"; empty until the first row
  std::ofstream csv_, jsonl_;
};

}  // namespace loom::train
