// eval_gen.cpp: `loom eval-gen` (see eval_gen.h): images from a generator run
// or a folder, real images from a folder or a dataset, texture features, and
// KID / FID / diversity (gen_metrics.h) with a report in words and in JSON.
//
// Randomness: the generator's noise comes from Generator(seed), drawn batch
// after batch; the KID subsets and then the k-means seeding from a second,
// fresh Generator(seed). The same options give the same numbers.
#include "trainers/eval_gen.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/image_folder.h"
#include "data/layout.h"
#include "data/transforms.h"
#include "tensor/error.h"
#include "tensor/file_io.h"
#include "trainers/inference.h"

namespace loom::eval {
namespace {

constexpr int64_t kDefaultKidSubsetSize = 1000;  // torch-fidelity's
// IC-LPIPS clusters around 10 training images; at least 4 real images a cluster
// by default, so that the real set's own score (its clusters' pairs) exists.
constexpr int64_t kDefaultClusters = 10;

data::ColorMode color_of(int64_t channels) { return channels == 1 ? data::ColorMode::Gray : data::ColorMode::RGB; }

const char* color_name(int64_t channels) { return channels == 1 ? "gray" : "RGB"; }

// Appends the feature vectors of a batch (b, C, S, S) in [0, 1] to `out`:
// per layer, the spatial means of its channels, then their spatial stds.
void append_features(models::TextureFeatures& extractor, const Tensor& images01, FeatureMatrix& out) {
  NoGradGuard no_grad;
  const std::vector<Tensor> maps = extractor.features(data::normalize_to_pm1(images01));  // each (b, C_l, H_l, W_l)
  const int64_t b = images01.size(0);
  std::vector<std::vector<double>> rows(static_cast<size_t>(b));
  for (const Tensor& psi : maps) {
    const int64_t channels = psi.size(1), area = psi.size(2) * psi.size(3);
    const std::vector<double> v = psi.contiguous().to_vector<double>();  // (b, C_l, H_l W_l)
    for (int64_t i = 0; i < b; ++i) {
      std::vector<double> means(static_cast<size_t>(channels)), stds(static_cast<size_t>(channels));
      for (int64_t c = 0; c < channels; ++c) {
        const double* x = v.data() + (i * channels + c) * area;
        double sum = 0;
        for (int64_t p = 0; p < area; ++p) sum += x[p];
        const double mean = sum / static_cast<double>(area);
        double squares = 0;
        for (int64_t p = 0; p < area; ++p) squares += (x[p] - mean) * (x[p] - mean);
        means[c] = mean;
        stds[c] = std::sqrt(squares / static_cast<double>(area));
      }
      rows[i].insert(rows[i].end(), means.begin(), means.end());
      rows[i].insert(rows[i].end(), stds.begin(), stds.end());
    }
  }
  for (const std::vector<double>& row : rows) {
    LOOM_CHECK(out.rows == 0 || out.cols == static_cast<int64_t>(row.size()), "features: ", row.size(),
               " dimensions, expected ", out.cols);
    out.cols = static_cast<int64_t>(row.size());
    out.values.insert(out.values.end(), row.begin(), row.end());
    ++out.rows;
  }
}

// n images from the run's sampler, `batch` at a time, each batch's features
// appended; the first batch tells the images' channels and size, and the
// extractor is built for them.
struct GeneratedFeatures {
  FeatureMatrix features;
  int64_t channels = 0, size = 0;
  std::shared_ptr<models::TextureFeatures> extractor;
  std::string description;
};

GeneratedFeatures generator_features(const EvalGenOptions& o) {
  const train::TrainedRun run = train::open_trained_run(o.generator);
  const train::ModelInference& entry = train::inference_of(run.model);
  LOOM_CHECK(entry.sampler != nullptr, "--generator ", o.generator, " is a ", run.model,
             " run, which does not draw images; eval-gen needs a generator run (dcgan or cgan), or --fake DIR");
  LOOM_CHECK(o.n >= 2 && o.n <= 100000, "--n must be in 2..100000, got ", o.n);
  const std::unique_ptr<train::ImageSampler> sampler = entry.sampler(run);
  Generator noise(o.seed);
  GeneratedFeatures out;
  out.description = run.model + " run " + run.checkpoint.string();
  for (int64_t done = 0; done < o.n;) {
    const int64_t b = std::min(o.batch, o.n - done);
    const Tensor images = sampler->sample(b, noise);  // (b, C, S, S) in [0, 1]
    if (!out.extractor) {
      out.channels = images.size(1);
      out.size = images.size(2);
      out.extractor = make_feature_extractor(o.vgg19, o.extractor_seed, out.channels);
    }
    append_features(*out.extractor, images, out.features);
    done += b;
  }
  return out;
}

// f(), with a loom::Error's message prefixed by "<option>: ".
template <class F>
auto with_context(const char* option, F f) {
  try {
    return f();
  } catch (const Error& e) {
    throw Error(std::string(option) + ": " + e.what());
  }
}

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

nlohmann::json number_or_null(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(); }

std::string diversity_text(const DiversityResult& d) {
  if (d.clusters_scored == 0) return "undefined (no cluster has 2 members)";
  return format("%.4f", d.score) + " (" + std::to_string(d.clusters_scored) + " of " +
         std::to_string(d.clusters.size()) + " clusters scored)";
}

}  // namespace

std::shared_ptr<models::TextureFeatures> make_feature_extractor(const std::string& vgg19, uint64_t seed,
                                                                int64_t channels) {
  LOOM_CHECK(channels == 1 || channels == 3, "eval-gen: images must have 1 or 3 channels, got ", channels);
  if (vgg19.empty()) return models::TextureFeatures::random({.in_channels = channels, .seed = seed});
  return models::TextureFeatures::vgg19({.path = vgg19, .in_channels = channels});
}

FeatureMatrix image_features(models::TextureFeatures& extractor, const Tensor& images01, int64_t batch) {
  LOOM_CHECK(images01.dim() == 4, "eval-gen: expected images (N, C, S, S), got ", shape_str(images01.shape()));
  LOOM_CHECK(batch >= 1, "eval-gen: the batch must be at least 1, got ", batch);
  FeatureMatrix out;
  for (int64_t start = 0; start < images01.size(0); start += batch)
    append_features(extractor, images01.narrow(0, start, std::min(batch, images01.size(0) - start)), out);
  return out;
}

Tensor resize_to_square(const Tensor& image, int64_t size) {
  const int64_t h = image.size(-2), w = image.size(-1);
  if (h == size && w == size) return image;
  if (h >= size && w >= size) return data::resize_area(image, size, size);
  return data::resize_bilinear(image, size, size);
}

ImageSet open_image_folder(const std::string& dir, int64_t channels) {
  const data::DatasetScan scan = data::scan_image_folder(dir);  // throws: missing, not a folder, no images
  return {
      .dataset = std::make_shared<data::FileListDataset>(scan.files, data::DatasetOptions{.color = color_of(channels)}),
      .description = "plain image folder"};
}

ImageSet open_real_images(const std::string& root, const std::string& category, int64_t channels) {
  data::Layout layout = data::Layout::ImageFolder;
  try {
    layout = data::detect_layout(root);
  } catch (const Error&) {
    layout = data::Layout::ImageFolder;  // no dataset layout: a plain folder (which says if it is missing or empty)
  }
  if (layout == data::Layout::ImageFolder) {
    LOOM_CHECK(category.empty(), "--category ", category, ": ", root, " is a plain image folder, not a dataset");
    return open_image_folder(root, channels);
  }
  const data::DatasetScan scan = data::scan_dataset(root);
  const std::vector<data::SampleFile> files =
      data::select_files(scan, {.category = category, .split = data::Split::All, .labels = data::LabelFilter::Good});
  return {.dataset = std::make_shared<data::FileListDataset>(files, data::DatasetOptions{.color = color_of(channels)}),
          .description = std::string(data::layout_name(layout)) + " dataset: good images of both splits" +
                         (category.empty() ? "" : ", category " + category)};
}

FeatureMatrix dataset_features(models::TextureFeatures& extractor, const data::Dataset& images, int64_t size,
                               int64_t batch) {
  LOOM_CHECK(batch >= 1, "eval-gen: the batch must be at least 1, got ", batch);
  FeatureMatrix out;
  for (int64_t start = 0; start < images.size(); start += batch) {
    std::vector<Tensor> loaded;
    for (int64_t i = start; i < std::min(images.size(), start + batch); ++i)
      loaded.push_back(resize_to_square(images.get(i).image, size));  // (C, S, S)
    append_features(extractor, stack(loaded, 0), out);
  }
  return out;
}

EvalGenReport evaluate_generator(const EvalGenOptions& o) {
  LOOM_CHECK(o.generator.empty() != o.fake_dir.empty(),
             "give exactly one of --generator RUN and --fake DIR (the images to judge)");
  LOOM_CHECK(!o.real.empty(), "--real DIR (the real images) is required");
  LOOM_CHECK(o.batch >= 1, "--batch must be at least 1, got ", o.batch);
  // The cheap checks first, before any image is drawn: the real images exist,
  // and an explicit KID subset size fits both sets.
  const int64_t real_files =
      with_context("--real", [&] { return open_real_images(o.real, o.category, 3); }).dataset->size();
  const int64_t fake_files =
      o.generator.empty() ? with_context("--fake", [&] { return open_image_folder(o.fake_dir, 3); }).dataset->size()
                          : o.n;
  if (o.kid_subset_size > 0)
    check_kid_counts(real_files, fake_files, {.subset_size = o.kid_subset_size, .subsets = o.kid_subsets});

  EvalGenReport r;
  FeatureMatrix fake;
  std::shared_ptr<models::TextureFeatures> extractor;
  if (!o.generator.empty()) {
    GeneratedFeatures generated = generator_features(o);
    fake = std::move(generated.features);
    extractor = generated.extractor;
    r.channels = generated.channels;
    r.image_size = generated.size;
    r.fake_description = generated.description + ", noise seed " + std::to_string(o.seed);
  } else {
    const ImageSet probe = with_context("--fake", [&] { return open_image_folder(o.fake_dir, 3); });
    const data::ImageInfo first = data::read_image_info(probe.dataset->files().front().image_path);
    r.channels = first.channels <= 2 ? 1 : 3;  // gray (+ alpha) -> gray, else RGB
    r.image_size = o.image > 0 ? o.image : first.height;
    LOOM_CHECK(r.image_size >= 8 && r.image_size <= 1024, "--image: the image size must be in 8..1024 px, got ",
               r.image_size);
    const ImageSet fakes = open_image_folder(o.fake_dir, r.channels);
    extractor = make_feature_extractor(o.vgg19, o.extractor_seed, r.channels);
    fake = dataset_features(*extractor, *fakes.dataset, r.image_size, o.batch);
    r.fake_description = "folder " + o.fake_dir;
  }
  const ImageSet reals = with_context("--real", [&] { return open_real_images(o.real, o.category, r.channels); });
  const FeatureMatrix real = dataset_features(*extractor, *reals.dataset, r.image_size, o.batch);
  r.real_description = reals.description + " " + o.real;
  r.real_count = real.rows;
  r.fake_count = fake.rows;
  r.feature_dim = real.cols;
  r.extractor = o.vgg19.empty() ? "random" : "vgg19";
  r.extractor_description = extractor->description();

  check_finite_features(fake, o.generator.empty() ? "--fake " + o.fake_dir : "--generator " + o.generator);
  check_finite_features(real, "--real " + o.real);
  LOOM_CHECK(real.rows >= 2, "KID and FID need at least 2 real images, but --real ", o.real, " holds ", real.rows);
  LOOM_CHECK(fake.rows >= 2, "KID and FID need at least 2 generated images, got ", fake.rows);

  // metrics
  Generator metrics_gen(o.seed);
  // Default: half the smaller set (at most 1000), so that the subsets differ and their std means something.
  const int64_t subset_size = o.kid_subset_size > 0
                                  ? o.kid_subset_size
                                  : std::clamp<int64_t>(std::min(real.rows, fake.rows) / 2, 2, kDefaultKidSubsetSize);
  r.kid = kernel_inception_distance(real, fake, {.subset_size = subset_size, .subsets = o.kid_subsets}, metrics_gen);
  r.fid = frechet_distance(real, fake);
  r.clusters = o.clusters >= 0 ? o.clusters : std::clamp<int64_t>(real.rows / 4, 1, kDefaultClusters);
  const DiversityReference reference(real, {.clusters = r.clusters}, metrics_gen);
  r.diversity_fake = reference.score(fake);
  r.diversity_real = reference.score(real);

  // notes
  const std::string comparability =
      r.extractor == "random"
          ? "features come from loom's fixed random extractor (seed " + std::to_string(o.extractor_seed) +
                "), not Inception-v3: these numbers compare runs measured the same way only and cannot be "
                "compared with published Inception-based FID / KID figures"
          : "features come from VGG19, not Inception-v3: these numbers compare runs measured the same way only and "
            "cannot be compared with published Inception-based FID / KID figures";
  r.notes.push_back(comparability);
  if (std::min(real.rows, fake.rows) <= real.cols)
    r.notes.push_back("FID from " + std::to_string(std::min(real.rows, fake.rows)) + " images in " +
                      std::to_string(real.cols) +
                      " feature dimensions: a covariance is singular and FID is strongly biased upwards; prefer KID, "
                      "or use more images than dimensions");
  r.notes.push_back(
      "diversity: mean standardised feature distance of pairs inside clusters (in the spirit of IC-LPIPS; not LPIPS)");

  // words
  std::ostringstream t;
  t << "extractor  " << r.extractor << ": " << r.extractor_description << "\n"
    << "features   per-channel spatial mean and std of each layer: " << r.feature_dim << " dims\n"
    << "real       " << r.real_count << " images, " << r.real_description << ", at " << r.image_size << "x"
    << r.image_size << " " << color_name(r.channels) << "\n"
    << "generated  " << r.fake_count << " images, " << r.fake_description << "\n"
    << "KID        " << format("%.6g", r.kid.mean) << " +- " << format("%.3g", r.kid.std) << "  (" << r.kid.subsets
    << " subsets of " << r.kid.subset_size << "; unbiased MMD^2, kernel (x.y/d + 1)^3)\n"
    << "FID        " << format("%.6g", r.fid) << "\n"
    << "diversity  generated " << diversity_text(r.diversity_fake) << "; real " << diversity_text(r.diversity_real)
    << "  ("
    << (r.clusters == 0 ? std::string("clusters: nearest real image")
                        : "k-means, " + std::to_string(r.clusters) + " clusters of the real images")
    << ")\n";
  for (const std::string& note : r.notes) t << "note: " << note << "\n";
  r.text = t.str();

  // JSON
  nlohmann::json extractor_json = {
      {"kind", r.extractor},
      {"description", r.extractor_description},
      {"feature", "per layer: spatial mean of each channel, then spatial std (population)"},
      {"feature_dim", r.feature_dim}};
  if (r.extractor == "random")
    extractor_json["seed"] = o.extractor_seed;
  else
    extractor_json["vgg19"] = o.vgg19;
  r.json = {
      {"extractor", extractor_json},
      {"comparable_with_published_figures", false},
      {"notes", r.notes},
      {"image_size", r.image_size},
      {"channels", r.channels},
      {"real", {{"source", o.real}, {"description", r.real_description}, {"count", r.real_count}}},
      {"generated",
       {{"source", o.generator.empty() ? o.fake_dir : o.generator},
        {"description", r.fake_description},
        {"count", r.fake_count},
        {"seed", o.seed}}},
      {"kid",
       {{"mean", r.kid.mean},
        {"std", r.kid.std},
        {"subset_size", r.kid.subset_size},
        {"subsets", r.kid.subsets},
        {"estimator", "unbiased MMD^2, kernel (x.y/d + 1)^3, mean and std (ddof 0) over subsets"}}},
      {"fid", r.fid},
      {"diversity",
       {{"clusters", r.clusters},
        {"method", r.clusters == 0 ? "nearest real image" : "k-means of the real images"},
        {"dims_kept", r.diversity_fake.dims_kept},
        {"generated", number_or_null(r.diversity_fake.score)},
        {"generated_clusters_scored", r.diversity_fake.clusters_scored},
        {"real", number_or_null(r.diversity_real.score)},
        {"real_clusters_scored", r.diversity_real.clusters_scored}}},
  };
  if (!o.out_json.empty()) {
    const std::string text = r.json.dump(2) + "\n";
    write_file_atomically(o.out_json, text.data(), text.size(), "eval-gen --out", Durability::RenameOnly);
  }
  return r;
}

}  // namespace loom::eval
