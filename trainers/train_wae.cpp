// train_wae.cpp: the WAE-MMD trainer (see train_wae.h).
#include "trainers/train_wae.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/fabric/presets.h"
#include "data/grid.h"
#include "data/layout.h"
#include "nn/clip.h"
#include "tensor/error.h"
#include "trainers/fabric_samples.h"
#include "trainers/metrics_log.h"
#include "trainers/philox_stream.h"
#include "trainers/trainer_wiring.h"

namespace loom::train {
namespace {

constexpr uint64_t kPriorOffset = uint64_t{1} << 62;      // the per-step prior sample
constexpr uint64_t kValGoodOffset = uint64_t{1} << 60;    // good validation image j: + j 2^32
constexpr uint64_t kValDefectOffset = uint64_t{1} << 59;  // defective validation image j: + j 2^32
constexpr int64_t kSheetGood = 4;                         // good images on a sample sheet

models::WaeOptions model_options(const WaeTrainOptions& o) {
  return {.image_size = o.image,
          .channels = o.channels,
          .latent = o.latent,
          .width = o.width,
          .output = models::WaeOutput::Sigmoid};
}

models::WaeLossOptions loss_options(const WaeTrainOptions& o) {
  models::WaeLossOptions l;
  l.cost = o.l1 ? models::ReconstructionCost::L1 : models::ReconstructionCost::SquaredL2;
  l.reconstruction_weight = o.recon_weight;
  l.lambda = o.lambda;
  l.sigma2 = o.sigma2;
  return l;
}

void check_options(const WaeTrainOptions& o) {
  models::wae_stages(o.image);
  LOOM_CHECK(o.channels == 1 || o.channels == 3, "--channels must be 1 or 3, got ", o.channels);
  LOOM_CHECK(o.latent >= 1 && o.width >= 1, "--latent and --width must be positive, got ", o.latent, " and ", o.width);
  LOOM_CHECK(o.common.batch >= 2, "--batch must be at least 2 (the MMD compares codes within a batch), got ",
             o.common.batch);
  LOOM_CHECK(o.lambda >= 0 && o.sigma2 > 0 && o.recon_weight > 0,
             "--lambda must be >= 0, --sigma2 and --recon-weight > 0; got ", o.lambda, ", ", o.sigma2, ", ",
             o.recon_weight);
  LOOM_CHECK(o.smooth_sigma >= 0 && o.ssim_weight >= 0 && o.ssim_weight <= 1,
             "--smooth-sigma must be >= 0 and --ssim-weight in [0, 1]; got ", o.smooth_sigma, ", ", o.ssim_weight);
  LOOM_CHECK(o.val_good >= 2 && o.val_defects >= 1, "--val-good must be at least 2 and --val-defects at least 1, got ",
             o.val_good, " and ", o.val_defects);
  LOOM_CHECK(o.fabric_images >= o.common.batch, "--fabric-images (", o.fabric_images, ") must be at least --batch (",
             o.common.batch, ")");
}

// n validation images: image j from (seed, base + j 2^32), category j mod 7,
// defect kind j mod 8 when defective. Returns images (n, C, S, S) and masks (n, 1, S, S).
std::pair<Tensor, Tensor> validation_set(const WaeTrainOptions& o, int64_t n, bool defective, uint64_t base) {
  const auto& categories = data::fabric::fabric_categories();
  const auto& kinds = data::fabric::defect_kinds();
  std::vector<Tensor> images, masks;
  for (int64_t j = 0; j < n; ++j) {
    Generator gen = philox_stream(o.common.seed, base + (static_cast<uint64_t>(j) << 32));
    std::optional<data::fabric::DefectKind> kind;
    if (defective) kind = kinds[static_cast<size_t>(j) % kinds.size()];
    MaskedImage m =
        fabric_masked_image(categories[static_cast<size_t>(j) % categories.size()], kind, o.image, o.channels, gen);
    images.push_back(m.image);
    masks.push_back(m.mask);
  }
  return {stack(images, 0), stack(masks, 0)};
}

// With --data in a layout that has a test split (MVTec AD, DAGM): up to n good
// and up to n_defects defective test images (with their masks), evenly spaced
// through the split's file order. False (and nothing set) otherwise, or when
// the split lacks good or masked defective images.
bool dataset_validation(const WaeTrainOptions& o, Tensor& good, Tensor& bad, Tensor& masks, std::string& description) {
  if (o.common.data.empty()) return false;
  std::string layout;
  try {
    layout = data::layout_name(data::detect_layout(o.common.data));
  } catch (const Error&) {
    return false;  // a plain folder of images: no test split
  }
  if (layout != "MVTec AD" && layout != "DAGM 2007") return false;
  const data::DatasetOptions read{
      .color = o.channels == 1 ? data::ColorMode::Gray : data::ColorMode::RGB, .height = o.image, .width = o.image};
  auto pick = [&](data::LabelFilter labels, int64_t n, bool need_mask) {
    std::vector<data::Sample> picked;
    std::shared_ptr<data::Dataset> set;
    try {
      set = data::open_dataset(o.common.data, {.split = data::Split::Test, .labels = labels}, read);
    } catch (const Error&) {
      return picked;  // no such images
    }
    const int64_t count = std::min(n, set->size());
    for (int64_t k = 0; k < count; ++k) {
      data::Sample s = set->get(k * set->size() / count);
      if (!need_mask || s.mask.defined()) picked.push_back(std::move(s));
    }
    return picked;
  };
  const std::vector<data::Sample> g = pick(data::LabelFilter::Good, o.val_good, false);
  const std::vector<data::Sample> b = pick(data::LabelFilter::Defective, o.val_defects, true);
  if (g.size() < 2 || b.empty()) return false;
  std::vector<Tensor> gi, bi, bm;
  for (const auto& s : g) gi.push_back(s.image);
  for (const auto& s : b) bi.push_back(s.image), bm.push_back(s.mask);
  good = stack(gi, 0), bad = stack(bi, 0), masks = stack(bm, 0);
  description = std::to_string(g.size()) + " good and " + std::to_string(b.size()) + " defective test images of " +
                layout + " at " + o.common.data;
  return true;
}

std::string format(double v) { return shortest_number(v); }

}  // namespace

models::F1Threshold pixel_f1_at(const Tensor& maps, const Tensor& masks, double threshold) {
  LOOM_CHECK(maps.shape() == masks.shape(), "pixel F1: maps ", shape_str(maps.shape()), " and masks ",
             shape_str(masks.shape()), " differ in shape");
  const std::vector<double> a = maps.to_vector<double>(), t = masks.to_vector<double>();
  double tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool predicted = a[i] >= threshold, truth = t[i] > 0.5;
    tp += predicted && truth;
    fp += predicted && !truth;
    fn += !predicted && truth;
  }
  models::F1Threshold r;
  r.threshold = threshold;
  r.precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  r.recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  r.f1 = 2 * tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : 0;
  return r;
}

