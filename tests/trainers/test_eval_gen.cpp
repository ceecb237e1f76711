// test_eval_gen.cpp: `loom eval-gen` (trainers/eval_gen.h) at tiny sizes:
// - the feature vector of an image is the spatial mean and std of every
//   channel of every extractor layer (recomputed here element by element), the
//   same whatever the batch;
// - resizing: the area filter when shrinking, bilinear when enlarging;
// - real images: a plain folder gives all its images, a dataset its good ones
//   of both splits; missing and empty folders and a category of a plain folder
//   are refused naming the path;
// - a whole evaluation of a tiny dcgan run equals KID / FID / diversity
//   (gen_metrics.h) on features of the run's own samples (loom sample's
//   sample_run) and of the real images, computed here step by step; the same
//   options give the same numbers; the report names the extractor and says
//   the numbers cannot be compared with published Inception-based figures;
// - --fake DIR: a folder against itself has FID 0 and equal diversity;
// - errors: a detector run (wae), both or neither image source, too few images
//   for the KID subset size.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "autograd/grad_mode.h"
#include "data/fabric/dataset.h"
#include "data/image.h"
#include "data/transforms.h"
#include "tensor/error.h"
#include "tensor/random.h"
#include "tensor/safetensors.h"
#include "tests/trainers/train_test_util.h"
#include "trainers/eval_gen.h"
#include "trainers/sample.h"
#include "trainers/train_dcgan.h"
#include "trainers/train_wae.h"

using namespace loom;
using namespace loom::eval;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) { return train::test::fresh_dir("loom_test_eval_gen", name); }

template <class Options>
fs::path train_run(void (*add)(train::SettingsBinder&, Options&), fs::path (*run)(train::SettingsBinder&, Options&),
                   std::vector<std::string> args) {
  args.insert(args.end(), {"--quiet", "--sample-every", "0", "--checkpoint-every", "0"});
  return train::test::run_trainer<Options>(add, run, args);
}

// A dcgan run of 16 x 16 RGB images.
const fs::path& tiny_dcgan_run() {
  static const fs::path run = [] {
    const fs::path dir = fresh_dir("dcgan");
    train_run(train::add_dcgan_options, train::train_dcgan,
              {"--image", "16", "--width", "4", "--nz", "8", "--batch", "4", "--steps", "2", "--fabric-images", "8",
               "--samples", "4", "--seed", "5", "--run-dir", dir.string()});
    return dir;
  }();
  return run;
}

const fs::path& tiny_wae_run() {
  static const fs::path run = [] {
    const fs::path dir = fresh_dir("wae");
    train_run(train::add_wae_options, train::train_wae,
              {"--image", "16", "--width", "4", "--latent", "4", "--batch", "2", "--steps", "1", "--val-good", "2",
               "--val-defects", "1", "--fabric-images", "4", "--run-dir", dir.string()});
    return dir;
  }();
  return run;
}

// A procedural MVTec-layout dataset: twill_denim with 12 train/good, 3 test/good
// and 3 test/hole images of 24 x 24 (not the generator's 16: they get resized).
const fs::path& tiny_dataset() {
  static const fs::path root = [] {
    const fs::path dir = fresh_dir("fabric");
    data::fabric::write_fabric_dataset({.out_dir = dir.string(),
                                        .categories = {"twill_denim"},
                                        .defects = {data::fabric::DefectKind::Hole},
                                        .n_train = 12,
                                        .n_test = 3,
                                        .size = 24,
                                        .seed = 3});
    return dir;
  }();
  return root;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

EvalGenOptions dcgan_options() {
  EvalGenOptions o;
  o.generator = tiny_dcgan_run().string();
  o.real = (tiny_dataset() / "twill_denim").string();
  o.n = 20;
  o.seed = 4;
  o.kid_subsets = 10;
  o.batch = 64;  // one batch: the noise is then exactly sample_run's
  return o;
}

}  // namespace

