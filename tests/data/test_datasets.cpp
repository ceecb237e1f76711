// test_datasets.cpp: the dataset readers (ImageFolder, MVTec AD, DAGM 2007,
// AITEX), layout detection, and the summary behind `loom dataset info`. Every
// test writes a tiny dataset into a scratch folder; expected orders, counts and
// mask areas are written out by hand from the files the test made, and every
// bad input must throw a loom::Error that names the path.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include "data/aitex.h"
#include "data/dagm.h"
#include "data/dataset_summary.h"
#include "data/image_folder.h"
#include "data/layout.h"
#include "data/loader.h"
#include "data/mvtec.h"
#include "tests/data/dataset_test_util.h"
#include "tests/data/image_test_util.h"
#include "tests/test_util.h"

namespace loom::data {
namespace {

using loom::testing::expect_error_containing;
using loom::testing::Rect;
using loom::testing::ScratchDir;
using loom::testing::write_flat_png;
using loom::testing::write_mask_png;

constexpr int64_t H = 6, W = 8;  // every image is 6 rows x 8 columns (not square: catches swaps)

// Paths of `files` relative to `root`, with '/' separators.
std::vector<std::string> relative_paths(const std::vector<SampleFile>& files, const fs::path& root) {
  std::vector<std::string> out;
  for (const SampleFile& f : files) out.push_back(fs::path(f.image_path).lexically_relative(root).generic_string());
  return out;
}

double sum_of(const Tensor& t) {
  double s = 0.0;
  for (double v : t.to_vector<double>()) s += v;
  return s;
}

// Every element of `image` equals value / 255 (a flat file written by write_flat_png).
void expect_flat(const Tensor& image, int value, const std::string& what) {
  for (double v : image.to_vector<double>()) {
    ASSERT_NEAR(v, value / 255.0, 1e-6) << what;
  }
}

void touch(const fs::path& path) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << "not an image\n";
}

// ---- ImageFolder -------------------------------------------------------------

TEST(ImageFolder, RecursiveSortedSkipsNonImagesAndHiddenFiles) {
  ScratchDir dir;
  const fs::path root = dir.path();
  // Written out of order; the reader must sort by path.
  write_flat_png(root / "b.png", H, W, 2);
  write_flat_png(root / "a" / "z.png", H, W, 1);
  write_flat_png(root / "a" / "deeper" / "c.png", H, W, 3);
  write_flat_png(root / "a" / "b.png", H, W, 0);
  write_flat_png(root / ".hidden.png", H, W, 9);
  write_flat_png(root / ".cache" / "x.png", H, W, 9);
  touch(root / "notes.txt");

  ImageFolder folder(root.string());
  ASSERT_EQ(folder.size(), 4);
  EXPECT_EQ(relative_paths(folder.files(), root),
            (std::vector<std::string>{"a/b.png", "a/deeper/c.png", "a/z.png", "b.png"}));
  const std::vector<int> values = {0, 3, 1, 2};
  const std::vector<std::string> categories = {"a", "a/deeper", "a", ""};
  for (int64_t i = 0; i < folder.size(); ++i) {
    const Sample s = folder.get(i);
    EXPECT_EQ(s.image.shape(), Shape({3, H, W}));
    expect_flat(s.image, values[i], s.path);
    EXPECT_FALSE(s.mask.defined());
    EXPECT_EQ(s.label, 0);
    EXPECT_EQ(s.defect_type, "good");
    EXPECT_EQ(s.category, categories[i]);
  }
}

TEST(ImageFolder, ColourModeAndResize) {
  ScratchDir dir;
  write_flat_png(dir.path() / "x.png", H, W, 100);
  ImageFolder gray(dir.path().string(), {.color = ColorMode::Gray});
  EXPECT_EQ(gray.get(0).image.shape(), Shape({1, H, W}));
  ImageFolder resized(dir.path().string(), {.color = ColorMode::RGB, .height = 3, .width = 5});
  const Sample s = resized.get(0);
  EXPECT_EQ(s.image.shape(), Shape({3, 3, 5}));
  expect_flat(s.image, 100, "a flat image stays flat when resized");
  expect_error_containing([&] { ImageFolder(dir.path().string(), {.height = 4, .width = 0}); }, "height and width");
}

TEST(ImageFolder, EmptyOrMissingFolderNamesThePath) {
  ScratchDir dir;
  touch(dir.path() / "readme.txt");
  expect_error_containing([&] { ImageFolder folder(dir.path().string()); }, dir.path().string());
  expect_error_containing([&] { ImageFolder folder(dir.path().string()); }, "no images");
  const std::string missing = (dir.path() / "nowhere").string();
  expect_error_containing([&] { ImageFolder folder(missing); }, missing + " does not exist");
}

TEST(ImageFolder, UnreadableFolderNamesThePath) {
  ScratchDir dir;
  const fs::path locked = dir.path() / "locked";
  write_flat_png(locked / "a.png", H, W, 1);
  fs::permissions(locked, fs::perms::none);
  const bool readable = static_cast<bool>(std::ifstream(locked / "a.png"));  // true for root
  if (!readable) expect_error_containing([&] { ImageFolder folder(dir.path().string()); }, "cannot list folder ");
  fs::permissions(locked, fs::perms::owner_all);
  if (readable) GTEST_SKIP() << "running with permission to read any folder";
}

// ---- MVTec AD ----------------------------------------------------------------

// Two categories:
//   carpet: train/good 000-002 (values 10-12), test/good 000-001 (20-21),
//           test/cut 000-001 (30-31, masks of 6 and 48 pixels), test/hole 000 (40, 1 pixel)
//   grid:   train/good 000-001 (50-51), test/good 000 (60), test/broken 000 (70, 24 pixels)
// plus a stray file and a folder that is no category.
const Rect kCut0{1, 1, 2, 3}, kCut1{0, 0, H, W}, kHole0{2, 2, 1, 1}, kBroken0{0, 0, 3, W};

void write_mvtec(const fs::path& root) {
  const fs::path carpet = root / "carpet", grid = root / "grid";
  for (int i : {2, 0, 1}) write_flat_png(carpet / "train/good" / ("00" + std::to_string(i) + ".png"), H, W, 10 + i);
  write_flat_png(carpet / "test/good/001.png", H, W, 21);
  write_flat_png(carpet / "test/good/000.png", H, W, 20);
  write_flat_png(carpet / "test/cut/000.png", H, W, 30);
  write_flat_png(carpet / "test/cut/001.png", H, W, 31);
  write_flat_png(carpet / "test/hole/000.png", H, W, 40);
  write_mask_png(carpet / "ground_truth/cut/000_mask.png", H, W, kCut0);
  write_mask_png(carpet / "ground_truth/cut/001_mask.png", H, W, kCut1);
  write_mask_png(carpet / "ground_truth/hole/000_mask.png", H, W, kHole0);
  write_flat_png(grid / "train/good/001.png", H, W, 51);
  write_flat_png(grid / "train/good/000.png", H, W, 50);
  write_flat_png(grid / "test/good/000.png", H, W, 60);
  write_flat_png(grid / "test/broken/000.png", H, W, 70);
  write_mask_png(grid / "ground_truth/broken/000_mask.png", H, W, kBroken0);
  touch(root / "license.txt");
  touch(root / "notes" / "readme.txt");
}

TEST(Mvtec, DiscoversCategoriesDefectTypesInSortedOrder) {
  ScratchDir dir;
  write_mvtec(dir.path());
  EXPECT_EQ(detect_layout(dir.path().string()), Layout::MvtecAD);
  const DatasetScan scan = scan_mvtec(dir.path().string());
  EXPECT_TRUE(scan.issues.empty()) << scan.issues.front().message;
  EXPECT_EQ(
      relative_paths(scan.files, dir.path()),
      (std::vector<std::string>{"carpet/train/good/000.png", "carpet/train/good/001.png", "carpet/train/good/002.png",
                                "carpet/test/cut/000.png", "carpet/test/cut/001.png", "carpet/test/good/000.png",
                                "carpet/test/good/001.png", "carpet/test/hole/000.png", "grid/train/good/000.png",
                                "grid/train/good/001.png", "grid/test/broken/000.png", "grid/test/good/000.png"}));
  std::vector<std::string> types;
  for (const SampleFile& f : scan.files) types.push_back(f.category + "/" + f.split + "/" + f.defect_type);
  EXPECT_EQ(types,
            (std::vector<std::string>{"carpet/train/good", "carpet/train/good", "carpet/train/good", "carpet/test/cut",
                                      "carpet/test/cut", "carpet/test/good", "carpet/test/good", "carpet/test/hole",
                                      "grid/train/good", "grid/train/good", "grid/test/broken", "grid/test/good"}));
}

TEST(Mvtec, SelectionCounts) {
  ScratchDir dir;
  write_mvtec(dir.path());
  const std::string root = dir.path().string();
  EXPECT_EQ(MvtecDataset(root, {.category = "carpet", .split = Split::Train}).size(), 3);
  EXPECT_EQ(MvtecDataset(root, {.category = "carpet", .split = Split::Test}).size(), 5);
  EXPECT_EQ(MvtecDataset(root, {.category = "", .split = Split::Train}).size(), 5);
  EXPECT_EQ(MvtecDataset(root, {}).size(), 12);
  EXPECT_EQ(MvtecDataset(root, {.category = "carpet", .split = Split::Test, .labels = LabelFilter::Defective}).size(),
            3);
  EXPECT_EQ(MvtecDataset(root, {.category = "grid", .split = Split::Test, .labels = LabelFilter::Good}).size(), 1);
  // A category folder as the root: one category named after the folder.
  const MvtecDataset single((dir.path() / "carpet/").string(), {.split = Split::Train});
  EXPECT_EQ(single.size(), 3);
  EXPECT_EQ(single.get(0).category, "carpet");
}

// load_mask: a pixel is defective when its gray value is above half (> 127 of
// 255) in any of the image's masks; RGB masks are taken through their gray.
TEST(Masks, ThresholdAtHalfAndMergedAcrossFiles) {
  ScratchDir dir;
  const std::vector<uint8_t> first = {0, 100, 127, 128, 200, 255}, second = {0, 0, 200, 0, 0, 0};
  save_png(dir.file("m1.png"), Tensor::from_vector(first, {1, 2, 3}));
  save_png(dir.file("m2.png"), Tensor::from_vector(second, {1, 2, 3}));
  EXPECT_EQ(load_mask({dir.file("m1.png")}, "img.png").to_vector<double>(), (std::vector<double>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(load_mask({dir.file("m1.png"), dir.file("m2.png")}, "img.png").to_vector<double>(),
            (std::vector<double>{0, 0, 1, 1, 1, 1}));
  // A gray 128 stored as RGB is still above half.
  save_png(dir.file("rgb.png"), Tensor::full({3, 1, 2}, 128, DType::UInt8));
  EXPECT_EQ(load_mask({dir.file("rgb.png")}, "img.png").to_vector<double>(), (std::vector<double>{1, 1}));
  save_png(dir.file("small.png"), Tensor::zeros({1, 1, 3}, DType::UInt8));
  expect_error_containing(
      [&] {
        load_mask({dir.file("m1.png"), dir.file("small.png")}, "img.png");
      },
      "of the same image img.png");
}

TEST(Mvtec, SamplesPairImagesWithTheirMasks) {
  ScratchDir dir;
  write_mvtec(dir.path());
  const MvtecDataset test(dir.path().string(), {.category = "carpet", .split = Split::Test});
  ASSERT_EQ(test.size(), 5);
  // In order: cut/000, cut/001, good/000, good/001, hole/000.
  const std::vector<int> values = {30, 31, 20, 21, 40};
  const std::vector<int64_t> areas = {kCut0.area(), kCut1.area(), -1, -1, kHole0.area()};
  const std::vector<std::string> types = {"cut", "cut", "good", "good", "hole"};
  for (int64_t i = 0; i < test.size(); ++i) {
    const Sample s = test.get(i);
    EXPECT_EQ(s.image.shape(), Shape({3, H, W}));
    expect_flat(s.image, values[i], s.path);
    EXPECT_EQ(s.defect_type, types[i]);
    EXPECT_EQ(s.category, "carpet");
    if (areas[i] < 0) {
      EXPECT_EQ(s.label, 0);
      EXPECT_FALSE(s.mask.defined()) << s.path;
      continue;
    }
    EXPECT_EQ(s.label, 1);
    ASSERT_TRUE(s.mask.defined()) << s.path;
    EXPECT_EQ(s.mask.shape(), Shape({1, H, W}));
    EXPECT_EQ(sum_of(s.mask), static_cast<double>(areas[i])) << s.path;
    for (double v : s.mask.to_vector<double>()) ASSERT_TRUE(v == 0.0 || v == 1.0);
  }
  // The cut/000 mask marks exactly rows 1-2, columns 1-3.
  const Tensor mask = test.get(0).mask;
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x)
      EXPECT_EQ(mask.at({0, y, x}), (y >= 1 && y <= 2 && x >= 1 && x <= 3) ? 1.0 : 0.0) << y << "," << x;
}

TEST(Mvtec, ResizedMasksStayBinaryAndGrayHasOneChannel) {
  ScratchDir dir;
  write_mvtec(dir.path());
  const MvtecDataset test(dir.path().string(), {.category = "carpet", .split = Split::Test},
                          {.color = ColorMode::Gray, .height = 12, .width = 16});
  const Sample s = test.get(1);  // cut/001: the mask covers the whole image
  EXPECT_EQ(s.image.shape(), Shape({1, 12, 16}));
  EXPECT_EQ(s.mask.shape(), Shape({1, 12, 16}));
  EXPECT_EQ(sum_of(s.mask), 12.0 * 16.0);
  const Sample small = test.get(0);  // cut/000: 2x3 pixels, doubled by nearest: 4x6
  EXPECT_EQ(sum_of(small.mask), 4.0 * 6.0);
  for (double v : small.mask.to_vector<double>()) ASSERT_TRUE(v == 0.0 || v == 1.0);
}

TEST(Mvtec, MissingMaskNamesTheImageAndTheExpectedMask) {
  ScratchDir dir;
  write_mvtec(dir.path());
  const fs::path mask = dir.path() / "carpet/ground_truth/hole/000_mask.png";
  fs::remove(mask);
  const std::string root = dir.path().string(), image = (dir.path() / "carpet/test/hole/000.png").string();
  expect_error_containing([&] { MvtecDataset(root, {.category = "carpet", .split = Split::Test}); }, image);
  expect_error_containing([&] { MvtecDataset(root, {.category = "carpet", .split = Split::Test}); }, mask.string());
  // Parts that do not need the mask still load.
  EXPECT_EQ(MvtecDataset(root, {.category = "carpet", .split = Split::Train}).size(), 3);
  EXPECT_EQ(MvtecDataset(root, {.category = "grid"}).size(), 4);
  EXPECT_EQ(MvtecDataset(root, {.category = "carpet", .split = Split::Test, .labels = LabelFilter::Good}).size(), 2);
}

TEST(Mvtec, MaskOfAnotherSizeNamesBothFiles) {
  ScratchDir dir;
  write_mvtec(dir.path());
  const fs::path mask = dir.path() / "carpet/ground_truth/hole/000_mask.png";
  write_mask_png(mask, H - 1, W, kHole0);
  const MvtecDataset test(dir.path().string(), {.category = "carpet", .split = Split::Test});
  const std::string image = (dir.path() / "carpet/test/hole/000.png").string();
  expect_error_containing([&] { test.get(4); }, "mask " + mask.string() + " is 8x5 but its image " + image + " is 8x6");
}

TEST(Mvtec, MissingOrEmptyFoldersNameThePath) {
  ScratchDir dir;
  const fs::path cat = dir.path() / "wood";
  fs::create_directories(cat / "train/good");  // empty
  write_flat_png(cat / "test/good/000.png", H, W, 1);
  fs::create_directories(cat / "test/scratch");  // empty defect folder
  const std::string root = dir.path().string();
  expect_error_containing([&] { MvtecDataset(root, {.split = Split::Train}); }, (cat / "train/good").string());
  expect_error_containing([&] { MvtecDataset(root, {.split = Split::Train}); }, "holds no images");
  expect_error_containing([&] { MvtecDataset(root, {.split = Split::Test}); }, (cat / "test/scratch").string());
  // The empty defect folder does not concern the good test images, nor the empty train/good the defective ones.
  EXPECT_EQ(MvtecDataset(root, {.split = Split::Test, .labels = LabelFilter::Good}).size(), 1);
  expect_error_containing([&] { MvtecDataset(root, {.labels = LabelFilter::Defective}); },
                          (cat / "test/scratch").string());

  fs::remove_all(cat / "train");
  expect_error_containing([&] { MvtecDataset(root, {.split = Split::Train}); },
                          "missing folder " + (cat / "train").string());
  fs::remove_all(cat / "test");
  fs::create_directories(cat / "test");
  expect_error_containing([&] { MvtecDataset(root, {.split = Split::Test}); }, (cat / "test").string());
  expect_error_containing([&] { MvtecDataset((dir.path() / "none").string(), {}); },
                          (dir.path() / "none").string() + " does not exist");
}

TEST(Mvtec, UnknownCategoryListsTheKnownOnes) {
  ScratchDir dir;
  write_mvtec(dir.path());
  expect_error_containing([&] { MvtecDataset(dir.path().string(), {.category = "leather"}); },
                          "no category 'leather' in " + dir.path().string() + " (categories found: carpet, grid)");
}

TEST(Mvtec, MasksWithoutImagesAreWarningsNotErrors) {
  ScratchDir dir;
  write_mvtec(dir.path());
  const fs::path orphan = dir.path() / "carpet/ground_truth/cut/007_mask.png";
  const fs::path other_type = dir.path() / "carpet/ground_truth/crack/000_mask.png";
  write_mask_png(orphan, H, W, kCut0);
  write_mask_png(other_type, H, W, kCut0);
  const DatasetScan scan = scan_mvtec(dir.path().string());
  std::vector<std::string> orphan_paths;
  for (const LayoutIssue& issue : scan.issues) {
    EXPECT_EQ(issue.kind, LayoutIssue::Kind::OrphanMask) << issue.message;
    EXPECT_NE(issue.message.find(issue.path), std::string::npos) << issue.message;
    orphan_paths.push_back(issue.path);
  }
  std::sort(orphan_paths.begin(), orphan_paths.end());
  EXPECT_EQ(orphan_paths, (std::vector<std::string>{other_type.string(), orphan.string()}));
  EXPECT_EQ(MvtecDataset(dir.path().string(), {.category = "carpet", .split = Split::Test}).size(), 5);
}

TEST(Mvtec, BatchesCarryTheMasks) {
  ScratchDir dir;
  write_mvtec(dir.path());
  auto test =
      std::make_shared<MvtecDataset>(dir.path().string(), Selection{.category = "carpet", .split = Split::Test});
  DataLoader loader(test, {.batch_size = 5});
  const std::optional<Batch> batch = loader.next();
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->images.shape(), Shape({5, 3, H, W}));
  EXPECT_EQ(batch->masks.shape(), Shape({5, 1, H, W}));
  EXPECT_EQ(batch->labels.to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 0, 0, 1}));
  const std::vector<int64_t> areas = {kCut0.area(), kCut1.area(), 0, 0, kHole0.area()};
  for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(sum_of(batch->masks.select(0, i)), static_cast<double>(areas[i]));
}

