// pipeline_synthesis.cpp: stage 3's synthetic defects (see pipeline_synthesis.h).
#include "trainers/pipeline_synthesis.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/grid.h"
#include "data/image.h"
#include "data/layout.h"
#include "data/mvtec.h"
#include "data/random_draws.h"
#include "data/transforms.h"
#include "nn/checkpoint.h"
#include "tensor/error.h"
#include "tensor/file_io.h"
#include "trainers/detection_metrics.h"
#include "trainers/inference.h"
#include "trainers/philox_stream.h"
#include "trainers/train_cgan.h"
#include "trainers/train_fusion.h"

namespace loom::eval {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kSampleOffset = uint64_t{1} << 60;  // sample k: + k 2^32

// Stage 1's generator, rebuilt by CganTrainer from the run's settings.
class CropGenerator {
 public:
  explicit CropGenerator(const fs::path& run) {
    const train::TrainedRun trained = open_stage_run(run, "cgan");
    train::restore_trainer_options(trained.settings, options_, train::add_cgan_options);
    options_.common.data.clear();  // drawing needs no training images
    trainer_ = std::make_unique<train::CganTrainer>(options_);
    nn::load_checkpoint(trained.checkpoint.string(), trainer_->state());
    trainer_->generator().eval();
  }
  int64_t crop_size() const { return options_.image; }
  // G(z, E(c)), z ~ N(0, I) from gen; condition patch (1, 3, S_c, S_c) in [0, 1] -> (1, 3, S_c, S_c) in [0, 1].
  Tensor crop(const Tensor& patch, Generator& gen) {
    const Tensor g = trainer_->extractor()(data::normalize_to_pm1(patch));  // (1, gram_dim)
    const Tensor z = randn({1, options_.nz}, gen);                          // (1, nz)
    return data::denormalize_from_pm1(trainer_->generator().forward(z, g));
  }

 private:
  train::CganTrainOptions options_;
  std::unique_ptr<train::CganTrainer> trainer_;
};

// Stage 2's fusing network T, rebuilt by FusionTrainer from the run's settings.
class Fuser {
 public:
  explicit Fuser(const fs::path& run) {
    const train::TrainedRun trained = open_stage_run(run, "fusion");
    train::restore_trainer_options(trained.settings, options_, train::add_fusion_options);
    LOOM_CHECK(!options_.dgt, "stage 3: the fusion run ", run.string(),
               " was trained with --dgt, whose input is the DGT encoding, not a pasted image; train it without --dgt");
    options_.common.data.clear();
    trainer_ = std::make_unique<train::FusionTrainer>(options_);
    nn::load_checkpoint(trained.checkpoint.string(), trainer_->state());
    trainer_->generator().eval();
  }
  int64_t image_size() const { return options_.image; }
  // T(x): (1, 3, S, S) in [0, 1] -> (1, 3, S, S) in [0, 1].
  Tensor fuse(const Tensor& x) {
    return data::denormalize_from_pm1(trainer_->generator().forward(data::normalize_to_pm1(x)));
  }

