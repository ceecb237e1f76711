// train_unet.cpp: the U-Net segmentation trainer (see train_unet.h).
#include "trainers/train_unet.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/fabric/presets.h"
#include "data/grid.h"
#include "data/layout.h"
#include "data/random_draws.h"
#include "data/synth/sources.h"
#include "nn/clip.h"
#include "tensor/error.h"
#include "trainers/philox_stream.h"
#include "trainers/trainer_wiring.h"
#include "trainers/text.h"

namespace loom::train {
namespace {

constexpr uint64_t kSynthOffset = uint64_t{1} << 62;  // the per-step sample draws
constexpr uint64_t kSheetOffset = uint64_t{1} << 58;  // sheet image j: + j 2^32

models::UNetOptions model_options(const UnetTrainOptions& o) {
  return {.in_channels = o.channels,
          .out_channels = 1,
          .base_width = o.width,
          .depth = o.depth,
          .up_mode = o.bilinear ? models::UpMode::Bilinear : models::UpMode::TransposedConv,
          .class_head = o.class_head};
}

models::SegmentationLossOptions loss_options(const UnetTrainOptions& o) {
  models::SegmentationLossOptions l;
  l.bce_weight = o.bce_weight;
  l.dice_weight = o.dice_weight;
  l.use_focal = o.focal;
  l.focal_alpha = o.focal_alpha;
  l.focal_gamma = o.focal_gamma;
  l.class_weight = o.class_weight;
  return l;
}

void check_options(const UnetTrainOptions& o) {
  LOOM_CHECK(o.channels == 1 || o.channels == 3, "--channels must be 1 or 3, got ", o.channels);
  LOOM_CHECK(o.width >= 1 && o.depth >= 1, "--width and --depth must be positive, got ", o.width, " and ", o.depth);
  LOOM_CHECK(o.depth < 16 && o.image >= 16 && o.image % (int64_t{1} << o.depth) == 0, "--image ", o.image,
             " must be at least 16 and divisible by 2^depth = ", int64_t{1} << std::min<int64_t>(o.depth, 15),
             " (--depth ", o.depth, ")");
  LOOM_CHECK(o.good_share >= 0 && o.good_share < 1, "--good-share must be in [0, 1), got ", o.good_share);
  LOOM_CHECK(o.bce_weight >= 0 && o.dice_weight >= 0 && o.class_weight >= 0 && o.bce_weight + o.dice_weight > 0,
             "--bce-weight, --dice-weight and --class-weight must be >= 0, and BCE + Dice weights positive");
  LOOM_CHECK(o.samples >= 1, "--samples must be positive, got ", o.samples);
  LOOM_CHECK(o.fabric_images >= o.common.batch, "--fabric-images (", o.fabric_images, ") must be at least --batch (",
             o.common.batch, ")");
  LOOM_CHECK(!synth_method_names(o.synth).empty() || o.fabric_defects || !o.defect_data.empty(),
             "--synth none leaves no defect source: add --defect-data DIR or --fabric-defects");
}

// The defective images of --defect-data, resized to S x S (image bilinear, mask
// nearest; the reader refuses a mask whose size differs from its image's).
std::shared_ptr<data::FileListDataset> open_defect_images(const UnetTrainOptions& o) {
  if (o.defect_data.empty()) return nullptr;
  const data::DatasetOptions read{
      .color = o.channels == 1 ? data::ColorMode::Gray : data::ColorMode::RGB, .height = o.image, .width = o.image};
  try {
    return data::open_dataset(o.defect_data, {.labels = data::LabelFilter::Defective}, read);
  } catch (const Error& e) {
    detail::throw_error("--defect-data ", o.defect_data, ": no defective images with masks to train on (", e.what(),
                        ")");
  }
}

// (1, S, S) -> (C, S, S) for the sheet.
Tensor as_channels(const Tensor& gray, int64_t channels) {
  return gray.expand({channels, gray.size(1), gray.size(2)}).contiguous();
}

}  // namespace

std::vector<std::string> synth_method_names(const std::string& spec) {
  std::vector<std::string> names, known;
  for (const auto& m : data::synth::synth_methods()) known.push_back(m.name);
  if (spec == "all") return known;
  if (spec == "none") return names;
  std::stringstream in(spec);
  for (std::string name; std::getline(in, name, ',');) {
    LOOM_CHECK(std::find(known.begin(), known.end(), name) != known.end(), "--synth: unknown method '", name,
               "'; the methods are all, none, or names joined by commas from: ", join(known, ", "));
    names.push_back(name);
  }
  LOOM_CHECK(!names.empty(), "--synth: no method named in '", spec, "'");
  return names;
}

void add_unet_options(SettingsBinder& binder, UnetTrainOptions& o) {
  add_common_options(binder, o.common, "Adam learning rate");
  binder.add("--image", o.image, "image size S (divisible by 2^depth)");
  binder.add("--channels", o.channels, "image channels: 1 (gray) or 3 (RGB)")->check(CLI::IsMember({1, 3}));
  binder.add("--width", o.width, "base width w (channels of the first DoubleConv)");
  binder.add("--depth", o.depth, "number of max-pool downs");
  binder.add("--bilinear", o.bilinear, "up by bilinear x2 + 1x1 conv instead of ConvTranspose 2x2");
  binder.add("--class-head", o.class_head, "add the image-level defect logit (global pool + linear) and its BCE");
  binder.add("--focal", o.focal, "focal loss instead of BCE for the pixel term");
  binder.add("--focal-alpha", o.focal_alpha, "focal alpha (< 0: no alpha weighting)");
  binder.add("--focal-gamma", o.focal_gamma, "focal gamma");
  binder.add("--bce-weight", o.bce_weight, "weight of the pixel term (BCE or focal)");
  binder.add("--dice-weight", o.dice_weight, "weight of the soft Dice term");
  binder.add("--class-weight", o.class_weight, "weight of the image-level BCE (with --class-head)");
  binder.add("--beta1", o.beta1, "Adam beta1");
  binder.add("--beta2", o.beta2, "Adam beta2");
  binder.add("--synth", o.synth, "defect synthesis methods: all, none, or names joined by commas (loom synth --help)");
  binder.add("--defect-data", o.defect_data,
             "a dataset folder whose defective images (with masks) are also drawn as defective samples, "
             "e.g. a loom pipeline run's stage3_synthetic");
  binder.add("--fabric-defects", o.fabric_defects, "also train on rendered procedural fabric defects");
  binder.add("--good-share", o.good_share, "share of training samples left defect-free");
  binder.add("--samples", o.samples, "rows of each sample sheet");
  binder.add("--fabric-images", o.fabric_images, "size of the procedural fabric pool (without --data)");
}

UnetTrainer::UnetTrainer(const UnetTrainOptions& options)
    : options_(options),
      synth_gen_(philox_stream(options.common.seed, kSynthOffset)),
      images_(image_source_options(options)),
      device_(training_device(options.common)),
      defect_images_(open_defect_images(options)) {
  check_options(options);
  Generator init(options.common.seed);
  model_ = std::make_shared<models::UNet>(model_options(options), init);  // initialised on the CPU
  model_->to(device_);  // before the optimizer, whose moments follow the parameters' device
  optimizer_ = make_adam(*model_, options);
  const data::synth::SynthSources sources{.texture = data::synth::fabric_texture_source(), .paste = {}};
  for (const std::string& name : synth_method_names(options.synth))
    methods_.push_back(data::synth::make_synth_method(name, sources));
  // The sheet: image j is a good procedural fabric image of category j mod 7 from
  // (seed, 2^58 + j 2^32), given a defect (or none) by add_defect from the same stream.
  const auto& categories = data::fabric::fabric_categories();
  std::vector<Tensor> images, masks;
  for (int64_t j = 0; j < options.samples; ++j) {
    Generator gen = philox_stream(options.common.seed, kSheetOffset + (static_cast<uint64_t>(j) << 32));
    const MaskedImage good = fabric_masked_image(categories[static_cast<size_t>(j) % categories.size()], std::nullopt,
                                                 options.image, options.channels, gen);
    const MaskedImage s = add_defect(good.image, gen);
    images.push_back(s.image);
    masks.push_back(s.mask);
  }
  sheet_ = {stack(images, 0), stack(masks, 0)};
  state_.models = {{"unet", model_.get()}};
  state_.optimizers = {{"unet", optimizer_.get()}};
  state_.generators = {{"synth", &synth_gen_}};
}

MaskedImage UnetTrainer::add_defect(const Tensor& good, Generator& gen) {
  NoGradGuard no_grad;
  const int64_t size = options_.image;
  if (data::draw_uniform(gen, 0, 1) < options_.good_share) return {good, Tensor::zeros({1, size, size})};
  bool fabric = false;  // which source: --defect-data, --fabric-defects, or --synth
  if (defect_images_) {
    const int64_t sources = 1 + (options_.fabric_defects ? 1 : 0) + (methods_.empty() ? 0 : 1);
    const int64_t pick = sources == 1 ? 0 : data::draw_int(gen, 0, sources);
    if (pick == 0) {
      const data::Sample s = defect_images_->get(data::draw_int(gen, 0, defect_images_->size()));
      return {s.image, s.mask};  // (C, S, S), (1, S, S) 0/1
    }
    fabric = options_.fabric_defects && pick == 1;
  } else {
    fabric = options_.fabric_defects && (methods_.empty() || data::draw_bool(gen, 0.5));
  }
  if (fabric) {
    const auto& categories = data::fabric::fabric_categories();
    const auto& kinds = data::fabric::defect_kinds();
    const std::string& category =
        categories[static_cast<size_t>(data::draw_int(gen, 0, static_cast<int64_t>(categories.size())))];
    const auto kind = kinds[static_cast<size_t>(data::draw_int(gen, 0, static_cast<int64_t>(kinds.size())))];
    return fabric_masked_image(category, kind, size, options_.channels, gen);
  }
  const auto& method = methods_[static_cast<size_t>(data::draw_int(gen, 0, static_cast<int64_t>(methods_.size())))];
  data::synth::SynthResult r = method(good, gen);
  return {r.image, r.mask};
}

MaskedImage UnetTrainer::next_batch() {
  const Tensor good = (images_.next_batch() + 1.0) * 0.5;  // (B, C, S, S) in [0, 1]
  std::vector<Tensor> images, masks;
  for (int64_t i = 0; i < good.size(0); ++i) {
    const MaskedImage s = add_defect(good.select(0, i).contiguous(), synth_gen_);
    images.push_back(s.image);
    masks.push_back(s.mask);
  }
  return {stack(images, 0), stack(masks, 0)};
}

Metrics UnetTrainer::train_on(const MaskedImage& batch) {
  const Tensor x = batch.image.to(device_) * 2.0 - 1.0;  // (B, C, S, S) in [-1, 1]
  const Tensor mask = batch.mask.to(device_);             // (B, 1, S, S) 0/1
  optimizer_->zero_grad();
  const models::UNetOutput out = model_->run(x);
  const models::SegmentationLoss loss = models::segmentation_loss(out, mask, loss_options(options_));
  loss.total.backward();
  if (options_.common.clip > 0) nn::clip_grad_norm_(model_->named_parameters(), options_.common.clip);
  optimizer_->step();
  Metrics m = {{"loss", loss.total.item()}, {"pixel", loss.pixel.item()}, {"dice", loss.dice.item()}};
  if (loss.image.defined()) m.push_back({"image", loss.image.item()});
  m.push_back({"iou", models::mask_iou(out.mask_logits.detach().to(Device::cpu()), batch.mask)});  // reads every pixel
  m.push_back({"lr", optimizer_->lr()});
  return m;
}

Metrics UnetTrainer::step(int64_t) { return train_on(next_batch()); }

void UnetTrainer::save_samples(const std::filesystem::path& png) {
  NoGradGuard no_grad;
  const bool was_training = model_->is_training();
  model_->eval();
  const Tensor logits = (*model_)(sheet_.image.to(device_) * 2.0 - 1.0);  // (n, 1, S, S) on the model's device
  const Tensor prediction = sigmoid(logits).to(Device::cpu());            // (n, 1, S, S)
  if (was_training) model_->train();
  const int64_t c = options_.channels;
  std::vector<Tensor> cells;
  for (int64_t i = 0; i < sheet_.image.size(0); ++i) {
    cells.push_back(sheet_.image.select(0, i));
    cells.push_back(as_channels(sheet_.mask.select(0, i), c));
    cells.push_back(as_channels(prediction.select(0, i), c));
  }
  data::GridOptions grid;
  grid.nrow = 3;
  data::save_grid(png.string(), stack(cells, 0), grid);
}

LoopHooks UnetTrainer::hooks() { return trainer_hooks(*this, images_); }

std::filesystem::path train_unet(SettingsBinder& binder, UnetTrainOptions& options) {
  RunSetup run = start_run("unet", binder, options.common, [&options] { check_options(options); });
  UnetTrainer trainer(options);
  announce(*run.dir, options.common.quiet,
           "training images: " + trainer.data_description() + "; defects: " + options.synth +
               (options.fabric_defects ? " + procedural fabric defects" : "") +
               (options.defect_data.empty() ? "" : " + the defective images of " + options.defect_data));
  TrainingLoop loop(run, options.common, trainer.state(), trainer.hooks());
  return loop.run();
}

}  // namespace loom::train