// f = per layer [mean_hw psi[c] for c], [std_hw psi[c] for c] (population std),
// recomputed element by element from TextureFeatures::features.
TEST(EvalGenFeatures, SpatialMeanAndStdOfEveryChannel) {
  Generator gen(1);
  const Tensor images = rand({5, 3, 16, 16}, gen);  // (5, 3, 16, 16) in [0, 1]
  const auto extractor = make_feature_extractor("", 0, 3);
  const FeatureMatrix f = image_features(*extractor, images, 2);
  ASSERT_EQ(f.rows, 5);
  ASSERT_EQ(f.cols, 2 * (16 + 32 + 64));
  std::vector<Tensor> maps;
  {
    NoGradGuard no_grad;
    maps = extractor->features(data::normalize_to_pm1(images));
  }
  for (int64_t i = 0; i < 5; ++i) {
    int64_t column = 0;
    for (const Tensor& psi : maps) {
      const int64_t channels = psi.size(1), h = psi.size(2), w = psi.size(3);
      for (int64_t pass = 0; pass < 2; ++pass)
        for (int64_t c = 0; c < channels; ++c, ++column) {
          double sum = 0, squares = 0;
          for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x) sum += psi.at({i, c, y, x});
          const double mean = sum / (h * w);
          for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x) squares += std::pow(psi.at({i, c, y, x}) - mean, 2);
          const double expected = pass == 0 ? mean : std::sqrt(squares / (h * w));
          EXPECT_NEAR(f.row(i)[column], expected, 1e-6 * (1 + std::abs(expected)))
              << "image " << i << " col " << column;
        }
    }
  }
  EXPECT_EQ(image_features(*extractor, images, 5).values, f.values);  // the batch does not matter
  // a gray extractor takes 1-channel images
  EXPECT_EQ(image_features(*make_feature_extractor("", 0, 1), rand({2, 1, 16, 16}, gen), 4).cols, 224);
  EXPECT_THROW(make_feature_extractor("", 0, 2), Error);
  EXPECT_THROW(make_feature_extractor("/nonexistent/vgg19.safetensors", 0, 3), Error);
}

TEST(EvalGenImages, AreaWhenShrinkingBilinearWhenEnlarging) {
  Generator gen(2);
  const Tensor big = rand({3, 32, 24}, gen), small = rand({3, 8, 8}, gen);
  EXPECT_EQ(resize_to_square(big, 16).to_vector<float>(), data::resize_area(big, 16, 16).to_vector<float>());
  EXPECT_EQ(resize_to_square(small, 16).to_vector<float>(), data::resize_bilinear(small, 16, 16).to_vector<float>());
  EXPECT_EQ(resize_to_square(big, 28).to_vector<float>(), data::resize_bilinear(big, 28, 28).to_vector<float>());
  EXPECT_EQ(resize_to_square(small, 8).to_vector<float>(), small.to_vector<float>());
}

TEST(EvalGenImages, FolderAllImagesDatasetGoodImagesOnly) {
  const fs::path category = tiny_dataset() / "twill_denim";
  const ImageSet dataset = open_real_images(category.string(), "", 3);
  EXPECT_EQ(dataset.dataset->size(), 12 + 3);  // train/good and test/good, not test/hole
  for (const data::SampleFile& file : dataset.dataset->files()) EXPECT_EQ(file.label, 0) << file.image_path;
  EXPECT_NE(dataset.description.find("MVTec AD"), std::string::npos) << dataset.description;
  EXPECT_EQ(open_real_images(tiny_dataset().string(), "twill_denim", 3).dataset->size(), 15);
  const ImageSet folder = open_real_images((category / "test").string(), "", 1);  // a plain folder: all 6 images
  EXPECT_EQ(folder.dataset->size(), 6);
  EXPECT_EQ(folder.dataset->get(0).image.size(0), 1);  // gray
  EXPECT_EQ(folder.description, "plain image folder");

  const std::string missing = message_of([] { open_real_images("/nonexistent/real_images", "", 3); });
  EXPECT_NE(missing.find("/nonexistent/real_images"), std::string::npos) << missing;
  const fs::path empty = fresh_dir("empty");
  fs::create_directories(empty);
  const std::string no_images = message_of([&] { open_real_images(empty.string(), "", 3); });
  EXPECT_NE(no_images.find("no images"), std::string::npos) << no_images;
  EXPECT_NE(no_images.find(empty.string()), std::string::npos) << no_images;
  EXPECT_THROW(open_real_images((category / "test").string(), "twill_denim", 3), Error);
}