// ---- layout detection --------------------------------------------------------

TEST(Layout, UnknownLayoutSaysWhichLayoutsWereLookedFor) {
  ScratchDir dir;
  write_flat_png(dir.path() / "images/a.png", H, W, 1);
  const std::string root = dir.path().string();
  for (const char* needle : {"dataset root ", "is in no known layout", "AITEX", "DAGM 2007", "MVTec AD"})
    expect_error_containing([&] { detect_layout(root); }, needle);
  expect_error_containing([&] { detect_layout(root); }, root);
  expect_error_containing([&] { open_dataset((dir.path() / "missing").string()); },
                          (dir.path() / "missing").string() + " does not exist");
}

// ---- DAGM 2007 ---------------------------------------------------------------

// Class1: Train 0001-0003 with Train/Label/0002_label.PNG; Test 0001, 0004 with
// Test/Label/0004_label.PNG. Class2: Label/ beside Train/ and Test/.
const Rect kLabel2{1, 2, 3, 4}, kLabel4{0, 0, 2, 2}, kClass2Label{5, 0, 1, W};

void write_dagm(const fs::path& root) {
  const fs::path c1 = root / "Class1", c2 = root / "Class2";
  for (int i : {3, 1, 2}) write_flat_png(c1 / "Train" / ("000" + std::to_string(i) + ".PNG"), H, W, i, 1);
  write_mask_png(c1 / "Train/Label/0002_label.PNG", H, W, kLabel2);
  touch(c1 / "Train/Label/Labels.txt");
  write_flat_png(c1 / "Test/0004.PNG", H, W, 14, 1);
  write_flat_png(c1 / "Test/0001.PNG", H, W, 11, 1);
  write_mask_png(c1 / "Test/Label/0004_label.PNG", H, W, kLabel4);
  write_flat_png(c2 / "Train/0001.PNG", H, W, 21, 1);
  write_flat_png(c2 / "Test/0002.PNG", H, W, 22, 1);
  write_mask_png(c2 / "Label/0002_label.PNG", H, W, kClass2Label);
}

