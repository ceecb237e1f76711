// train_cgan.cpp: the stage-1 trainer of the multistage GAN (see train_cgan.h).
#include "trainers/train_cgan.h"

#include <cstdio>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/grid.h"
#include "data/transforms.h"
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

constexpr uint64_t kNoiseOffset = uint64_t{1} << 62;   // the per-step z stream
constexpr uint64_t kFixedZOffset = uint64_t{1} << 61;  // fixed_z

std::shared_ptr<models::TextureFeatures> make_extractor(const CganTrainOptions& o) {
  if (o.vgg19.empty()) return models::TextureFeatures::random({.in_channels = 3, .seed = o.common.seed});
  return models::TextureFeatures::vgg19({.path = o.vgg19});
}

models::CganGramOptions model_options(const CganTrainOptions& o, int64_t gram_dim) {
  return {.nz = o.nz,
          .ngf = o.width,
          .ndf = o.width,
          .channels = 3,
          .image_size = o.image,
          .gram_dim = gram_dim,
          .condition_dim = o.condition_dim};
}

}  // namespace

void check_cgan_options(const CganTrainOptions& o) {
  models::check_dcgan_options(models::dcgan_options(model_options(o, 1)));
  LOOM_CHECK(o.common.batch >= 2, "--batch must be at least 2 (the Gram projection standardises over the batch), got ",
             o.common.batch);
  LOOM_CHECK(o.condition_dim >= 1, "--condition-dim must be positive, got ", o.condition_dim);
  LOOM_CHECK(o.sample_rows >= 1 && o.sample_columns >= 1, "--sample-rows and --sample-columns must be positive, got ",
             o.sample_rows, " and ", o.sample_columns);
  if (o.common.data.empty()) {
    LOOM_CHECK(o.fabric_images >= o.common.batch && o.fabric_images >= o.sample_rows, "--fabric-images (",
               o.fabric_images, ") must be at least --batch (", o.common.batch, ") and --sample-rows (", o.sample_rows,
               ")");
  }
}

void add_cgan_options(SettingsBinder& binder, CganTrainOptions& o) {
  add_common_options(binder, o.common, "Adam learning rate of G and D");
  binder.add("--image", o.image, "defect crop size S (4 * 2^k: 32, 64, 128)");
  binder.add("--nz", o.nz, "noise length of G's input");
  binder.add("--width", o.width, "network width: ngf = ndf");
  binder.add("--condition-dim", o.condition_dim, "length of the projected Gram condition");
  binder.add("--beta1", o.beta1, "Adam beta1");
  binder.add("--beta2", o.beta2, "Adam beta2");
  binder.add("--vgg19", o.vgg19,
             "VGG19 weights (safetensors, torchvision names features.N.weight/bias) for the texture extractor; "
             "without it a fixed random multi-scale extractor (seeded) is used");
  binder.add("--sample-rows", o.sample_rows, "condition patches (rows) on each sample sheet");
  binder.add("--sample-columns", o.sample_columns, "generated crops per condition (fixed z)");
  binder.add("--fabric-images", o.fabric_images, "size of the procedural defect pool (without --data)");
}

CganTrainer::CganTrainer(const CganTrainOptions& options)
    : options_(options), noise_(philox_stream(options.common.seed, kNoiseOffset)) {
  check_cgan_options(options);
  const int64_t S = options.image;
  if (options.common.data.empty()) {
    pool_ = std::make_shared<CganDefectPool>(options.fabric_images, S, options.common.seed);
    data_description_ = "procedural fabric defects (" + std::to_string(options.fabric_images) + " crops of " +
                        std::to_string(S) + "x" + std::to_string(S) +
                        " RGB, conditions from the same fabric without its defect)";
  } else {
    pool_ = make_mvtec_defect_crops(options.common.data, S, options.common.seed);
    data_description_ = "MVTec AD defect crops at " + options.common.data + " (" + std::to_string(pool_->size()) +
                        " crops of " + std::to_string(S) + "x" + std::to_string(S) + "; " +
                        describe_crop_conditions(crop_condition_counts(*pool_)) + ")";
  }
  LOOM_CHECK(pool_->size() >= options.common.batch && pool_->size() >= options.sample_rows, "the training crops (",
             data_description_, ") are fewer than --batch (", options.common.batch, ") or --sample-rows (",
             options.sample_rows, ")");
  loader_ = std::make_unique<data::DataLoader>(
      pool_, data::LoaderOptions{.batch_size = options.common.batch, .shuffle = true, .drop_last = true,
                                 .seed = options.common.seed, .num_workers = 1});
  extractor_ = make_extractor(options);
  const models::CganGramOptions model = model_options(options, extractor_->condition_dim());
  Generator init(options.common.seed);
  G_ = std::make_shared<models::CganGenerator>(model, init);
  D_ = std::make_shared<models::CganDiscriminator>(model, init);
  optG_ = make_adam(*G_, options);
  optD_ = make_adam(*D_, options);

  // The sheet's conditions: the condition patches of pool samples 0 .. rows-1.
  std::vector<int64_t> first(static_cast<size_t>(options.sample_rows));
  for (size_t i = 0; i < first.size(); ++i) first[i] = static_cast<int64_t>(i);
  const Tensor both = data::normalize_to_pm1(data::make_batch(*pool_, first).images);  // (rows, 6, S, S)
  Generator fixed = philox_stream(options.common.seed, kFixedZOffset);
  state_.models = {{"G", G_.get()}, {"D", D_.get()}};
  state_.optimizers = {{"G", optG_.get()}, {"D", optD_.get()}};
  state_.generators = {{"noise", &noise_}};
  state_.extra_tensors = {{"fixed_z", randn({options.sample_columns, options.nz}, fixed)},  // (k, nz)
                          {"sample_conditions", both.narrow(1, 3, 3).contiguous()}};     // (rows, 3, S, S)
}

