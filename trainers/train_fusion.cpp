// train_fusion.cpp: the stage-2 (defect-fusing) trainer of the multistage GAN (see train_fusion.h).
#include "trainers/train_fusion.h"

#include <cstdio>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/fabric/defects.h"
#include "data/grid.h"
#include "data/transforms.h"
#include "models/dgt.h"
#include "models/fusion_loss.h"
#include "models/gan_loss.h"
#include "nn/clip.h"
#include "tensor/error.h"
#include "trainers/defect_scenes.h"
#include "trainers/gan_metrics.h"
#include "trainers/mvtec_defect_crops.h"
#include "trainers/philox_stream.h"
#include "trainers/trainer_wiring.h"

namespace loom::train {
namespace {

constexpr uint64_t kDropoutOffset = uint64_t{1} << 62;  // T's dropout masks
constexpr uint64_t kDgtOffset = uint64_t{1} << 61;      // the DGT smoothing draws

int64_t defect_classes() { return static_cast<int64_t>(data::fabric::defect_kinds().size()); }

int64_t resolved_depth(const FusionTrainOptions& o) {
  if (o.depth > 0) return o.depth;
  int64_t depth = 0;
  while ((int64_t{1} << (depth + 1)) <= o.image) ++depth;
  return depth;
}

models::NormKind norm_kind(const std::string& name) {
  LOOM_CHECK(name == "batch" || name == "instance", "--norm must be 'batch' or 'instance', got '", name, "'");
  return name == "batch" ? models::NormKind::Batch : models::NormKind::Instance;
}

// The pool's (B, 9, S, S) images and (B, 1, S, S) masks as a FusionBatch in [-1, 1].
FusionBatch split_batch(const Tensor& images01, const Tensor& masks, const std::vector<int64_t>& labels) {
  const Tensor pm1 = data::normalize_to_pm1(images01);  // (B, 9, S, S)
  return {.input = pm1.narrow(1, 0, 3).contiguous(),
          .target = pm1.narrow(1, 3, 3).contiguous(),
          .clean = pm1.narrow(1, 6, 3).contiguous(),
          .mask = masks,
          .labels = labels};
}

Tensor mean_abs(const Tensor& a, const Tensor& b) {
  NoGradGuard no_grad;
  return mean(abs(a - b));
}

}  // namespace

void check_fusion_options(const FusionTrainOptions& o) {
  LOOM_CHECK(o.image >= 16, "--image must be at least 16, got ", o.image);
  const int64_t depth = resolved_depth(o);
  LOOM_CHECK(depth >= 2 && o.image % (int64_t{1} << depth) == 0, "--image ", o.image,
             " must be a multiple of 2^depth = 2^", depth, " (lower --depth)");
  LOOM_CHECK(o.width >= 1 && o.d_layers >= 1, "--width and --d-layers must be positive, got ", o.width, " and ",
             o.d_layers);
  LOOM_CHECK(o.image >> o.d_layers >= 4, "--image ", o.image, " is too small for a PatchGAN of ", o.d_layers,
             " layers (it needs at least 2^layers * 4)");
  norm_kind(o.norm);
  fusion_background_from_name(o.background);
  LOOM_CHECK(o.margin >= 0, "--margin must not be negative, got ", o.margin);
  LOOM_CHECK(o.lambda >= 0, "--lambda must not be negative, got ", o.lambda);
  LOOM_CHECK(o.samples >= 1, "--samples must be positive, got ", o.samples);
  if (o.common.data.empty()) {
    LOOM_CHECK(o.fabric_images >= o.common.batch && o.fabric_images >= o.samples, "--fabric-images (", o.fabric_images,
               ") must be at least --batch (", o.common.batch, ") and --samples (", o.samples, ")");
  } else {
    LOOM_CHECK(!o.dgt, "--dgt needs each defective image's defect-free twin and its defect class, which --data (",
               o.common.data, ") does not have (its good images are other photographs); drop --dgt or --data");
  }
}

void add_fusion_options(SettingsBinder& binder, FusionTrainOptions& o) {
  o.common.batch = 8;
  add_common_options(binder, o.common, "Adam learning rate of T and D");
  binder.add("--image", o.image, "image size S (a multiple of 2^depth)");
  binder.add("--depth", o.depth, "U-Net levels (pix2pix num_downs); 0: log2(S)");
  binder.add("--width", o.width, "network width: ngf = ndf");
  binder.add("--d-layers", o.d_layers, "PatchGAN layers (3: the 70x70 PatchGAN)");
  binder.add("--norm", o.norm, "normalisation of T and D: batch or instance")
      ->check(CLI::IsMember({"batch", "instance"}));
  binder.add("--lambda", o.lambda, "weight of the L1 term (pix2pix: 100)");
  binder.add("--beta1", o.beta1, "Adam beta1");
  binder.add("--beta2", o.beta2, "Adam beta2");
  binder
      .add("--background", o.background,
           "texture around the pasted defect: shifted (the same fabric rolled) or other (another fabric of the "
           "same category)")
      ->check(CLI::IsMember({"shifted", "other"}));
  binder.add("--margin", o.margin, "pixels of mismatched texture kept around the defect in the pasted window");
  binder.add("--dgt", o.dgt, "DGT input encoding (smoothed defect codes + clean image) with its L1 losses");
  binder.add("--samples", o.samples, "rows (fixed pool samples) on each sample sheet");
  binder.add("--fabric-images", o.fabric_images, "size of the procedural defect pool (without --data)");
}

FusionTrainer::FusionTrainer(const FusionTrainOptions& options)
    : options_(options),
      dropout_(philox_stream(options.common.seed, kDropoutOffset)),
      dgt_(philox_stream(options.common.seed, kDgtOffset)) {
  check_fusion_options(options);
  const int64_t S = options.image;
  if (options.common.data.empty()) {
    pool_ = std::make_shared<FusionDefectPool>(options.fabric_images, S, options.common.seed,
                                               fusion_background_from_name(options.background), options.margin);
    data_description_ =
        "procedural fabric defects (" + std::to_string(options.fabric_images) + " images of " + std::to_string(S) +
        "x" + std::to_string(S) + " RGB; input: the defect pasted with " +
        (options.background == "shifted" ? "the same fabric rolled" : "another fabric of its category") + " around it" +
        (options.dgt ? "; DGT encoding" : "") + ")";
  } else {
    pool_ = make_mvtec_fusion_pool(options.common.data, S, options.common.seed, options.margin);
    data_description_ = "MVTec AD defective test images at " + options.common.data + " (" +
                        std::to_string(pool_->size()) + " images resized to " + std::to_string(S) + "x" +
                        std::to_string(S) + "; input: the defect pasted with a train/good image of its category " +
                        "around it; --background does not apply)";
    LOOM_CHECK(pool_->size() >= options.common.batch && pool_->size() >= options.samples, "the defective images (",
               data_description_, ") are fewer than --batch (", options.common.batch, ") or --samples (",
               options.samples, ")");
  }
  loader_ = std::make_unique<data::DataLoader>(pool_, data::LoaderOptions{.batch_size = options.common.batch,
                                                                          .shuffle = true,
                                                                          .drop_last = true,
                                                                          .seed = options.common.seed,
                                                                          .num_workers = 1});
  const int64_t in_channels = options.dgt ? defect_classes() + 1 + 3 : 3;
  const models::NormKind norm = norm_kind(options.norm);
  Generator init(options.common.seed);
  G_ = std::make_shared<models::FusionGenerator>(models::FusionGenerator::Options{.in_channels = in_channels,
                                                                                  .out_channels = 3,
                                                                                  .depth = resolved_depth(options),
                                                                                  .width = options.width,
                                                                                  .norm = norm,
                                                                                  .dropout = true},
                                                 init);
  G_->set_dropout_generator(dropout_);
  D_ = std::make_shared<models::PatchDiscriminator>(
      models::PatchDiscriminator::Options{
          .in_channels = in_channels + 3, .width = options.width, .layers = options.d_layers, .norm = norm},
      init);
  optG_ = make_adam(*G_, options);
  optD_ = make_adam(*D_, options);

  // The sheet's rows, as (n, 10, S, S) = [x, y, b0 in [-1, 1], mask 0/1]: pool samples 0 .. n-1 of
  // the procedural pool (random scenes), or n evenly spaced ones, i * size / n, of --data's pool (sorted
  // by category and defect, so that the rows show several of them).
  std::vector<int64_t> shown(static_cast<size_t>(options.samples));
  for (size_t i = 0; i < shown.size(); ++i)
    shown[i] = options.common.data.empty() ? static_cast<int64_t>(i)
                                           : static_cast<int64_t>(i) * pool_->size() / options.samples;
  const data::Batch rows = data::make_batch(*pool_, shown);
  std::vector<float> labels;
  for (int64_t label : rows.labels.to_vector<int64_t>()) labels.push_back(static_cast<float>(label));
  state_.models = {{"G", G_.get()}, {"D", D_.get()}};
  state_.optimizers = {{"G", optG_.get()}, {"D", optD_.get()}};
  state_.generators = {{"dropout", &dropout_}, {"dgt", &dgt_}};
  state_.extra_tensors = {{"sample_images", cat({data::normalize_to_pm1(rows.images), rows.masks}, 1)},
                          {"sample_labels", Tensor::from_vector(labels, {options.samples})}};
}

FusionBatch FusionTrainer::next_batch() {
  const data::Batch batch = loader_->next_cycling();
  return split_batch(batch.images, batch.masks, batch.labels.to_vector<int64_t>());
}

models::DgtEncoding FusionTrainer::generator_input(const FusionBatch& batch, bool fixed_smoothing) {
  if (!options_.dgt) return {.input = batch.input};
  NoGradGuard no_grad;
  // The sheet uses the middle of the smoothing ranges (drawing would move the "dgt" stream).
  return fixed_smoothing
             ? models::dgt_encode(batch.clean, batch.mask, batch.labels, defect_classes(),
                                  {models::DgtSmoothing{2.0, 2.0, 0.75, 0.75}})
             : models::dgt_encode_random(batch.clean, batch.mask, batch.labels, {.classes = defect_classes()}, dgt_);
}

Metrics FusionTrainer::step(int64_t) { return step_on(next_batch()); }

Metrics FusionTrainer::step_on(const FusionBatch& batch) {
  const double clip = options_.common.clip;
  const models::DgtEncoding encoding = generator_input(batch, false);
  const Tensor& x = encoding.input;  // (B, 3 | 12, S, S)
  const Tensor& y = batch.target;    // (B, 3, S, S)
  const Tensor fake = (*G_)(x);      // (B, 3, S, S)

  // D: L_D = 0.5 (BCE(D(x, y), 1) + BCE(D(x, T(x)), 0)), the fake pair first (pix2pix's order);
  // the same value as models::fusion_discriminator_loss, with D's outputs kept for the statistics.
  optD_->zero_grad();                                 // also clears what T's loss of the last step left on D
  const Tensor d_fake = D_->judge(x, fake.detach());  // (B, 1, H', W') logits
  const Tensor d_real = D_->judge(x, y);
  const Tensor d_real_loss = models::gan_bce(d_real, 1.0, models::DOutput::Logits);
  const Tensor d_fake_loss = models::gan_bce(d_fake, 0.0, models::DOutput::Logits);
  const Tensor errD = (d_real_loss + d_fake_loss) * 0.5;
  errD.backward();
  if (clip > 0) nn::clip_grad_norm_(D_->named_parameters(), clip);
  optD_->step();

  // T: L_T = BCE(D(x, T(x)), 1) + lambda L1 (or lambda (L_fore + L_back + L_mix) with --dgt).
  optG_->zero_grad();
  Metrics extra;
  Tensor errG, gan, l1;
  if (!options_.dgt) {
    const models::FusionGeneratorLoss loss = models::fusion_generator_loss(*D_, x, fake, y, options_.lambda);
    errG = loss.total, gan = loss.gan, l1 = loss.l1;
  } else {
    gan = models::gan_bce(D_->judge(x, fake), 1.0, models::DOutput::Logits);
    const models::DgtLosses parts = models::dgt_losses(fake, y, batch.clean, encoding);
    errG = gan + (parts.fore + parts.back + parts.mix) * options_.lambda;
    l1 = mean_abs(fake, y);
    extra = {{"fore", parts.fore.item()}, {"back", parts.back.item()}, {"mix", parts.mix.item()}};
  }
  errG.backward();
  if (clip > 0) nn::clip_grad_norm_(G_->named_parameters(), clip);
  optG_->step();

  Metrics metrics = {{"lossD", errD.item()},
                     {"lossD_real", d_real_loss.item()},
                     {"lossD_fake", d_fake_loss.item()},
                     {"lossG", errG.item()},
                     {"lossG_gan", gan.item()},
                     {"l1", l1.item()},
                     {"l1_input", options_.dgt ? 0.0 : mean_abs(batch.input, y).item()}};
  metrics.insert(metrics.end(), extra.begin(), extra.end());
  for (auto& entry : discriminator_metrics(d_real, d_fake, models::DOutput::Logits)) metrics.push_back(entry);
  metrics.emplace_back("lr", optD_->lr());
  return metrics;
}

void FusionTrainer::save_samples(const std::filesystem::path& png) {
  NoGradGuard no_grad;
  const Tensor& rows = state_.extra_tensors.at("sample_images");  // (n, 10, S, S)
  std::vector<int64_t> labels;
  for (float label : state_.extra_tensors.at("sample_labels").to_vector<float>()) labels.push_back(int64_t(label));
  const FusionBatch batch{.input = rows.narrow(1, 0, 3).contiguous(),
                          .target = rows.narrow(1, 3, 3).contiguous(),
                          .clean = rows.narrow(1, 6, 3).contiguous(),
                          .mask = rows.narrow(1, 9, 1).contiguous(),
                          .labels = labels};
  const models::DgtEncoding encoding = generator_input(batch, true);
  G_->eval();
  const Tensor output = (*G_)(encoding.input);  // (n, 3, S, S)
  G_->train();
  const int64_t n = rows.size(0), S = rows.size(2);
  std::vector<Tensor> columns;  // per row: input | output | target, or clean | F | output | target (DGT)
  if (options_.dgt) {
    columns = {batch.clean, encoding.foreground_weight.expand({n, 3, S, S}) * 2.0 - 1.0, output, batch.target};
  } else {
    columns = {batch.input, output, batch.target};
  }
  const int64_t k = static_cast<int64_t>(columns.size());
  std::vector<Tensor> cells;
  for (int64_t r = 0; r < n; ++r)
    for (const Tensor& column : columns) cells.push_back(column.narrow(0, r, 1));
  data::GridOptions grid;
  grid.nrow = k;
  data::save_grid(png.string(), data::denormalize_from_pm1(cat(cells, 0)), grid);
}

LoopHooks FusionTrainer::hooks() { return trainer_hooks(*this, *loader_); }

std::filesystem::path train_fusion(SettingsBinder& binder, FusionTrainOptions& options) {
  RunSetup run = start_run("fusion", binder, options.common, [&options] { check_fusion_options(options); });
  FusionTrainer trainer(options);
  announce(*run.dir, options.common.quiet, "training data: " + trainer.data_description());
  TrainingLoop loop(run, options.common, trainer.state(), trainer.hooks());
  return loop.run();
}

}  // namespace loom::train