TEST(Dagm, ReadsLabelsInsideAndBesideTheSplits) {
  ScratchDir dir;
  write_dagm(dir.path());
  const std::string root = dir.path().string();
  EXPECT_EQ(detect_layout(root), Layout::Dagm);
  const DatasetScan scan = scan_dagm(root);
  EXPECT_TRUE(scan.issues.empty()) << scan.issues.front().message;
  EXPECT_EQ(relative_paths(scan.files, dir.path()),
            (std::vector<std::string>{"Class1/Train/0001.PNG", "Class1/Train/0002.PNG", "Class1/Train/0003.PNG",
                                      "Class1/Test/0001.PNG", "Class1/Test/0004.PNG", "Class2/Train/0001.PNG",
                                      "Class2/Test/0002.PNG"}));
  const DagmDataset all(root, {}, {.color = ColorMode::Gray});
  const std::vector<int64_t> labels = {0, 1, 0, 0, 1, 0, 1};
  const std::vector<int64_t> areas = {0, kLabel2.area(), 0, 0, kLabel4.area(), 0, kClass2Label.area()};
  const std::vector<int> values = {1, 2, 3, 11, 14, 21, 22};
  ASSERT_EQ(all.size(), 7);
  for (int64_t i = 0; i < all.size(); ++i) {
    const Sample s = all.get(i);
    EXPECT_EQ(s.label, labels[i]) << s.path;
    EXPECT_EQ(s.defect_type, labels[i] ? "defect" : "good");
    EXPECT_EQ(s.category, i < 5 ? "Class1" : "Class2");
    expect_flat(s.image, values[i], s.path);
    EXPECT_EQ(s.mask.defined() ? sum_of(s.mask) : 0.0, static_cast<double>(areas[i])) << s.path;
  }
  EXPECT_EQ(DagmDataset(root, {.category = "Class1", .split = Split::Test}).size(), 2);
  EXPECT_EQ(DagmDataset(root, {.split = Split::Train, .labels = LabelFilter::Defective}).size(), 1);
  // One class folder as the root.
  EXPECT_EQ(DagmDataset((dir.path() / "Class2").string(), {}).size(), 2);
}

