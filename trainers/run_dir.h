// run_dir.h: the run directory every `loom train X` writes.
//
//   <run>/settings.json        the resolved settings (every option, defaults filled), with
//                              "git_commit", "seed", "device", "start_time" (UTC, ISO 8601)
//   <run>/train.log            the progress lines and messages of the run (appended on resume)
//   <run>/metrics.csv          one row per logged step (metrics_log.h)
//   <run>/metrics.jsonl        the same rows as JSON objects
//   <run>/samples/             sample sheets, step_<NNNNNNN>.png
//   <run>/checkpoints/         training checkpoints, step_<NNNNNNN>.safetensors
//
// The default location is runs/<model>-<YYYYmmdd-HHMMSS> (UTC) under the
// current folder. The git commit is read from the files of the repository that
// holds the current folder (.git/HEAD, loose refs, packed-refs), without
// spawning git; "unknown" when there is none.
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace loom::train {

namespace fs = std::filesystem;

// The commit the repository containing `start` (or a parent of it) is at:
// 40 hex digits, or "unknown" when no .git is found or HEAD cannot be resolved.
std::string git_commit(const fs::path& start = fs::current_path());

// "2026-11-22T01:04:05Z" and "20261122-010405" for the current UTC time.
std::string utc_timestamp_iso();
std::string utc_timestamp_compact();

// "runs/<model>-<YYYYmmdd-HHMMSS>".
fs::path default_run_dir(const std::string& model);

class RunDir {
 public:
  // Creates `root`, samples/ and checkpoints/ (which may exist already: a
  // resumed run reopens its folder) and opens train.log for appending.
  explicit RunDir(const fs::path& root);

  const fs::path& root() const { return root_; }
  fs::path samples_dir() const { return root_ / "samples"; }
  fs::path checkpoints_dir() const { return root_ / "checkpoints"; }
  fs::path settings_path() const { return root_ / "settings.json"; }
  fs::path log_path() const { return root_ / "train.log"; }
  // "<samples>/step_0000100.png", "<checkpoints>/step_0000100.safetensors"
  fs::path sample_path(int64_t step) const;
  fs::path checkpoint_path(int64_t step) const;

  // Writes settings.json (pretty-printed, atomically).
  void write_settings(const nlohmann::ordered_json& settings) const;
  // Appends one line to train.log and flushes it.
  void log(const std::string& line);

  // The checkpoints in checkpoints/ named step_<N>.safetensors, by step.
  std::vector<std::pair<int64_t, fs::path>> checkpoints() const;
  // Deletes all but the `keep` newest checkpoints (keep 0: keeps all).
  void prune_checkpoints(int64_t keep) const;

 private:
  fs::path root_;
  std::unique_ptr<std::ofstream> log_;
};

// The newest checkpoint of a run directory (checkpoints/step_<N>.safetensors),
// or `path` itself when it is a file. Throws naming the path when there is none.
fs::path find_checkpoint(const fs::path& path);

// The run directory a checkpoint file belongs to: <run>/checkpoints/<file> -> <run>.
fs::path run_dir_of_checkpoint(const fs::path& checkpoint);

}  // namespace loom::train