 private:
  train::FusionTrainOptions options_;
  std::unique_ptr<train::FusionTrainer> trainer_;
};

// Rounded to 8 bits, as the PNG files will hold it.
Tensor as_8bit(const Tensor& image01) { return data::to_float01(data::to_uint8(clamp(image01, 0.0, 1.0))); }

// The target's categories: `wanted`, or every category of the dataset.
std::vector<std::string> target_categories(const fs::path& target, const std::vector<std::string>& wanted) {
  if (!wanted.empty()) return wanted;
  std::set<std::string> found;
  for (const data::SampleFile& f : data::scan_dataset(target.string()).files) found.insert(f.category);
  return {found.begin(), found.end()};
}

// Every train/good image of `category`, area-resized to S x S, with its file stem.
std::vector<std::pair<std::string, Tensor>> good_images(const fs::path& target, const std::string& category,
                                                        int64_t size) {
  std::shared_ptr<data::FileListDataset> goods;
  try {
    goods = data::open_dataset(target.string(),
                               {.category = category, .split = data::Split::Train, .labels = data::LabelFilter::Good},
                               {.color = data::ColorMode::RGB});
  } catch (const Error& e) {
    detail::throw_error("stage 3: the target ", target.string(), " has no train/good image of category '", category,
                        "' to paste defects into (", e.what(), ")");
  }
  std::vector<std::pair<std::string, Tensor>> images;
  for (int64_t i = 0; i < goods->size(); ++i) {
    const data::Sample s = goods->get(i);
    images.push_back({fs::path(s.path).stem().string(), as_8bit(data::resize_area(s.image, size, size))});
  }
  return images;
}

nlohmann::ordered_json window_json(const models::PasteWindow& w) {
  return {{"top", w.top}, {"left", w.left}, {"height", w.height}, {"width", w.width}};
}

// b (1 - w') + t w', w' = 1 inside the window grown by margin (clipped); (C, S, S).
Tensor blend_window(const Tensor& b, const Tensor& t, const models::PasteWindow& w, int64_t margin) {
  const int64_t H = b.size(1), W = b.size(2);
  const int64_t top = std::max<int64_t>(0, w.top - margin), left = std::max<int64_t>(0, w.left - margin);
  const int64_t bottom = std::min(H, w.top + w.height + margin), right = std::min(W, w.left + w.width + margin);
  std::vector<float> grown(static_cast<size_t>(H * W), 0.0f);  // w' (1, H, W)
  for (int64_t i = top; i < bottom; ++i)
    for (int64_t j = left; j < right; ++j) grown[static_cast<size_t>(i * W + j)] = 1.0f;
  const Tensor m = Tensor::from_vector(grown, {1, H, W});
  return b * (1.0 - m) + t * m;
}

// Images as flat (C, H, W) vectors with the patch distance of the mask rule:
// dist(a, p, b, q) = mean over the channels and the 3 x 3 offsets u of
// |a(p + u) - b(q + u)|, coordinates clamped to the image (border replicated).
class PatchDistance {
 public:
  explicit PatchDistance(const Tensor& image)
      : C_(image.size(0)), H_(image.size(1)), W_(image.size(2)), v_(image.contiguous().to_vector<float>()) {}
  double operator()(const PatchDistance& other, int64_t i, int64_t j, int64_t i2, int64_t j2) const {
    double s = 0;
    for (int64_t c = 0; c < C_; ++c)
      for (int64_t u = -1; u <= 1; ++u)
        for (int64_t v = -1; v <= 1; ++v) s += std::abs(at(c, i + u, j + v) - other.at(c, i2 + u, j2 + v));
    return s / static_cast<double>(9 * C_);
  }
  // min over q = p + delta, |delta|_inf <= radius and >= exclude, of dist(this, p, other, q).
  double nearest(const PatchDistance& other, int64_t i, int64_t j, int64_t radius, int64_t exclude) const {
    double best = 1e30;
    for (int64_t dy = -radius; dy <= radius; ++dy)
      for (int64_t dx = -radius; dx <= radius; ++dx)
        if (std::max(std::abs(dy), std::abs(dx)) >= exclude)
          best = std::min(best, (*this)(other, i, j, i + dy, j + dx));
    return best;
  }

 private:
  float at(int64_t c, int64_t i, int64_t j) const {
    i = std::clamp<int64_t>(i, 0, H_ - 1), j = std::clamp<int64_t>(j, 0, W_ - 1);
    return v_[static_cast<size_t>((c * H_ + i) * W_ + j)];
  }
  int64_t C_, H_, W_;
  std::vector<float> v_;
};

int64_t search_radius(const Tensor& image) { return std::max<int64_t>(2, std::min(image.size(1), image.size(2)) / 8); }

// (1, S, S) -> (3, S, S) for the sheet.
Tensor as_rgb(const Tensor& gray) { return cat({gray, gray, gray}, 0); }

}  // namespace

