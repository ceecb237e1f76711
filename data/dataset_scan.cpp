// dataset_scan.cpp: selecting files from a scan, and the readers' filesystem
// helpers (see dataset_scan.h).
#include "data/dataset_scan.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "tensor/error.h"

namespace loom::data {

const char* layout_name(Layout layout) {
  switch (layout) {
    case Layout::ImageFolder: return "ImageFolder";
    case Layout::MvtecAD: return "MVTec AD";
    case Layout::Dagm: return "DAGM 2007";
    case Layout::Aitex: return "AITEX";
  }
  return "?";
}

const char* issue_kind_name(LayoutIssue::Kind kind) {
  switch (kind) {
    case LayoutIssue::Kind::MissingFolder: return "missing folder";
    case LayoutIssue::Kind::EmptyFolder: return "empty folder";
    case LayoutIssue::Kind::MissingMask: return "missing mask";
    case LayoutIssue::Kind::OrphanMask: return "mask without image";
    case LayoutIssue::Kind::SizeMismatch: return "size mismatch";
    case LayoutIssue::Kind::Unreadable: return "unreadable file";
    case LayoutIssue::Kind::Unexpected: return "unexpected";
  }
  return "?";
}

namespace {

const char* split_name(Split split) {
  switch (split) {
    case Split::All: return "";
    case Split::Train: return "train";
    case Split::Test: return "test";
  }
  return "?";
}

bool label_matches(LabelFilter filter, int64_t label) {
  return filter == LabelFilter::Any || (filter == LabelFilter::Good) == (label == 0);
}

std::string describe(const Selection& s) {
  std::string text = "category '" + (s.category.empty() ? std::string("(all)") : s.category) + "', split '" +
                     (s.split == Split::All ? std::string("(all)") : split_name(s.split)) + "'";
  if (s.labels == LabelFilter::Good) text += ", good images";
  if (s.labels == LabelFilter::Defective) text += ", defective images";
  return text;
}

}  // namespace

std::vector<SampleFile> select_files(const DatasetScan& scan, const Selection& selection) {
  const char* layout = layout_name(scan.layout);
  if (!selection.category.empty()) {
    std::set<std::string> categories;
    for (const SampleFile& f : scan.files) categories.insert(f.category);
    for (const LayoutIssue& issue : scan.issues)
      if (!issue.category.empty()) categories.insert(issue.category);
    if (!categories.count(selection.category)) {
      std::string known;
      for (const std::string& c : categories) known += (known.empty() ? "" : ", ") + (c.empty() ? "''" : c);
      detail::throw_error(layout, ": no category '", selection.category, "' in ", scan.root,
                          " (categories found: ", known.empty() ? "none" : known, ")");
    }
  }
  const std::string split = split_name(selection.split);
  auto category_ok = [&](const std::string& c) {
    return selection.category.empty() || c.empty() || c == selection.category;
  };
  auto split_ok = [&](const std::string& s) { return split.empty() || s.empty() || s == split; };
  auto labels_ok = [&](LabelFilter concerns) {
    return concerns == LabelFilter::Any || selection.labels == LabelFilter::Any || concerns == selection.labels;
  };
  for (const LayoutIssue& issue : scan.issues) {
    if (!issue.fatal() || !category_ok(issue.category) || !split_ok(issue.split) || !labels_ok(issue.concerns))
      continue;
    detail::throw_error(layout, ": ", issue.message);
  }
  std::vector<SampleFile> picked;
  for (const SampleFile& f : scan.files)
    if ((selection.category.empty() || f.category == selection.category) && (split.empty() || f.split == split) &&
        label_matches(selection.labels, f.label))
      picked.push_back(f);
  LOOM_CHECK(!picked.empty(), layout, ": no images in ", scan.root, " for ", describe(selection));
  return picked;
}

bool is_image_file(const fs::path& path) {
  const std::string name = path.filename().string();
  if (name.empty() || name[0] == '.') return false;
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

namespace {

// Runs a directory walk, turning the filesystem's errors (a folder that cannot
// be opened, say) into a loom::Error that names the folder.
template <class Walk>
void walk_folder(const fs::path& dir, Walk walk) {
  try {
    walk();
  } catch (const fs::filesystem_error& e) {
    detail::throw_error("cannot list folder ", dir.string(), ": ", e.code().message(),
                        e.path1().empty() || e.path1() == dir ? "" : " (at " + e.path1().string() + ")");
  }
}

}  // namespace

std::vector<fs::path> list_images(const fs::path& dir, bool recursive) {
  std::vector<fs::path> images;
  auto consider = [&](const fs::directory_entry& e) {
    if (e.is_regular_file() && is_image_file(e.path())) images.push_back(e.path());
  };
  walk_folder(dir, [&] {
    if (!recursive) {
      for (const auto& e : fs::directory_iterator(dir)) consider(e);
      return;
    }
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
      // Hidden folders (".thumbnails", ".git") are skipped with their contents.
      if (it->is_directory() && it->path().filename().string().starts_with(".")) {
        it.disable_recursion_pending();
        continue;
      }
      consider(*it);
    }
  });
  std::sort(images.begin(), images.end());
  return images;
}

std::vector<fs::path> list_images_required(const fs::path& dir, const std::string& what) {
  LOOM_CHECK(fs::exists(dir), what, " folder ", dir.string(), " does not exist");
  LOOM_CHECK(fs::is_directory(dir), what, " ", dir.string(), " is not a folder");
  std::vector<fs::path> images = list_images(dir, /*recursive=*/true);
  LOOM_CHECK(!images.empty(), what, " folder ", dir.string(),
             " holds no images (.png, .jpg, .jpeg, .bmp) at any depth");
  return images;
}

std::vector<fs::path> list_subdirs(const fs::path& dir) {
  std::vector<fs::path> dirs;
  walk_folder(dir, [&] {
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && !e.path().filename().string().starts_with(".")) dirs.push_back(e.path());
  });
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

std::vector<fs::path> layout_units(const fs::path& root, bool (*is_unit)(const fs::path&)) {
  if (is_unit(root)) return {root};
  std::vector<fs::path> units;
  for (const fs::path& dir : list_subdirs(root))
    if (is_unit(dir)) units.push_back(dir);
  return units;
}

std::string folder_name(const fs::path& dir) {
  fs::path path = fs::absolute(dir).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();  // "carpet/" -> "carpet"
  return path.filename().string();
}

void require_dataset_root(const fs::path& root, const char* reader) {
  const std::string what = *reader ? std::string(reader) + " dataset root " : std::string("dataset root ");
  LOOM_CHECK(fs::exists(root), what, root.string(), " does not exist");
  LOOM_CHECK(fs::is_directory(root), what, root.string(), " is not a folder");
}

std::vector<fs::path> images_or_issue(const fs::path& dir, bool recursive, const std::string& category,
                                      const std::string& split, LabelFilter concerns,
                                      std::vector<LayoutIssue>& issues) {
  if (!fs::is_directory(dir)) {
    issues.push_back(
        {LayoutIssue::Kind::MissingFolder, dir.string(), "missing folder " + dir.string(), category, split, concerns});
    return {};
  }
  std::vector<fs::path> images = list_images(dir, recursive);
  if (images.empty())
    issues.push_back({LayoutIssue::Kind::EmptyFolder, dir.string(),
                      "folder " + dir.string() + " holds no images (.png, .jpg, .jpeg, .bmp)", category, split,
                      concerns});
  return images;
}

MaskIndex::MaskIndex(const fs::path& dir, std::string suffix) : dir_(dir), suffix_(std::move(suffix)) {
  if (!fs::is_directory(dir_)) return;
  for (const fs::path& mask : list_images(dir_, /*recursive=*/false)) {
    // <stem><suffix><digits>: strip the digits, then the suffix.
    std::string stem = mask.stem().string();
    while (!stem.empty() && std::isdigit(static_cast<unsigned char>(stem.back()))) stem.pop_back();
    if (stem.ends_with(suffix_))
      by_image_stem_[stem.substr(0, stem.size() - suffix_.size())].push_back(mask);
    else
      misnamed_.push_back(mask);
  }
}

std::vector<std::string> MaskIndex::take(const fs::path& image) {
  const auto it = by_image_stem_.find(image.stem().string());
  if (it == by_image_stem_.end()) return {};
  taken_.insert(it->first);
  std::vector<std::string> paths;
  for (const fs::path& p : it->second) paths.push_back(p.string());
  return paths;
}

std::string MaskIndex::expected_path(const fs::path& image) const {
  return (dir_ / (image.stem().string() + suffix_ + ".png")).string();
}

void MaskIndex::report_unused(const std::string& category, const std::string& split,
                              std::vector<LayoutIssue>& issues) const {
  for (const auto& [stem, masks] : by_image_stem_) {
    if (taken_.count(stem)) continue;
    for (const fs::path& mask : masks)
      issues.push_back({LayoutIssue::Kind::OrphanMask, mask.string(),
                        "mask " + mask.string() + " has no image (no image named " + stem + ".*)", category, split});
  }
  for (const fs::path& mask : misnamed_)
    issues.push_back({LayoutIssue::Kind::OrphanMask, mask.string(),
                      "file " + mask.string() + " is not named <image>" + suffix_ + ".png, so it is no image's mask",
                      category, split});
}

}  // namespace loom::data