void add_wae_options(SettingsBinder& binder, WaeTrainOptions& o) {
  add_common_options(binder, o.common, "Adam learning rate");
  binder.add("--image", o.image, "image size S (a power of two: 32, 64, 128)");
  binder.add("--channels", o.channels, "image channels: 1 (gray) or 3 (RGB)")->check(CLI::IsMember({1, 3}));
  binder.add("--latent", o.latent, "latent size d");
  binder.add("--width", o.width, "channels of the first encoder stage (doubling, capped at 8x)");
  binder.add("--lambda", o.lambda, "MMD weight lambda");
  binder.add("--sigma2", o.sigma2, "prior variance sigma^2 of N(0, sigma^2 I)");
  binder.add("--recon-weight", o.recon_weight, "weight of the reconstruction cost (0.05: the authors' code)");
  binder.add("--l1", o.l1, "reconstruction cost ||x - x_hat||_1 instead of ||x - x_hat||^2");
  binder.add("--beta1", o.beta1, "Adam beta1 (0.5: the WAE paper)");
  binder.add("--beta2", o.beta2, "Adam beta2");
  binder.add("--threshold-k", o.threshold_k, "anomaly threshold = mean + k sigma of the good validation maps");
  binder.add("--smooth-sigma", o.smooth_sigma, "Gaussian smoothing of the anomaly map in pixels (0: off)");
  binder.add("--ssim-weight", o.ssim_weight, "share of 1 - SSIM in the anomaly map (0: |x - x_hat| only)");
  binder.add("--val-good", o.val_good, "defect-free procedural validation images (the threshold)");
  binder.add("--val-defects", o.val_defects, "defective procedural validation images (the F1, the sample sheet)");
  binder.add("--fabric-images", o.fabric_images, "size of the procedural fabric pool (without --data)");
}

WaeTrainer::WaeTrainer(const WaeTrainOptions& options)
    : options_(options),
      prior_(philox_stream(options.common.seed, kPriorOffset)),
      images_(image_source_options(options)),
      device_(training_device(options.common)) {
  check_options(options);
  Generator init(options.common.seed);
  model_ = std::make_shared<models::Wae>(model_options(options), init);  // initialised on the CPU
  model_->to(device_);  // before the optimizer, whose moments follow the parameters' device
  optimizer_ = make_adam(*model_, options);
  if (!dataset_validation(options, val_good_, val_bad_, val_masks_, val_description_)) {
    std::tie(val_good_, std::ignore) = validation_set(options, options.val_good, false, kValGoodOffset);
    std::tie(val_bad_, val_masks_) = validation_set(options, options.val_defects, true, kValDefectOffset);
    val_description_ = std::to_string(options.val_good) + " good and " + std::to_string(options.val_defects) +
                       " defective procedural fabric images";
  }
  state_.models = {{"wae", model_.get()}};
  state_.optimizers = {{"wae", optimizer_.get()}};
  state_.generators = {{"prior", &prior_}};
}

models::AnomalyMapOptions WaeTrainer::map_options() const {
  return {.smooth_sigma = options_.smooth_sigma, .ssim_weight = options_.ssim_weight, .data_range = 1.0};
}