// The evaluation = gen_metrics on features of sample_run's images (the same
// run, n and seed) and of the dataset's good images resized to 16 x 16.
TEST(EvalGen, DcganRunEqualsTheMetricsOnItsSamples) {
  const EvalGenOptions o = dcgan_options();
  const fs::path json_path = fresh_dir("report") / "eval_gen.json";
  EvalGenOptions with_json = o;
  with_json.out_json = json_path.string();
  const EvalGenReport report = evaluate_generator(with_json);

  const Tensor samples = train::sample_run(tiny_dcgan_run(), {.n = o.n, .seed = o.seed, .out = ""});  // (20, 3, 16, 16)
  const auto extractor = make_feature_extractor("", 0, 3);
  const FeatureMatrix fake = image_features(*extractor, samples, 7);
  std::vector<Tensor> real_images;
  const ImageSet reals = open_real_images(o.real, "", 3);
  for (int64_t i = 0; i < reals.dataset->size(); ++i)
    real_images.push_back(data::resize_area(reals.dataset->get(i).image, 16, 16));
  const FeatureMatrix real = image_features(*extractor, stack(real_images, 0), 4);
  Generator gen(o.seed);
  const KidResult kid = kernel_inception_distance(real, fake, {.subset_size = 7, .subsets = 10}, gen);
  const DiversityReference reference(real, {.clusters = 3}, gen);  // 15 real images / 4

  EXPECT_EQ(report.real_count, 15);
  EXPECT_EQ(report.fake_count, 20);
  EXPECT_EQ(report.image_size, 16);
  EXPECT_EQ(report.feature_dim, 224);
  EXPECT_EQ(report.kid.subset_size, 7);  // min(15, 20) / 2
  EXPECT_DOUBLE_EQ(report.kid.mean, kid.mean);
  EXPECT_DOUBLE_EQ(report.kid.std, kid.std);
  EXPECT_DOUBLE_EQ(report.fid, frechet_distance(real, fake));
  EXPECT_EQ(report.clusters, 3);
  EXPECT_DOUBLE_EQ(report.diversity_fake.score, reference.score(fake).score);
  EXPECT_DOUBLE_EQ(report.diversity_real.score, reference.score(real).score);
  EXPECT_GT(report.fid, 0);

  // same options, same numbers; another seed, other samples
  const EvalGenReport again = evaluate_generator(o);
  EXPECT_EQ(again.kid.per_subset, report.kid.per_subset);
  EXPECT_EQ(again.fid, report.fid);
  EvalGenOptions other = o;
  other.seed = 5;
  EXPECT_NE(evaluate_generator(other).fid, report.fid);

  // the report says which extractor and that the numbers are not Inception-based
  EXPECT_NE(report.text.find("extractor  random: random multi-scale"), std::string::npos) << report.text;
  EXPECT_NE(report.text.find("cannot be compared with published Inception-based FID / KID figures"), std::string::npos);
  EXPECT_NE(report.text.find("not LPIPS"), std::string::npos);
  std::ifstream in(json_path);
  const nlohmann::json json = nlohmann::json::parse(in);
  EXPECT_EQ(json["extractor"]["kind"], "random");
  EXPECT_EQ(json["extractor"]["feature_dim"], 224);
  EXPECT_EQ(json["comparable_with_published_figures"], false);
  EXPECT_DOUBLE_EQ(json["kid"]["mean"].get<double>(), report.kid.mean);
  EXPECT_DOUBLE_EQ(json["fid"].get<double>(), report.fid);
  EXPECT_EQ(json["generated"]["count"], 20);
  EXPECT_EQ(json["real"]["count"], 15);
  bool noted = false;
  for (const auto& note : json["notes"])
    noted |= note.get<std::string>().find("published Inception") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(EvalGen, FakeFolderAgainstItselfHasZeroFid) {
  const std::string good = (tiny_dataset() / "twill_denim" / "train" / "good").string();
  EvalGenOptions o;
  o.fake_dir = good;
  o.real = good;
  o.kid_subsets = 5;
  const EvalGenReport report = evaluate_generator(o);
  EXPECT_EQ(report.image_size, 24);  // the first fake image's
  EXPECT_EQ(report.channels, 3);
  EXPECT_EQ(report.fake_count, 12);
  EXPECT_NEAR(report.fid, 0, 1e-6);
  EXPECT_DOUBLE_EQ(report.diversity_fake.score, report.diversity_real.score);
  o.image = 16;
  EXPECT_EQ(evaluate_generator(o).image_size, 16);
}

// --vgg19 FILE: a file with torchvision's names and shapes up to relu3_1
// (features.0, 2, 5, 7, 10), random values: 2 (64 + 128 + 256) = 896 dims, and
// the report names VGG19 and still says it is not Inception.
TEST(EvalGen, Vgg19ExtractorWhenGiven) {
  Generator gen(8);
  const fs::path file = fresh_dir("vgg") / "vgg19.safetensors";
  fs::create_directories(file.parent_path());
  const std::vector<std::pair<int, std::pair<int64_t, int64_t>>> convs = {
      {0, {64, 3}}, {2, {64, 64}}, {5, {128, 64}}, {7, {128, 128}}, {10, {256, 128}}};
  std::map<std::string, Tensor> weights;
  for (const auto& [index, shape] : convs) {
    const auto [out, in] = shape;
    weights["features." + std::to_string(index) + ".weight"] =
        normal({out, in, 3, 3}, 0, std::sqrt(2.0 / (9.0 * in)), gen);
    weights["features." + std::to_string(index) + ".bias"] = Tensor::zeros({out});
  }
  save_safetensors(file.string(), weights);
  EvalGenOptions o = dcgan_options();
  o.vgg19 = file.string();
  o.out_json = (file.parent_path() / "report.json").string();
  const EvalGenReport report = evaluate_generator(o);
  EXPECT_EQ(report.extractor, "vgg19");
  EXPECT_EQ(report.feature_dim, 896);
  EXPECT_NE(report.text.find("extractor  vgg19: VGG19 features"), std::string::npos) << report.text;
  EXPECT_NE(report.text.find("from VGG19, not Inception-v3"), std::string::npos) << report.text;
  EXPECT_TRUE(std::isfinite(report.fid) && report.fid > 0);
  std::ifstream in(o.out_json);
  const nlohmann::json json = nlohmann::json::parse(in);
  EXPECT_EQ(json["extractor"]["kind"], "vgg19");
  EXPECT_EQ(json["extractor"]["vgg19"], file.string());
  EXPECT_EQ(json["comparable_with_published_figures"], false);
}

TEST(EvalGen, ClearErrors) {
  const EvalGenOptions base = dcgan_options();
  EvalGenOptions wae = base;
  wae.generator = tiny_wae_run().string();
  const std::string detector = message_of([&] { evaluate_generator(wae); });
  EXPECT_NE(detector.find("is a wae run, which does not draw images"), std::string::npos) << detector;

  EvalGenOptions both = base;
  both.fake_dir = base.real;
  EXPECT_NE(message_of([&] { evaluate_generator(both); }).find("exactly one of --generator"), std::string::npos);
  EvalGenOptions neither = base;
  neither.generator.clear();
  EXPECT_NE(message_of([&] { evaluate_generator(neither); }).find("exactly one of --generator"), std::string::npos);

  EvalGenOptions too_few = base;
  too_few.kid_subset_size = 100;
  const std::string kid = message_of([&] { evaluate_generator(too_few); });
  EXPECT_NE(kid.find("need at least 100 real images, but there are 15"), std::string::npos) << kid;

  EvalGenOptions missing = base;
  missing.real = "/nonexistent/real_images";
  EXPECT_NE(message_of([&] { evaluate_generator(missing); }).find("/nonexistent/real_images"), std::string::npos);
  EvalGenOptions no_run = base;
  no_run.generator = fresh_dir("no_run").string();
  EXPECT_THROW(evaluate_generator(no_run), Error);
}