TEST(Dagm, OrphanLabelsAndMissingSplitsNameThePath) {
  ScratchDir dir;
  write_dagm(dir.path());
  const fs::path orphan = dir.path() / "Class1/Train/Label/0009_label.PNG";
  write_mask_png(orphan, H, W, kLabel2);
  fs::remove_all(dir.path() / "Class2/Test");
  const DatasetScan scan = scan_dagm(dir.path().string());
  ASSERT_EQ(scan.issues.size(), 3u);  // the orphan, Class2/Test missing, Class2/Label/0002 without image
  EXPECT_EQ(scan.issues[0].kind, LayoutIssue::Kind::OrphanMask);
  EXPECT_EQ(scan.issues[0].path, orphan.string());
  EXPECT_EQ(scan.issues[1].kind, LayoutIssue::Kind::MissingFolder);
  EXPECT_EQ(scan.issues[2].kind, LayoutIssue::Kind::OrphanMask);
  const std::string root = dir.path().string();
  EXPECT_EQ(DagmDataset(root, {.category = "Class1"}).size(), 5);
  expect_error_containing([&] { DagmDataset(root, {.category = "Class2", .split = Split::Test}); },
                          "missing folder " + (dir.path() / "Class2/Test").string());
}

// ---- AITEX -------------------------------------------------------------------