Metrics WaeTrainer::step(int64_t) {
  const Tensor x = ((images_.next_batch() + 1.0) * 0.5).to(device_);  // (B, C, S, S) in [0, 1]
  optimizer_->zero_grad();
  const Tensor z = model_->encode(x);      // (B, d)
  const Tensor x_hat = model_->decode(z);  // (B, C, S, S)
  // The prior sample is drawn on z's device; the Philox stream gives the same numbers on the CPU and the GPU.
  const models::WaeLoss loss = models::wae_loss(x, x_hat, z, prior_, loss_options(options_));
  loss.total.backward();
  if (options_.common.clip > 0) nn::clip_grad_norm_(model_->named_parameters(), options_.common.clip);
  optimizer_->step();
  return {{"loss", loss.total.item()},
          {"recon", loss.reconstruction.item()},
          {"mmd", loss.mmd.item()},
          {"lr", optimizer_->lr()}};
}

WaeValidation WaeTrainer::validate() {
  // The maps on the model's device, then on the CPU for the threshold and the F1, which read every pixel.
  auto maps_of = [this](const Tensor& images) {
    return models::wae_anomaly_map(*model_, images.to(device_), map_options()).to(Device::cpu());
  };
  const Tensor good = maps_of(val_good_);  // (Ng, 1, S, S)
  const Tensor bad = maps_of(val_bad_);    // (Nd, 1, S, S)
  WaeValidation v;
  v.threshold = models::threshold_mean_k_sigma(good, options_.threshold_k);
  v.at_threshold = pixel_f1_at(bad, val_masks_, v.threshold);
  v.best = models::threshold_best_f1(bad, val_masks_);
  return v;
}

std::string WaeTrainer::store_threshold() {
  const WaeValidation v = validate();
  state_.metadata = {{"threshold", format(v.threshold)},
                     {"threshold_k", format(options_.threshold_k)},
                     {"smooth_sigma", format(options_.smooth_sigma)},
                     {"ssim_weight", format(options_.ssim_weight)},
                     {"data_range", "1"},
                     {"val_f1", format(v.at_threshold.f1)},
                     {"val_precision", format(v.at_threshold.precision)},
                     {"val_recall", format(v.at_threshold.recall)},
                     {"val_best_f1", format(v.best.f1)},
                     {"val_best_threshold", format(v.best.threshold)}};
  std::ostringstream line;
  line << "validation: threshold " << v.threshold << " (mean + " << options_.threshold_k << " sigma of "
       << val_good_.size(0) << " good maps); pixel F1 " << v.at_threshold.f1 << " (precision "
       << v.at_threshold.precision << ", recall " << v.at_threshold.recall << ") on " << val_bad_.size(0)
       << " defective images; best F1 " << v.best.f1 << " at " << v.best.threshold;
  return line.str();
}

void WaeTrainer::save_samples(const std::filesystem::path& png) {
  NoGradGuard no_grad;
  const int64_t n_good = std::min<int64_t>(kSheetGood, val_good_.size(0));
  const Tensor inputs = cat({val_good_.narrow(0, 0, n_good), val_bad_}, 0);  // (n, C, S, S)
  const bool was_training = model_->is_training();
  model_->eval();
  const Tensor recon = (*model_)(inputs.to(device_)).to(Device::cpu());  // (n, C, S, S)
  if (was_training) model_->train();
  const double threshold = validate().threshold;
  const Tensor maps = models::anomaly_map(inputs, recon, map_options());            // (n, 1, S, S)
  const Tensor shown = clamp(maps * (0.5 / std::max(threshold, 1e-12)), 0.0, 1.0);  // threshold = mid gray
  const int64_t n = inputs.size(0), c = options_.channels, s = options_.image;
  std::vector<Tensor> cells;
  data::GridOptions grid;
  grid.nrow = 3;
  for (int64_t i = 0; i < n; ++i) {
    cells.push_back(inputs.select(0, i));
    cells.push_back(clamp(recon.select(0, i), 0.0, 1.0));
    cells.push_back(shown.select(0, i).expand({c, s, s}).contiguous());
    const std::optional<data::Rgb> border = i >= n_good ? std::optional<data::Rgb>(data::kRed) : std::nullopt;
    grid.borders.insert(grid.borders.end(), {border, std::nullopt, std::nullopt});
  }
  data::save_grid(png.string(), stack(cells, 0), grid);
}

LoopHooks WaeTrainer::hooks(std::function<void(const std::string&)> log) {
  LoopHooks hooks = trainer_hooks(*this, images_);
  hooks.before_checkpoint = [this, log](int64_t) {
    const std::string line = store_threshold();
    if (log) log(line);
  };
  return hooks;
}

std::filesystem::path train_wae(SettingsBinder& binder, WaeTrainOptions& options) {
  RunSetup run = start_run("wae", binder, options.common, [&options] { check_options(options); });
  WaeTrainer trainer(options);
  const bool quiet = options.common.quiet;
  auto say = [&run, quiet](const std::string& line) { announce(*run.dir, quiet, line); };
  say("training images: " + trainer.data_description());
  say("validation images: " + trainer.validation_description());
  TrainingLoop loop(run, options.common, trainer.state(), trainer.hooks(say));
  return loop.run();
}

}  // namespace loom::train
