// run_dir.cpp: the run directory (see run_dir.h).
#include "trainers/run_dir.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "tensor/error.h"
#include "tensor/file_io.h"

namespace loom::train {
namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

bool is_commit_hash(const std::string& s) {
  return s.size() == 40 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// The git directory for a working tree at `dir`: dir/.git, or the folder a
// ".git" file names ("gitdir: <path>", as in worktrees and submodules).
fs::path git_dir_of(const fs::path& dir) {
  const fs::path dot_git = dir / ".git";
  if (fs::is_directory(dot_git)) return dot_git;
  const std::string text = trimmed(read_text(dot_git));
  if (text.rfind("gitdir: ", 0) != 0) return {};
  fs::path target = text.substr(8);
  return target.is_absolute() ? target : dir / target;
}

// A ref such as "refs/heads/main": the loose file, else packed-refs
// ("<hash> <ref>" lines). A worktree keeps shared refs in its commondir.
std::string resolve_ref(const fs::path& git_dir, const std::string& ref) {
  std::vector<fs::path> dirs{git_dir};
  const std::string common = trimmed(read_text(git_dir / "commondir"));
  if (!common.empty()) dirs.push_back(fs::path(common).is_absolute() ? fs::path(common) : git_dir / common);
  for (const fs::path& dir : dirs) {
    const std::string loose = trimmed(read_text(dir / ref));
    if (is_commit_hash(loose)) return loose;
    std::istringstream packed(read_text(dir / "packed-refs"));
    for (std::string line; std::getline(packed, line);)
      if (line.size() > 41 && line[40] == ' ' && trimmed(line.substr(41)) == ref && is_commit_hash(line.substr(0, 40)))
        return line.substr(0, 40);
  }
  return "";
}

std::string utc_format(const char* format) {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, format, &utc);
  return buffer;
}

constexpr const char* kStepPrefix = "step_";

std::string step_name(int64_t step, const char* extension) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s%07lld%s", kStepPrefix, static_cast<long long>(step), extension);
  return buffer;
}

// The files step_<digits>.safetensors in `dir`, sorted by step.
std::vector<std::pair<int64_t, fs::path>> step_checkpoints(const fs::path& dir) {
  std::vector<std::pair<int64_t, fs::path>> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string stem = entry.path().stem().string();
    if (!entry.is_regular_file() || entry.path().extension() != ".safetensors" || stem.rfind(kStepPrefix, 0) != 0) continue;
    const std::string digits = stem.substr(std::char_traits<char>::length(kStepPrefix));
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
    found.emplace_back(std::stoll(digits), entry.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace

std::string git_commit(const fs::path& start) {
  std::error_code ec;
  for (fs::path dir = fs::absolute(start, ec); !dir.empty(); dir = dir.parent_path()) {
    const fs::path git_dir = git_dir_of(dir);
    if (!git_dir.empty()) {
      const std::string head = trimmed(read_text(git_dir / "HEAD"));
      if (is_commit_hash(head)) return head;  // detached HEAD
      if (head.rfind("ref: ", 0) == 0) {
        const std::string hash = resolve_ref(git_dir, head.substr(5));
        if (!hash.empty()) return hash;
      }
      return "unknown";
    }
    if (dir == dir.root_path()) break;
  }
  return "unknown";
}

std::string utc_timestamp_iso() { return utc_format("%Y-%m-%dT%H:%M:%SZ"); }
std::string utc_timestamp_compact() { return utc_format("%Y%m%d-%H%M%S"); }

fs::path default_run_dir(const std::string& model) { return fs::path("runs") / (model + "-" + utc_timestamp_compact()); }

RunDir::RunDir(const fs::path& root) : root_(root) {
  LOOM_CHECK(!root.empty(), "run directory: empty path");
  LOOM_CHECK(!fs::exists(root) || fs::is_directory(root), "run directory ", root.string(), " exists and is not a folder");
  std::error_code ec;
  for (const fs::path& dir : {root_, samples_dir(), checkpoints_dir()}) {
    fs::create_directories(dir, ec);
    LOOM_CHECK(!ec, "run directory: cannot create ", dir.string(), ": ", ec.message());
  }
  log_ = std::make_unique<std::ofstream>(log_path(), std::ios::app);
  LOOM_CHECK(log_->good(), "run directory: cannot open ", log_path().string(), " for appending");
}

fs::path RunDir::sample_path(int64_t step) const { return samples_dir() / step_name(step, ".png"); }
fs::path RunDir::checkpoint_path(int64_t step) const { return checkpoints_dir() / step_name(step, ".safetensors"); }

void RunDir::write_settings(const nlohmann::ordered_json& settings) const {
  const std::string text = settings.dump(2) + "\n";
  write_file_atomically(settings_path().string(), text.data(), text.size(), "run directory: write settings");
}

void RunDir::log(const std::string& line) {
  *log_ << line << '\n';
  log_->flush();
}

std::vector<std::pair<int64_t, fs::path>> RunDir::checkpoints() const { return step_checkpoints(checkpoints_dir()); }

void RunDir::prune_checkpoints(int64_t keep) const {
  if (keep <= 0) return;
  const auto all = checkpoints();
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) fs::remove(all[i].second);
}

fs::path find_checkpoint(const fs::path& path) {
  LOOM_CHECK(fs::exists(path), "--resume: ", path.string(), " does not exist (give a run directory or a checkpoint file)");
  if (!fs::is_directory(path)) return path;
  LOOM_CHECK(fs::is_directory(path / "checkpoints"), "--resume: ", path.string(),
             " is not a run directory (it has no checkpoints/ folder)");
  const auto found = step_checkpoints(path / "checkpoints");
  LOOM_CHECK(!found.empty(), "--resume: run directory ", path.string(), " has no checkpoints (checkpoints/step_*.safetensors)");
  return found.back().second;
}

fs::path run_dir_of_checkpoint(const fs::path& checkpoint) {
  return fs::absolute(checkpoint).parent_path().parent_path();
}

}  // namespace loom::train