// Two defective images (one with two masks that overlap) and two good rolls.
const Rect kAitexMask{0, 0, 2, 4}, kAitexMask1{0, 0, 2, 4}, kAitexMask2{1, 2, 2, 4};

void write_aitex(const fs::path& root) {
  write_flat_png(root / "Defect_images/0002_019_01.png", H, W, 2, 1);
  write_flat_png(root / "Defect_images/0001_002_00.png", H, W, 1, 1);
  write_mask_png(root / "Mask_images/0001_002_00_mask.png", H, W, kAitexMask);
  write_mask_png(root / "Mask_images/0002_019_01_mask1.png", H, W, kAitexMask1);
  write_mask_png(root / "Mask_images/0002_019_01_mask2.png", H, W, kAitexMask2);
  write_flat_png(root / "NODefect_images/rollB/0001_000_05.png", H, W, 5, 1);
  write_flat_png(root / "NODefect_images/rollA/0001_000_02.png", H, W, 4, 1);
}

TEST(Aitex, DefectCodesMergedMasksAndGoodRolls) {
  ScratchDir dir;
  write_aitex(dir.path());
  const std::string root = dir.path().string();
  EXPECT_EQ(detect_layout(root), Layout::Aitex);
  const AitexDataset all(root, {}, {.color = ColorMode::Gray});
  EXPECT_EQ(
      relative_paths(all.files(), dir.path()),
      (std::vector<std::string>{"Defect_images/0001_002_00.png", "Defect_images/0002_019_01.png",
                                "NODefect_images/rollA/0001_000_02.png", "NODefect_images/rollB/0001_000_05.png"}));
  const Sample first = all.get(0), second = all.get(1), good = all.get(2);
  EXPECT_EQ(first.defect_type, "002");
  EXPECT_EQ(second.defect_type, "019");
  EXPECT_EQ(sum_of(first.mask), static_cast<double>(kAitexMask.area()));
  // Union of the two masks: 8 + 8 - 2 (row 1, columns 2-3 are in both).
  EXPECT_EQ(sum_of(second.mask), 8.0 + 8.0 - 2.0);
  EXPECT_EQ(good.label, 0);
  EXPECT_FALSE(good.mask.defined());
  expect_flat(good.image, 4, good.path);
  EXPECT_EQ(AitexDataset(root, {.labels = LabelFilter::Good}).size(), 2);
  EXPECT_EQ(AitexDataset(root, {.labels = LabelFilter::Defective}).size(), 2);
  expect_error_containing([&] { AitexDataset(root, {.split = Split::Train}); }, "no images in " + root);
}

