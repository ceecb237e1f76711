// test_fabric_dataset.cpp: the procedural fabric dataset writer and sample
// sheet (data/fabric/dataset.h): the MVTec AD file layout, 0/255 masks, the
// documented per-image Philox streams, the non-empty-folder rule, and the
// sheet's geometry.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "data/fabric/dataset.h"
#include "data/fabric/presets.h"
#include "data/image.h"
#include "tests/test_util.h"

namespace fab = loom::data::fabric;
namespace fs = std::filesystem;
using loom::Generator;
using loom::Tensor;

namespace {

// A fresh folder under the system temp dir, removed at the end of the test.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("loom_test_fabric_" + name + "_" + std::to_string(getpid()))) {
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::set<std::string> files_under(const fs::path& root) {
  std::set<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) files.insert(fs::relative(e.path(), root).string());
  return files;
}

fab::FabricDatasetOptions small_options(const fs::path& out) {
  fab::FabricDatasetOptions o;
  o.out_dir = out.string();
  o.categories = {"plain_gray", "gingham_check"};
  o.defects = {fab::DefectKind::Hole, fab::DefectKind::Scratch};
  o.n_train = 2;
  o.n_test = 1;
  o.size = 32;
  o.seed = 5;
  return o;
}

}  // namespace

TEST(FabricDataset, WritesTheMvtecLayout) {
  TempDir dir("layout");
  const fab::FabricDatasetOptions options = small_options(dir.path);
  std::vector<std::string> lines;
  const int64_t written = fab::write_fabric_dataset(options, [&](const std::string& l) { lines.push_back(l); });
  EXPECT_EQ(written, 2 * (2 + 1 + 2 * 1));
  EXPECT_EQ(lines.size(), 1u + 2 * 4);  // the plan, then one line per folder
  std::set<std::string> expected;
  for (const std::string c : {"plain_gray", "gingham_check"}) {
    expected.insert(c + "/train/good/000.png");
    expected.insert(c + "/train/good/001.png");
    expected.insert(c + "/test/good/000.png");
    for (const std::string d : {"hole", "scratch"}) {
      expected.insert(c + "/test/" + d + "/000.png");
      expected.insert(c + "/ground_truth/" + d + "/000_mask.png");
    }
  }
  EXPECT_EQ(files_under(dir.path), expected);
  for (const std::string& f : expected) {
    const fs::path path = dir.path / f;
    if (f.find("_mask") == std::string::npos) {
      EXPECT_EQ(loom::data::load_image_u8(path.string()).shape(), (loom::Shape{3, 32, 32})) << f;
      continue;
    }
    const Tensor mask = loom::data::load_image_u8(path.string(), loom::data::ColorMode::Keep);
    ASSERT_EQ(mask.shape(), (loom::Shape{1, 32, 32})) << f;
    const std::vector<double> v = mask.to_vector<double>();
    EXPECT_TRUE(std::all_of(v.begin(), v.end(), [](double x) { return x == 0 || x == 255; })) << f;
    EXPECT_GT(std::count(v.begin(), v.end(), 255.0), 0) << f;
  }
}

// Each image comes from Philox stream (seed, offset) with offset =
// (((category index * 16 + part) << 20) + k) << 32, part 0 train/good, 1
// test/good, 2 + defect index; computed here from that formula.
TEST(FabricDataset, ImagesFollowTheDocumentedStreams) {
  TempDir dir("streams");
  fab::FabricDatasetOptions options = small_options(dir.path);
  fab::write_fabric_dataset(options);
  auto stream = [&](const std::string& category, uint64_t part, uint64_t k) {
    const auto& names = fab::fabric_categories();
    const uint64_t index = static_cast<uint64_t>(std::find(names.begin(), names.end(), category) - names.begin());
    Generator gen(options.seed);
    gen.set_state({options.seed, (((index * 16 + part) << 20) + k) << 32});
    return gen;
  };
  {
    Generator gen = stream("gingham_check", 0, 1);
    const Tensor expected =
        loom::data::to_uint8(fab::make_fabric_sample("gingham_check", std::nullopt, 32, false, gen).image);
    loom::testing::expect_bitwise_equal(
        loom::data::load_image_u8((dir.path / "gingham_check/train/good/001.png").string()), expected,
        "train/good/001");
  }
  {
    const uint64_t hole_part = 2 + 6;  // hole is defect 6 of defect_kinds()
    ASSERT_EQ(fab::defect_kinds()[6], fab::DefectKind::Hole);
    Generator gen = stream("plain_gray", hole_part, 0);
    const fab::FabricSample s = fab::make_fabric_sample("plain_gray", fab::DefectKind::Hole, 32, false, gen);
    loom::testing::expect_bitwise_equal(loom::data::load_image_u8((dir.path / "plain_gray/test/hole/000.png").string()),
                                        loom::data::to_uint8(s.image), "test/hole/000");
    loom::testing::expect_bitwise_equal(
        loom::data::load_image_u8((dir.path / "plain_gray/ground_truth/hole/000_mask.png").string(),
                                  loom::data::ColorMode::Keep),
        s.mask, "ground_truth/hole/000_mask");
  }
}

