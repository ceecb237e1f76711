// metrics_log.cpp: metrics.csv and metrics.jsonl (see metrics_log.h).
#include "trainers/metrics_log.h"

#include <charconv>
#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tensor/error.h"
#include "trainers/text.h"

namespace loom::train {
namespace {

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

void write_lines(const std::filesystem::path& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc);
  LOOM_CHECK(out.good(), "metrics: cannot write ", path.string());
  for (const std::string& line : lines) out << line << '\n';
}

std::vector<std::string> split_commas(const std::string& line) {
  std::vector<std::string> parts;
  std::stringstream s(line);
  for (std::string part; std::getline(s, part, ',');) parts.push_back(part);
  return parts;
}

// Rewrites the files with the rows of step <= resume_step; returns the CSV's
// columns (without "step"), empty when it had no header.
std::vector<std::string> keep_rows_up_to(const std::filesystem::path& csv, const std::filesystem::path& jsonl,
                                         int64_t resume_step) {
  std::vector<std::string> lines = read_lines(csv), kept;
  std::vector<std::string> columns;
  if (!lines.empty()) {
    columns = split_commas(lines[0]);
    LOOM_CHECK(!columns.empty() && columns[0] == "step", "metrics: ", csv.string(), " does not start with a step column");
    columns.erase(columns.begin());
    kept.push_back(lines[0]);
    for (size_t i = 1; i < lines.size(); ++i)
      if (std::stoll(split_commas(lines[i]).at(0)) <= resume_step) kept.push_back(lines[i]);
  }
  write_lines(csv, kept);
  kept.clear();
  for (const std::string& line : read_lines(jsonl))
    if (nlohmann::json::parse(line).at("step").get<int64_t>() <= resume_step) kept.push_back(line);
  write_lines(jsonl, kept);
  return columns;
}

}  // namespace

std::string shortest_number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

MetricsLog::MetricsLog(const std::filesystem::path& dir, int64_t resume_step)
    : csv_path_(dir / "metrics.csv"), jsonl_path_(dir / "metrics.jsonl") {
  if (resume_step >= 0) columns_ = keep_rows_up_to(csv_path_, jsonl_path_, resume_step);
  const auto mode = resume_step >= 0 ? std::ios::app : std::ios::trunc;
  csv_.open(csv_path_, mode);
  jsonl_.open(jsonl_path_, mode);
  LOOM_CHECK(csv_.good() && jsonl_.good(), "metrics: cannot open ", csv_path_.string(), " and ", jsonl_path_.string());
}

void MetricsLog::write(int64_t step, const Metrics& values) {
  std::vector<std::string> keys;
  for (const auto& [name, value] : values) keys.push_back(name);
  if (columns_.empty()) {
    columns_ = keys;
    csv_ << "step";
    for (const std::string& name : columns_) csv_ << ',' << name;
    csv_ << '\n';
  }
  LOOM_CHECK(keys == columns_, "metrics: step ", step, " has the values [", join(keys, ", "),
             "], but the log's columns are [", join(columns_, ", "), "]");
  // JSON by hand to keep the column order (nlohmann::json sorts object keys).
  std::string json = "{\"step\":" + std::to_string(step);
  csv_ << step;
  for (const auto& [name, value] : values) {
    csv_ << ',' << shortest_number(value);
    json.append(1, ',').append(nlohmann::json(name).dump()).append(1, ':');
    json.append(std::isfinite(value) ? shortest_number(value) : "null");
  }
  csv_ << '\n';
  jsonl_ << json << "}\n";
  csv_.flush();
  jsonl_.flush();
}

}  // namespace loom::train