TEST(Aitex, MissingMaskAndMissingFolders) {
  ScratchDir dir;
  write_aitex(dir.path());
  const std::string root = dir.path().string();
  fs::remove(dir.path() / "Mask_images/0001_002_00_mask.png");
  const std::string image = (dir.path() / "Defect_images/0001_002_00.png").string();
  expect_error_containing([&] { AitexDataset(root, {}); }, "defective image " + image + " has no mask");
  EXPECT_EQ(AitexDataset(root, {.labels = LabelFilter::Good}).size(), 2);
  fs::remove_all(dir.path() / "Mask_images");
  expect_error_containing([&] { AitexDataset(root, {}); }, "missing folder " + (dir.path() / "Mask_images").string());
  // Only the good rolls: enough for the good images, an error for the rest.
  fs::remove_all(dir.path() / "Defect_images");
  EXPECT_EQ(AitexDataset(root, {.labels = LabelFilter::Good}).size(), 2);
  expect_error_containing([&] { AitexDataset(root, {}); }, "missing folder " + (dir.path() / "Defect_images").string());
}

// ---- the summary behind `loom dataset info` ----------------------------------

TEST(DatasetSummary, CountsAndMeanMaskShares) {
  ScratchDir dir;
  write_mvtec(dir.path());
  const DatasetSummary summary = summarize_dataset(dir.path().string(), 2);
  EXPECT_EQ(summary.layout, Layout::MvtecAD);
  EXPECT_TRUE(summary.issues.empty());
  const double pixels = H * W;
  struct Expected {
    std::string category, split, type;
    int64_t images;
    double share;  // -1: a good group
  };
  const std::vector<Expected> expected = {
      {"carpet", "train", "good", 3, -1},
      {"carpet", "test", "good", 2, -1},
      {"carpet", "test", "cut", 2, (kCut0.area() / pixels + kCut1.area() / pixels) / 2},
      {"carpet", "test", "hole", 1, kHole0.area() / pixels},
      {"grid", "train", "good", 2, -1},
      {"grid", "test", "good", 1, -1},
      {"grid", "test", "broken", 1, kBroken0.area() / pixels},
  };
  ASSERT_EQ(summary.groups.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const GroupSummary& g = summary.groups[i];
    const Expected& e = expected[i];
    EXPECT_EQ(g.category + "/" + g.split + "/" + g.defect_type, e.category + "/" + e.split + "/" + e.type);
    EXPECT_EQ(g.images, e.images);
    if (e.share < 0) {
      EXPECT_EQ(g.masks_measured, 0);
    } else {
      EXPECT_EQ(g.masks_measured, e.images);
      EXPECT_NEAR(g.mean_mask_share, e.share, 1e-12) << g.defect_type;
    }
  }
  // The same numbers on one thread.
  const DatasetSummary serial = summarize_dataset(dir.path().string(), 1);
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(serial.groups[i].mean_mask_share, summary.groups[i].mean_mask_share);

  const nlohmann::ordered_json json = summary_to_json(summary);
  EXPECT_EQ(json["layout"], "MVTec AD");
  EXPECT_EQ(json["images"], 12);
  ASSERT_EQ(json["categories"].size(), 2u);
  const auto& carpet = json["categories"][0];
  EXPECT_EQ(carpet["name"], "carpet");
  EXPECT_EQ(carpet["splits"][0]["name"], "train");
  EXPECT_EQ(carpet["splits"][0]["good"], 3);
  EXPECT_EQ(carpet["splits"][1]["name"], "test");
  EXPECT_EQ(carpet["splits"][1]["good"], 2);
  EXPECT_EQ(carpet["splits"][1]["defects"][0]["type"], "cut");
  EXPECT_EQ(carpet["splits"][1]["defects"][0]["images"], 2);
  EXPECT_NEAR(carpet["splits"][1]["defects"][0]["mean_mask_share"].get<double>(), expected[2].share, 1e-12);
  EXPECT_TRUE(json["warnings"].empty());

  const std::string table = format_summary_table(summary);
  EXPECT_NE(table.find("MVTec AD dataset at " + dir.path().string() + ": 12 images, 4 defective"), std::string::npos)
      << table;
  // hole: 1 of 48 pixels = 2.083%
  EXPECT_TRUE(std::regex_search(table, std::regex("\ncarpet +test +hole +1 +1 +2\\.083%\n"))) << table;
  EXPECT_NE(table.find("no warnings"), std::string::npos) << table;
}