train::TrainedRun open_stage_run(const fs::path& run, const std::string& model) {
  const train::TrainedRun trained = train::open_trained_run(run);
  LOOM_CHECK(trained.model == model, run.string(), " holds a checkpoint of a ", trained.model, " run (",
             trained.checkpoint.string(), "), not of ", model, "; remove it, or give the pipeline another --run-dir");
  return trained;
}

double quantile(std::vector<float> values, double q) {
  LOOM_CHECK(!values.empty(), "quantile of no values");
  LOOM_CHECK(q >= 0 && q <= 1, "quantile: q must be in [0, 1], got ", q);
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, values.size() - 1);
  const double t = position - static_cast<double>(below);
  return values[below] + t * (static_cast<double>(values[above]) - values[below]);
}

double texture_threshold(const Tensor& background, const FusedRegionOptions& o) {
  LOOM_CHECK(background.dim() == 3, "texture_threshold: the background must be (C, H, W)");
  const PatchDistance b(background);
  const int64_t H = background.size(1), W = background.size(2), R = search_radius(background);
  std::vector<float> novelty;  // of b's own patches against b's other patches nearby (every 2nd pixel)
  for (int64_t i = 0; i < H; i += 2)
    for (int64_t j = 0; j < W; j += 2) novelty.push_back(static_cast<float>(b.nearest(b, i, j, R, 2)));
  return quantile(novelty, o.texture_quantile);
}

FusedRegion fused_region_mask(const Tensor& background, const Tensor& fused, const models::PasteWindow& window,
                              const FusedRegionOptions& o, double threshold) {
  LOOM_CHECK(background.dim() == 3 && background.shape() == fused.shape(),
             "fused_region_mask: background and fused image must both be (C, H, W) of one shape");
  const int64_t H = background.size(1), W = background.size(2);
  LOOM_CHECK(window.top >= 0 && window.left >= 0 && window.height >= 1 && window.width >= 1 &&
                 window.top + window.height <= H && window.left + window.width <= W,
             "fused_region_mask: the window lies outside the ", H, "x", W, " image");
  FusedRegion region;
  region.threshold = threshold >= 0 ? threshold : texture_threshold(background, o);
  const PatchDistance b(background), y(fused);
  const int64_t R = search_radius(background);
  auto inside = [&](int64_t i, int64_t j) {
    return i >= window.top && i < window.top + window.height && j >= window.left && j < window.left + window.width;
  };
  std::vector<float> raw(static_cast<size_t>(H * W), 0.0f);  // {p in W : d(p) > tau}
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = 0; j < W; ++j)
      if (inside(i, j) && y.nearest(b, i, j, R, 0) > region.threshold) raw[static_cast<size_t>(i * W + j)] = 1.0f;
  const Regions regions = connected_regions_8(Tensor::from_vector(raw, {1, H, W}));
  const std::vector<int64_t> labels = regions.labels.contiguous().to_vector<int64_t>();  // (H, W)
  std::vector<int64_t> sizes(static_cast<size_t>(regions.count + 1), 0);
  for (int64_t l : labels) sizes[static_cast<size_t>(l)]++;
  int64_t largest = 0;
  for (int64_t r = 1; r <= regions.count; ++r) largest = std::max(largest, sizes[static_cast<size_t>(r)]);
  const double min_size = std::max<double>({static_cast<double>(o.min_region_pixels),
                                            o.min_region_share * static_cast<double>(window.height * window.width),
                                            o.keep_share * static_cast<double>(largest)});
  std::vector<float> mask(static_cast<size_t>(H * W), 0.0f);
  int64_t top = H, left = W, bottom = -1, right = -1;
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = 0; j < W; ++j) {
      const int64_t l = labels[static_cast<size_t>(i * W + j)];
      if (l == 0 || static_cast<double>(sizes[static_cast<size_t>(l)]) < min_size) continue;
      mask[static_cast<size_t>(i * W + j)] = 1.0f;
      top = std::min(top, i), left = std::min(left, j), bottom = std::max(bottom, i), right = std::max(right, j);
    }
  if (o.box && bottom >= 0)
    for (int64_t i = top; i <= bottom; ++i)
      for (int64_t j = left; j <= right; ++j) mask[static_cast<size_t>(i * W + j)] = 1.0f;
  for (float v : mask) region.pixels += v > 0.5f;
  region.mask = Tensor::from_vector(mask, {1, H, W});
  return region;
}

