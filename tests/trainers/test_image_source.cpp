// test_image_source.cpp: the training images of the image trainers
// (trainers/image_source.h): the procedural fabric pool and dataset folders.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "autograd/functions.h"
#include "data/image.h"
#include "data/transforms.h"
#include "tensor/random.h"
#include "trainers/image_source.h"

using namespace loom;
using namespace loom::train;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("loom_test_image_source_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  return dir;
}

bool same_values(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.to_vector<float>() == b.to_vector<float>();
}

// `count` random RGB images of 20x24 in `dir`.
void write_images(const fs::path& dir, int count, uint64_t seed) {
  Generator gen(seed);
  for (int i = 0; i < count; ++i)
    data::save_png((dir / ("img" + std::to_string(i) + ".png")).string(), rand({3, 20, 24}, gen));
}

ImageSourceOptions options(const std::string& data_dir, int64_t size, int64_t channels, int64_t batch,
                           uint64_t seed, int64_t fabric_images = 8) {
  ImageSourceOptions o;
  o.data_dir = data_dir;
  o.image_size = size;
  o.channels = channels;
  o.batch = batch;
  o.seed = seed;
  o.fabric_images = fabric_images;
  return o;
}

}  // namespace

TEST(FabricPool, ImageIDependsOnlyOnTheSeedAndI) {
  const auto small = make_fabric_pool(4, 16, 3, 9), large = make_fabric_pool(50, 16, 3, 9);
  const Tensor late_first = large->get(30).image;  // rendered before image 2
  const Tensor a = small->get(2).image, b = large->get(2).image;
  EXPECT_EQ(a.shape(), (Shape{3, 16, 16}));
  EXPECT_TRUE(same_values(a, b));
  EXPECT_TRUE(same_values(a, small->get(2).image));  // the cached copy
  EXPECT_FALSE(same_values(a, small->get(3).image));
  EXPECT_FALSE(same_values(a, make_fabric_pool(4, 16, 3, 10)->get(2).image));  // another seed
  for (float v : late_first.to_vector<float>()) ASSERT_TRUE(v >= 0 && v <= 1);
}

TEST(FabricPool, GrayIsTheLumaOfTheColourImage) {
  const Tensor rgb = make_fabric_pool(3, 16, 3, 1)->get(1).image;   // (3, 16, 16), 8-bit values
  const Tensor gray = make_fabric_pool(3, 16, 1, 1)->get(1).image;  // (1, 16, 16)
  ASSERT_EQ(gray.shape(), (Shape{1, 16, 16}));
  const auto c = rgb.to_vector<float>(), g = gray.to_vector<float>();
  // Both are rounded to 8 bits from the same float image: within one level plus rounding.
  for (size_t i = 0; i < g.size(); ++i) {
    const double luma = 0.299 * c[i] + 0.587 * c[256 + i] + 0.114 * c[512 + i];
    ASSERT_NEAR(g[i], luma, 1.0 / 255 + 1e-6) << "pixel " << i;
  }
}

TEST(ImageSource, FabricBatchesInMinusOneToOneAndACursorThatReplays) {
  ImageSource source(options("", 16, 3, 3, 4, 8));
  const Tensor first = source.next_batch();
  ASSERT_EQ(first.shape(), (Shape{3, 3, 16, 16}));
  for (float v : first.to_vector<float>()) ASSERT_TRUE(v >= -1 && v <= 1);
  const std::string cursor = source.cursor();
  const Tensor second = source.next_batch(), third = source.next_batch();  // the third crosses into epoch 1
  source.restore(cursor);
  EXPECT_TRUE(same_values(source.next_batch(), second));
  EXPECT_TRUE(same_values(source.next_batch(), third));
  // The batch holds pool images, x = 2 p - 1.
  const auto pool = make_fabric_pool(8, 16, 3, 4);
  bool found = false;
  for (int64_t i = 0; i < 8 && !found; ++i)
    found = same_values(first.select(0, 0).contiguous(), data::normalize_to_pm1(pool->get(i).image));
  EXPECT_TRUE(found);
}

TEST(ImageSource, PlainFolderIsResizedToTheImageSize) {
  const fs::path dir = fresh_dir("folder");
  write_images(dir / "sub", 5, 1);
  ImageSource source(options(dir.string(), 8, 1, 2, 0));
  EXPECT_NE(source.description().find("ImageFolder"), std::string::npos) << source.description();
  EXPECT_NE(source.description().find("5 images"), std::string::npos) << source.description();
  const Tensor batch = source.next_batch();
  ASSERT_EQ(batch.shape(), (Shape{2, 1, 8, 8}));
  for (float v : batch.to_vector<float>()) ASSERT_TRUE(v >= -1 && v <= 1);
}

TEST(ImageSource, MvtecFolderGivesTheTrainGoodImagesOnly) {
  const fs::path root = fresh_dir("mvtec");
  write_images(root / "cloth/train/good", 3, 2);
  write_images(root / "cloth/test/good", 2, 3);
  ImageSource source(options(root.string(), 8, 3, 3, 0));
  EXPECT_NE(source.description().find("MVTec AD"), std::string::npos) << source.description();
  EXPECT_NE(source.description().find("3 images"), std::string::npos) << source.description();
}

TEST(ImageSource, RefusesFewerImagesThanABatch) {
  const fs::path dir = fresh_dir("few");
  write_images(dir, 2, 1);
  EXPECT_THROW(ImageSource(options(dir.string(), 8, 3, 3, 0)), Error);
}
