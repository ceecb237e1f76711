// dataset_summary.cpp: counting a dataset's images, measuring its masks and
// formatting the result (see dataset_summary.h).
#include "data/dataset_summary.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <tuple>
#include <utility>

#include "data/layout.h"
#include "tensor/error.h"

namespace loom::data {

namespace {

// What reading one defective image's mask gave: its share, or a problem.
struct MaskReading {
  bool measured = false;
  double share = 0.0;  // (pixels marked) / (pixels)
  std::optional<LayoutIssue> issue;
};

MaskReading read_mask(const SampleFile& file) {
  MaskReading reading;
  if (file.label == 0 || file.mask_paths.empty()) return reading;  // good, or already reported as missing
  try {
    const ImageInfo image = read_image_info(file.image_path);
    const Tensor mask = load_mask(file.mask_paths, file.image_path);  // (1, H, W) 0/1
    const int64_t height = mask.size(1), width = mask.size(2);
    if (height != image.height || width != image.width) {
      reading.issue =
          LayoutIssue{LayoutIssue::Kind::SizeMismatch, file.mask_paths[0],
                      mask_size_mismatch(file.mask_paths[0], width, height, file.image_path, image.width, image.height),
                      file.category, file.split};
      return reading;
    }
    const float* m = mask.data<float>();
    double marked = 0.0;
    for (int64_t i = 0; i < mask.numel(); ++i) marked += m[i];
    reading.share = marked / static_cast<double>(mask.numel());
    reading.measured = true;
  } catch (const std::exception& e) {
    reading.issue = LayoutIssue{LayoutIssue::Kind::Unreadable, file.image_path, e.what(), file.category, file.split};
  }
  return reading;
}

// read_mask for every file, on `threads` threads; readings[i] belongs to files[i].
std::vector<MaskReading> read_masks(const std::vector<SampleFile>& files, int threads) {
  std::vector<MaskReading> readings(files.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < files.size();) readings[i] = read_mask(files[i]);
  };
  if (threads <= 0) threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  return readings;
}

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

std::string percent(double share) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f%%", 100.0 * share);
  return text;
}

// Left-aligned text columns, right-aligned number columns, two spaces apart.
std::string format_columns(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right_align) {
  std::vector<size_t> width(right_align.size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::ostringstream out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const std::string pad(width[c] - row[c].size(), ' ');
      line += (c ? "  " : "") + (right_align[c] ? pad + row[c] : row[c] + pad);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
  return out.str();
}

}  // namespace

DatasetSummary summarize_dataset(const std::string& root, int threads) {
  const DatasetScan scan = scan_dataset(root);
  DatasetSummary summary;
  summary.layout = scan.layout;
  summary.root = scan.root;
  summary.issues = scan.issues;
  const std::vector<MaskReading> readings = read_masks(scan.files, threads);
  std::map<std::tuple<std::string, std::string, std::string>, size_t> group_of;
  for (size_t i = 0; i < scan.files.size(); ++i) {
    const SampleFile& file = scan.files[i];
    const auto key = std::make_tuple(file.category, file.split, file.defect_type);
    auto [it, added] = group_of.emplace(key, summary.groups.size());
    if (added) summary.groups.push_back({file.category, file.split, file.defect_type});
    GroupSummary& group = summary.groups[it->second];
    ++group.images;
    const MaskReading& reading = readings[i];
    if (reading.measured) {
      // Running mean: m_k = m_{k-1} + (x_k - m_{k-1}) / k.
      ++group.masks_measured;
      group.mean_mask_share += (reading.share - group.mean_mask_share) / static_cast<double>(group.masks_measured);
    }
    if (reading.issue) summary.issues.push_back(*reading.issue);
  }
  // Within each (category, split), in the scan's order of those: good first,
  // then the defect types by name (AITEX lists its defect types interleaved).
  std::map<std::pair<std::string, std::string>, size_t> run_of;
  for (const GroupSummary& g : summary.groups) run_of.emplace(std::make_pair(g.category, g.split), run_of.size());
  auto sort_key = [&](const GroupSummary& g) {
    return std::make_tuple(run_of.at({g.category, g.split}), g.defect_type != "good", g.defect_type);
  };
  std::stable_sort(summary.groups.begin(), summary.groups.end(),
                   [&](const GroupSummary& a, const GroupSummary& b) { return sort_key(a) < sort_key(b); });
  return summary;
}

std::string format_summary_table(const DatasetSummary& summary) {
  int64_t images = 0, defective = 0;
  for (const GroupSummary& g : summary.groups) {
    images += g.images;
    if (g.defect_type != "good") defective += g.images;
  }
  std::ostringstream out;
  out << layout_name(summary.layout) << " dataset at " << summary.root << ": " << images << " images, " << defective
      << " defective\n\n";
  std::vector<std::vector<std::string>> rows = {
      {"category", "split", "defect type", "images", "masks", "mean mask share"}};
  for (const GroupSummary& g : summary.groups) {
    const bool good = g.defect_type == "good";
    rows.push_back({or_dash(g.category), or_dash(g.split), g.defect_type, std::to_string(g.images),
                    good ? "-" : std::to_string(g.masks_measured),
                    good || g.masks_measured == 0 ? "-" : percent(g.mean_mask_share)});
  }
  out << format_columns(rows, {false, false, false, true, true, true});
  if (summary.issues.empty()) {
    out << "\nno warnings\n";
  } else {
    out << "\nwarnings (" << summary.issues.size() << "):\n";
    for (const LayoutIssue& issue : summary.issues)
      out << "  " << issue_kind_name(issue.kind) << ": " << issue.message << "\n";
  }
  return out.str();
}

std::string format_summary_json(const DatasetSummary& summary) {
  return summary_to_json(summary).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

nlohmann::ordered_json summary_to_json(const DatasetSummary& summary) {
  using json = nlohmann::ordered_json;
  json categories = json::array();
  int64_t images = 0;
  for (const GroupSummary& g : summary.groups) {
    images += g.images;
    if (categories.empty() || categories.back()["name"] != g.category)
      categories.push_back({{"name", g.category}, {"splits", json::array()}});
    json& splits = categories.back()["splits"];
    if (splits.empty() || splits.back()["name"] != g.split)
      splits.push_back({{"name", g.split}, {"good", 0}, {"defects", json::array()}});
    json& split = splits.back();
    if (g.defect_type == "good") {
      split["good"] = g.images;
    } else {
      split["defects"].push_back({{"type", g.defect_type},
                                  {"images", g.images},
                                  {"masks_measured", g.masks_measured},
                                  {"mean_mask_share", g.masks_measured > 0 ? json(g.mean_mask_share) : json(nullptr)}});
    }
  }
  json warnings = json::array();
  for (const LayoutIssue& issue : summary.issues)
    warnings.push_back({{"kind", issue_kind_name(issue.kind)}, {"path", issue.path}, {"message", issue.message}});
  return {{"layout", layout_name(summary.layout)},
          {"root", summary.root},
          {"images", images},
          {"categories", categories},
          {"warnings", warnings}};
}

}  // namespace loom::data