SynthesisResult synthesize_defects(const SynthesisOptions& o) {
  NoGradGuard no_grad;
  LOOM_CHECK(o.samples >= 1, "stage 3: the number of samples must be positive, got ", o.samples);
  LOOM_CHECK(o.mask == "fused" || o.mask == "box", "stage 3: --mask must be 'fused' or 'box', got '", o.mask, "'");
  LOOM_CHECK(o.window_min > 0 && o.window_min <= o.window_max && o.window_max <= 1,
             "stage 3: the window sides must satisfy 0 < min <= max <= 1 (of the image side), got ", o.window_min,
             " and ", o.window_max);
  LOOM_CHECK(o.attempts >= 1, "stage 3: attempts must be positive, got ", o.attempts);
  CropGenerator generator(o.cgan_run);
  Fuser fuser(o.fusion_run);
  const int64_t S = fuser.image_size(), Sc = generator.crop_size();
  FusedRegionOptions region_options = o.region;
  region_options.box = o.mask == "box";

  const std::vector<std::string> categories = target_categories(o.target, o.categories);
  LOOM_CHECK(!categories.empty(), "stage 3: the target ", o.target.string(), " has no category");
  std::map<std::string, std::vector<std::pair<std::string, Tensor>>> goods;
  fs::remove_all(o.out_dir);
  for (const std::string& category : categories) {
    goods[category] = good_images(o.target, category, S);
    const fs::path dir = o.out_dir / category;
    fs::create_directories(dir / "train/good");  // test/gan and ground_truth/gan once a sample is written
    for (const auto& [stem, image] : goods[category])
      data::save_png((dir / "train/good" / (stem + ".png")).string(), image);
  }
  if (o.progress)
    o.progress("stage 3: " + std::to_string(o.samples) + " samples at " + std::to_string(S) + "x" + std::to_string(S) +
               " on " + std::to_string(categories.size()) + " target categories; crops " + std::to_string(Sc) + "x" +
               std::to_string(Sc) + "; mask: " + o.mask);

  const int64_t n_categories = static_cast<int64_t>(categories.size());
  SynthesisResult result;
  result.image_size = S;
  nlohmann::ordered_json records = nlohmann::ordered_json::array();
  std::vector<Tensor> sheet;
  std::map<std::string, double> thresholds;  // tau of each background, computed once
  const int64_t min_side = std::max<int64_t>(4, std::llround(o.window_min * static_cast<double>(S)));
  const int64_t max_side = std::max<int64_t>(min_side, std::llround(o.window_max * static_cast<double>(S)));
  for (int64_t k = 0; k < o.samples; ++k) {
    const std::string& category = categories[static_cast<size_t>(k % n_categories)];
    const auto& pool = goods.at(category);
    const int64_t index = k / n_categories, count = (o.samples - k % n_categories + n_categories - 1) / n_categories;
    Generator gen = train::philox_stream(o.seed, kSampleOffset + (static_cast<uint64_t>(k) << 32));
    bool written = false;
    for (int64_t attempt = 1; attempt <= o.attempts && !written; ++attempt) {
      const auto& [stem, b] = pool[static_cast<size_t>(data::draw_int(gen, 0, static_cast<int64_t>(pool.size())))];
      const models::PasteWindow window = models::random_window(S, S, min_side, max_side, gen);
      const data::CropBox cbox = data::sample_crop_box(S, S, window.height, window.width, gen);
      const Tensor patch = data::resize_area(data::crop(b, cbox), Sc, Sc).unsqueeze(0);       // (1, 3, S_c, S_c)
      const Tensor crop = generator.crop(patch, gen);                                         // (1, 3, S_c, S_c)
      const Tensor pasted = models::paste_into_window(b.unsqueeze(0), crop, {window}).input;  // (1, 3, S, S)
      const Tensor fused = as_8bit(blend_window(b, fuser.fuse(pasted).select(0, 0), window, o.margin));  // y
      const std::string key = category + "/" + stem;
      if (!thresholds.count(key)) thresholds[key] = texture_threshold(b, region_options);
      const FusedRegion region = fused_region_mask(b, fused, window, region_options, thresholds.at(key));
      if (region.pixels == 0) {
        ++result.rejected;
        continue;
      }
      const std::string name = data::numbered_stem(index, count);
      const fs::path dir = o.out_dir / category;
      fs::create_directories(dir / "test/gan");
      fs::create_directories(dir / "ground_truth/gan");
      data::save_png((dir / "test/gan" / (name + ".png")).string(), fused);
      data::save_png((dir / "ground_truth/gan" / (name + "_mask.png")).string(), region.mask);
      records.push_back({{"name", category + "/test/gan/" + name + ".png"},
                         {"category", category},
                         {"background", category + "/train/good/" + stem + ".png"},
                         {"window", window_json(window)},
                         {"threshold", region.threshold},
                         {"mask_pixels", region.pixels},
                         {"draws", attempt}});
      result.mean_mask_share += static_cast<double>(region.pixels) / static_cast<double>(S * S);
      if (static_cast<int64_t>(sheet.size()) < 4 * o.sheet_rows)
        sheet.insert(sheet.end(), {b, pasted.select(0, 0), fused, as_rgb(region.mask)});
      ++result.written;
      written = true;
    }
    if (!written) ++result.skipped;
    if (o.progress && ((k + 1) % std::max<int64_t>(1, o.samples / 5) == 0 || k + 1 == o.samples))
      o.progress("stage 3: " + std::to_string(k + 1) + "/" + std::to_string(o.samples) + " samples (" +
                 std::to_string(result.rejected) + " draws redrawn, " + std::to_string(result.skipped) + " skipped)");
  }
  std::vector<std::string> left_out;  // categories without a written sample: removed from the dataset
  for (const std::string& category : categories)
    if (!fs::exists(o.out_dir / category / "test/gan")) {
      fs::remove_all(o.out_dir / category);
      left_out.push_back(category);
      if (o.progress && result.written > 0)
        o.progress("stage 3: warning: no generated defect stood out from category '" + category +
                   "'; it is left out of " + o.out_dir.string());
    }
  LOOM_CHECK(result.written > 0, "stage 3: none of the ", o.samples,
             " samples showed a generated defect that stands out from the target texture (every draw's fused-region "
             "mask was empty); train stage 1 longer");
  result.mean_mask_share /= static_cast<double>(result.written);

  data::GridOptions grid;
  grid.nrow = 4;
  data::save_grid(o.sheet.string(), sheet, grid);
  nlohmann::ordered_json record = {
      {"rule",
       "mask = the 8-connected regions (>= max(4 px, 2% of the window, 1/4 of the largest)) of the window's pixels "
       "p whose 3x3 patch in the fused image differs from every 3x3 patch of the background within S/8 px of p "
       "(mean |.|) by more than tau = the 0.95 quantile of the same novelty of the background's own patches "
       "against its other patches (offsets >= 2 px)" +
           std::string(o.mask == "box" ? "; then their enclosing rectangle" : "")},
      {"image_size", S},
      {"crop_size", Sc},
      {"categories", categories},
      {"left_out", left_out},
      {"written", result.written},
      {"redrawn", result.rejected},
      {"skipped", result.skipped},
      {"mean_mask_share", result.mean_mask_share},
      {"samples", records}};
  const std::string record_text = record.dump(2) + "\n";
  write_file_atomically(o.record.string(), record_text.data(), record_text.size(), "stage 3 record");
  return result;
}

}  // namespace loom::eval
