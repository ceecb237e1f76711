// eval_gen.h: `loom eval-gen`: the generation quality of a trained generator
// (a dcgan or cgan run), or of a folder of generated images, against real
// images: KID, FID and the clustered diversity score of gen_metrics.h, on
// features of the cgan texture extractor (models/texture_features.h).
//
// Images. Generated: n images drawn from the run's own sampler (inference.h)
// with Generator(seed), in batches; or every image of --fake DIR. Real: every
// image of a plain folder (data/image_folder.h, any depth), or of a dataset in
// the MVTec AD / DAGM / AITEX layout (data/layout.h): its good (defect-free)
// images of both splits, optionally of one category. Every image is loaded in
// the generator's colour mode (gray for a 1-channel generator, else RGB) and
// resized to its S x S: area filter when shrinking, bilinear when enlarging
// (no aspect-preserving crop). With --fake, S and the colour mode are those of
// the first fake image unless --image sets S.
//
// Features. The extractor E is cgan_gram's: the fixed random multi-scale
// network (RandomTextureOptions, seeded by extractor_seed, default channels
// 16-32-64, kernels 3-5-7) by default, torchvision's VGG19 (relu1_1, relu2_1,
// relu3_1) with --vgg19 FILE. Images in [0, 1] are mapped to [-1, 1] (E's
// input). The feature vector of an image is, for every layer l and channel c
// of psi_l (C_l, H_l, W_l), the spatial mean and the spatial standard
// deviation (population) of psi_l[c]:
//   f = [mean_hw psi_1[0], ..., mean_hw psi_1[C_1 - 1], std_hw psi_1[0], ..., std_hw psi_1[C_1 - 1],
//        mean_hw psi_2[0], ...]                        d = 2 sum_l C_l
// (224 dims for the random extractor, 896 for VGG19). These are first- and
// second-order texture statistics (the diagonal of the Gram matrices' spatial
// counterpart), small enough for FID's d x d covariances.
//
// Neither extractor is Inception-v3: the numbers compare runs measured with
// the same extractor (and, for the random one, the same extractor seed), never
// with published FID / KID figures. Every output says so.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/file_list_dataset.h"
#include "models/texture_features.h"
#include "tensor/tensor.h"
#include "trainers/gen_metrics.h"

namespace loom::eval {

struct EvalGenOptions {
  std::string generator;        // a dcgan or cgan run directory or checkpoint; or
  std::string fake_dir;         // a folder of generated images (exactly one of the two)
  std::string real;             // a folder of images or a dataset root
  std::string category;         // datasets: only this category ("" = all)
  int64_t n = 500;              // images drawn from the generator
  uint64_t seed = 0;            // the generator's noise, the KID subsets and the k-means seeding
  std::string vgg19;            // VGG19 weights (safetensors); empty: the random extractor
  uint64_t extractor_seed = 0;  // the random extractor's weights
  int64_t image = 0;            // --fake: S (0: the first fake image's height)
  int64_t kid_subset_size = 0;  // 0: min(1000, max(2, min(real images, generated images) / 2))
  int64_t kid_subsets = 100;
  int64_t clusters = -1;  // diversity: K k-means clusters of the real images; 0: nearest real
                          // image; < 0: min(10, max(1, real images / 4))
  int64_t batch = 32;     // images through the generator / the extractor at once
  std::string out_json;   // where to write the JSON report ("" = nowhere)
};

// The extractor of the options: random (seeded, in_channels = channels) or VGG19.
std::shared_ptr<models::TextureFeatures> make_feature_extractor(const std::string& vgg19, uint64_t seed,
                                                                int64_t channels);

// Feature vectors of images (N, C, S, S) in [0, 1], `batch` at a time: (N, 2 sum_l C_l).
FeatureMatrix image_features(models::TextureFeatures& extractor, const Tensor& images01, int64_t batch);

// The real images: every image of a plain folder, or the good images (both
// splits) of a dataset in a known layout, loaded with `channels` (1: gray,
// 3: RGB) at their own size. Throws naming the folder when it is missing,
// empty, or a dataset without good images (in `category`).
struct ImageSet {
  std::shared_ptr<data::FileListDataset> dataset;
  std::string description;  // "plain image folder" / "MVTec AD dataset: good images of both splits"
};
ImageSet open_real_images(const std::string& root, const std::string& category, int64_t channels);
// Every image below `dir` (a plain folder, any depth). Throws when it is missing or empty.
ImageSet open_image_folder(const std::string& dir, int64_t channels);

// Feature vectors of every image of `images`, each resized to size x size,
// `batch` at a time: (N, d).
FeatureMatrix dataset_features(models::TextureFeatures& extractor, const data::Dataset& images, int64_t size,
                               int64_t batch);

// (C, H, W) -> (C, size, size): area filter when shrinking both sides, bilinear otherwise.
Tensor resize_to_square(const Tensor& image, int64_t size);

struct EvalGenReport {
  std::string extractor;  // "random" or "vgg19"
  std::string extractor_description;
  int64_t feature_dim = 0;
  int64_t image_size = 0, channels = 0;
  int64_t real_count = 0, fake_count = 0;
  std::string real_description, fake_description;
  KidResult kid;
  double fid = 0;
  DiversityResult diversity_fake, diversity_real;
  int64_t clusters = 0;            // K (0: nearest real image)
  std::vector<std::string> notes;  // the comparability note, warnings (few images for FID, ...)
  nlohmann::json json;             // what --out writes
  std::string text;                // what the command prints
};

// Runs the whole evaluation (and writes options.out_json when set). Throws
// naming what is wrong: a run of a model that does not draw images, both or
// neither of generator / fake_dir, a missing or empty folder, too few images
// for the KID subset size or the clusters.
EvalGenReport evaluate_generator(const EvalGenOptions& options);

}  // namespace loom::eval
