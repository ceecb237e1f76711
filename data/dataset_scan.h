// dataset_scan.h: what a layout reader finds in a folder, before any image is
// decoded. A scan lists every image (sorted, so the order never depends on the
// filesystem) and every problem with the layout (an issue names the path and
// says what is wrong). Datasets are built from a scan by select_files, which
// turns the problems that matter to the chosen part into errors; `loom dataset
// info` prints them all as warnings.
//
// Also here: the small filesystem helpers the readers share.
#pragma once
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "data/file_list_dataset.h"

namespace loom::data {

enum class Layout { ImageFolder, MvtecAD, Dagm, Aitex };
const char* layout_name(Layout layout);  // "ImageFolder", "MVTec AD", "DAGM 2007", "AITEX"

enum class Split { All, Train, Test };
enum class LabelFilter { Any, Good, Defective };

struct LayoutIssue {
  enum class Kind {
    MissingFolder,  // a folder the layout needs is absent
    EmptyFolder,    // a folder that should hold images holds none
    MissingMask,    // a defective image without its mask file
    OrphanMask,     // a mask file without its image
    SizeMismatch,   // a mask whose size differs from its image's
    Unreadable,     // a file that cannot be decoded (found when reading, not scanning)
    Unexpected,     // something the layout does not know, ignored
  };
  Kind kind;
  std::string path;      // the file or folder concerned
  std::string message;   // says what is wrong, names the path
  std::string category;  // where it was found ("" for the whole dataset)
  std::string split;
  // The images it concerns: a missing good folder does not stop a dataset of
  // the defective images.
  LabelFilter concerns = LabelFilter::Any;
  // Fatal issues stop a dataset from being built; the others are warnings.
  bool fatal() const { return kind == Kind::MissingFolder || kind == Kind::EmptyFolder || kind == Kind::MissingMask; }
};
const char* issue_kind_name(LayoutIssue::Kind kind);  // "missing folder", "missing mask", ...

struct DatasetScan {
  Layout layout = Layout::ImageFolder;
  std::string root;
  std::vector<SampleFile> files;  // in sorted folder and file-name order, never filesystem order
  std::vector<LayoutIssue> issues;
};

// Which part of a dataset to use.
struct Selection {
  std::string category = "";  // "" = every category
  Split split = Split::All;
  LabelFilter labels = LabelFilter::Any;
};

// The files of `scan` that `selection` picks. Throws (naming the path) on the
// first fatal issue inside the selected category, split and labels, on a category the
// scan does not have (listing those it has), and when nothing is left.
std::vector<SampleFile> select_files(const DatasetScan& scan, const Selection& selection);

// ---- filesystem helpers for the readers -------------------------------------
namespace fs = std::filesystem;

// .png .jpg .jpeg .bmp, any case; hidden files (".name") are not images.
bool is_image_file(const fs::path& path);
// Image files in `dir` (and below it when recursive), sorted by path. A folder
// that cannot be read is a loom::Error naming it.
std::vector<fs::path> list_images(const fs::path& dir, bool recursive);
// list_images(dir, recursive = true) for a folder the caller needs images
// from: throws "<what> folder <dir> does not exist" / "is not a folder" /
// "holds no images (.png, .jpg, .jpeg, .bmp) at any depth".
std::vector<fs::path> list_images_required(const fs::path& dir, const std::string& what);
// Sub-folders of `dir` (not hidden), sorted by name.
std::vector<fs::path> list_subdirs(const fs::path& dir);
// The units of a layout (MVTec categories, DAGM classes) under `root`: the
// root itself when it is one, else its sub-folders that are (sorted).
std::vector<fs::path> layout_units(const fs::path& root, bool (*is_unit)(const fs::path&));
// The last name of a folder path, also for "carpet/" and "." (-> the real name).
std::string folder_name(const fs::path& dir);
// Throws unless `root` is an existing folder: "<reader> dataset root <root> does
// not exist" ("" for reader: "dataset root <root> ...").
void require_dataset_root(const fs::path& root, const char* reader);
// A scan issue for a missing folder or an empty one; returns the images
// otherwise (list_images).
std::vector<fs::path> images_or_issue(const fs::path& dir, bool recursive, const std::string& category,
                                      const std::string& split, LabelFilter concerns, std::vector<LayoutIssue>& issues);

// The mask files in one folder, for pairing with their images: a mask of the
// image <stem>.<ext> is named <stem><suffix>.<ext> or <stem><suffix><digits>.<ext>
// (AITEX numbers the masks of an image with two defects: _mask1, _mask2).
// A missing folder holds no masks.
class MaskIndex {
 public:
  MaskIndex(const fs::path& dir, std::string suffix);
  // The masks of `image` (sorted), marked as used; empty if it has none.
  std::vector<std::string> take(const fs::path& image);
  // Where the mask of `image` is expected: <dir>/<stem><suffix>.png.
  std::string expected_path(const fs::path& image) const;
  // An OrphanMask issue for every mask no image took.
  void report_unused(const std::string& category, const std::string& split, std::vector<LayoutIssue>& issues) const;

 private:
  fs::path dir_;
  std::string suffix_;
  std::map<std::string, std::vector<fs::path>> by_image_stem_;  // image stem -> its masks
  std::vector<fs::path> misnamed_;                              // image files here not named as masks
  std::set<std::string> taken_;                                 // image stems whose masks were taken
};

}  // namespace loom::data