TEST(DatasetSummary, WarnsAboutMissingMasksOrphansAndSizeMismatches) {
  ScratchDir dir;
  write_mvtec(dir.path());
  const fs::path missing = dir.path() / "carpet/ground_truth/cut/000_mask.png";
  const fs::path orphan = dir.path() / "grid/ground_truth/broken/003_mask.png";
  const fs::path resized = dir.path() / "carpet/ground_truth/hole/000_mask.png";
  fs::remove(missing);
  write_mask_png(orphan, H, W, kCut0);
  write_mask_png(resized, H, W + 2, kHole0);
  const DatasetSummary summary = summarize_dataset(dir.path().string());
  std::vector<std::pair<LayoutIssue::Kind, std::string>> found;
  for (const LayoutIssue& issue : summary.issues) found.emplace_back(issue.kind, issue.path);
  const std::vector<std::pair<LayoutIssue::Kind, std::string>> expected = {
      {LayoutIssue::Kind::MissingMask, (dir.path() / "carpet/test/cut/000.png").string()},
      {LayoutIssue::Kind::OrphanMask, orphan.string()},
      {LayoutIssue::Kind::SizeMismatch, resized.string()},
  };
  EXPECT_EQ(found, expected);
  // cut keeps both images but measures only the mask it has; hole measures none.
  const GroupSummary& cut = summary.groups[2];
  EXPECT_EQ(cut.defect_type, "cut");
  EXPECT_EQ(cut.images, 2);
  EXPECT_EQ(cut.masks_measured, 1);
  EXPECT_NEAR(cut.mean_mask_share, kCut1.area() / double(H * W), 1e-12);
  EXPECT_EQ(summary.groups[3].masks_measured, 0);

  const std::string table = format_summary_table(summary);
  EXPECT_NE(table.find("warnings (3):"), std::string::npos) << table;
  EXPECT_NE(table.find("missing mask: defective image " + (dir.path() / "carpet/test/cut/000.png").string()),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("mask without image: mask " + orphan.string()), std::string::npos) << table;
  EXPECT_NE(table.find("size mismatch: mask " + resized.string() + " is 10x6"), std::string::npos) << table;
  const nlohmann::ordered_json json = summary_to_json(summary);
  ASSERT_EQ(json["warnings"].size(), 3u);
  EXPECT_EQ(json["warnings"][2]["kind"], "size mismatch");
  EXPECT_EQ(json["warnings"][2]["path"], resized.string());
  EXPECT_TRUE(json["categories"][0]["splits"][1]["defects"][1]["mean_mask_share"].is_null());
}