std::pair<Tensor, Tensor> CganTrainer::next_batch() {
  const Tensor both = data::normalize_to_pm1(loader_->next_cycling().images);  // (B, 6, S, S) in [-1, 1]
  return {both.narrow(1, 0, 3).contiguous(), both.narrow(1, 3, 3).contiguous()};
}

Metrics CganTrainer::step(int64_t) {
  const double clip = options_.common.clip;
  const auto [real, patch] = next_batch();  // (B, 3, S, S) each
  Tensor g;                                 // (B, gram_dim)
  {
    NoGradGuard no_grad;
    g = (*extractor_)(patch);
  }
  const Tensor z = randn({options_.common.batch, options_.nz}, noise_);  // (B, nz)
  const Tensor fake = G_->forward(z, g);                                 // (B, 3, S, S)

  // D: errD = BCE(D(x, g), 1) + BCE(D(G(z, g), g), 0); D(x, g) first (batch-norm statistics).
  optD_->zero_grad();
  const Tensor d_real = D_->forward(real, g);           // (B, 1, 1, 1) logits
  const Tensor d_fake = D_->forward(fake.detach(), g);  // (B, 1, 1, 1)
  const Tensor errD = models::gan_d_loss(d_real, d_fake, models::DOutput::Logits);
  errD.backward();
  if (clip > 0) nn::clip_grad_norm_(D_->named_parameters(), clip);
  optD_->step();

  // G: errG = BCE(D(G(z, g), g), 1) through the updated D.
  optG_->zero_grad();
  const Tensor errG = models::gan_g_loss(D_->forward(fake, g), models::DOutput::Logits);
  errG.backward();
  if (clip > 0) nn::clip_grad_norm_(G_->named_parameters(), clip);
  optG_->step();

  Metrics metrics = {{"lossD", errD.item()}, {"lossG", errG.item()}};
  for (auto& entry : discriminator_metrics(d_real, d_fake, models::DOutput::Logits)) metrics.push_back(entry);
  metrics.emplace_back("lr", optD_->lr());
  return metrics;
}

void CganTrainer::save_samples(const std::filesystem::path& png) {
  NoGradGuard no_grad;
  const Tensor& conditions = state_.extra_tensors.at("sample_conditions");  // (rows, 3, S, S)
  const Tensor& z = state_.extra_tensors.at("fixed_z");                     // (k, nz)
  const int64_t rows = conditions.size(0), k = z.size(0);
  const Tensor g = (*extractor_)(conditions);  // (rows, gram_dim)
  G_->eval();
  std::vector<Tensor> cells;  // row r: condition r, then G(z_j, g_r) for j = 1..k
  for (int64_t r = 0; r < rows; ++r) {
    const Tensor g_row = g.narrow(0, r, 1).expand({k, g.size(1)}).contiguous();  // (k, gram_dim)
    cells.push_back(conditions.narrow(0, r, 1));
    cells.push_back(G_->forward(z, g_row));  // (k, 3, S, S)
  }
  G_->train();
  data::GridOptions grid;
  grid.nrow = k + 1;
  grid.borders.assign(static_cast<size_t>(rows * (k + 1)), std::nullopt);
  for (int64_t r = 0; r < rows; ++r) grid.borders[static_cast<size_t>(r * (k + 1))] = data::kGreen;  // the condition
  data::save_grid(png.string(), data::denormalize_from_pm1(cat(cells, 0)), grid);
}

LoopHooks CganTrainer::hooks() { return trainer_hooks(*this, *loader_); }

std::filesystem::path train_cgan(SettingsBinder& binder, CganTrainOptions& options) {
  RunSetup run = start_run("cgan", binder, options.common, [&options] { check_cgan_options(options); });
  CganTrainer trainer(options);
  run.settings["extractor"] = trainer.extractor_description();
  run.dir->write_settings(run.settings);
  for (const std::string& line :
       {"training data: " + trainer.data_description(), "texture extractor: " + trainer.extractor_description()})
    announce(*run.dir, options.common.quiet, line);
  TrainingLoop loop(run, options.common, trainer.state(), trainer.hooks());
  return loop.run();
}

}  // namespace loom::train