TEST(FabricDataset, RefusesANonEmptyFolderUnlessForced) {
  TempDir dir("force");
  fs::create_directories(dir.path);
  { std::ofstream(dir.path / "notes.txt") << "keep me"; }
  fab::FabricDatasetOptions options = small_options(dir.path);
  options.categories = {"plain_gray"};
  options.n_train = 1;
  options.n_test = 0;
  loom::testing::expect_error_containing([&] { fab::write_fabric_dataset(options); }, "not empty");
  EXPECT_EQ(files_under(dir.path), (std::set<std::string>{"notes.txt"}));
  options.force = true;
  EXPECT_EQ(fab::write_fabric_dataset(options), 1);
  EXPECT_EQ(files_under(dir.path), (std::set<std::string>{"notes.txt", "plain_gray/train/good/000.png"}));
}

TEST(FabricDataset, RejectsUnknownCategoriesBeforeWriting) {
  TempDir dir("unknown");
  fab::FabricDatasetOptions options = small_options(dir.path);
  options.categories = {"plain_gray", "tweed"};
  loom::testing::expect_error_containing([&] { fab::write_fabric_dataset(options); }, "tweed");
  EXPECT_FALSE(fs::exists(dir.path / "plain_gray"));
}

// Sizes outside 16..4096 px (a huge one would exhaust memory before any
// image is written), counts above 2^20 (the streams of one folder) and a run
// with nothing to write are refused before anything is written.
TEST(FabricDataset, RejectsBadSizesAndCountsBeforeWriting) {
  TempDir dir("bad_sizes");
  for (int64_t size : {int64_t{8}, int64_t{4097}, int64_t{100000}}) {
    fab::FabricDatasetOptions options = small_options(dir.path);
    options.size = size;
    loom::testing::expect_error_containing([&] { fab::write_fabric_dataset(options); },
                                           "image size must be in 16..4096 px, got " + std::to_string(size));
  }
  fab::FabricDatasetOptions options = small_options(dir.path);
  options.n_train = (int64_t{1} << 20) + 1;
  loom::testing::expect_error_containing([&] { fab::write_fabric_dataset(options); }, "image counts must be in 0..");
  options.n_train = options.n_test = 0;
  loom::testing::expect_error_containing([&] { fab::write_fabric_dataset(options); }, "nothing to write");
  EXPECT_TRUE(!fs::exists(dir.path) || fs::is_empty(dir.path));
  loom::testing::expect_error_containing([] { fab::fabric_sample_sheet(5000, 0); }, "16..4096");
}

// Rows: categories; columns: good + each defect. Grid geometry (grid.h) with
// padding 2 and a caption band of 7 + 2 px under each image.
TEST(FabricDataset, SampleSheetGeometryAndOutlines) {
  const int64_t size = 24;
  const Tensor sheet = fab::fabric_sample_sheet(size, 0);
  const int64_t rows = static_cast<int64_t>(fab::fabric_categories().size());
  const int64_t cols = 1 + static_cast<int64_t>(fab::defect_kinds().size());
  ASSERT_EQ(sheet.shape(), (loom::Shape{3, rows * (size + 9 + 2) + 2, cols * (size + 2) + 2}));
  // Magenta outline pixels exist only in defect columns (not in column 0).
  const std::vector<float> v = sheet.to_vector<float>();
  const int64_t h = sheet.size(1), w = sheet.size(2);
  int64_t magenta_first_column = 0, magenta_elsewhere = 0;
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const size_t i = static_cast<size_t>(y * w + x);
      if (v[i] == 1.0f && v[static_cast<size_t>(h * w) + i] == 0.0f && v[static_cast<size_t>(2 * h * w) + i] == 1.0f)
        (x < size + 2 ? magenta_first_column : magenta_elsewhere)++;
    }
  EXPECT_EQ(magenta_first_column, 0);
  EXPECT_GT(magenta_elsewhere, 0);
}