// File names are bytes: one that is not UTF-8 (Latin-1 "caf\xe9") still gives
// valid JSON, the bad byte replaced by U+FFFD.
TEST(DatasetSummary, JsonTextIsValidForNonUtf8FileNames) {
  ScratchDir dir;
  write_mvtec(dir.path());
  const fs::path odd = dir.path() / "carpet/ground_truth/cut/caf\xe9_mask.png";  // an orphan: a warning
  write_mask_png(odd, H, W, kCut0);
  const std::string text = format_summary_json(summarize_dataset(dir.path().string()));
  nlohmann::json parsed;
  ASSERT_NO_THROW(parsed = nlohmann::json::parse(text)) << text;
  bool found = false;
  for (const auto& warning : parsed["warnings"])
    found |= warning["path"].get<std::string>().find("caf\xef\xbf\xbd_mask.png") != std::string::npos;
  EXPECT_TRUE(found) << text;
}

TEST(DatasetSummary, CorruptMaskIsAWarning) {
  ScratchDir dir;
  write_mvtec(dir.path());
  const fs::path mask = dir.path() / "grid/ground_truth/broken/000_mask.png";
  std::ofstream(mask, std::ios::binary | std::ios::trunc) << "\x89PNG garbage";
  const DatasetSummary summary = summarize_dataset(dir.path().string());
  ASSERT_EQ(summary.issues.size(), 1u);
  EXPECT_EQ(summary.issues[0].kind, LayoutIssue::Kind::Unreadable);
  EXPECT_NE(summary.issues[0].message.find(mask.string()), std::string::npos) << summary.issues[0].message;
}

}  // namespace
}  // namespace loom::data
