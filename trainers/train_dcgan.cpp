// train_dcgan.cpp: the DCGAN trainer (see train_dcgan.h).
#include "trainers/train_dcgan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/grid.h"
#include "data/transforms.h"
#include "nn/clip.h"
#include "tensor/error.h"
#include "trainers/gan_metrics.h"
#include "trainers/philox_stream.h"
#include "trainers/trainer_wiring.h"

namespace loom::train {
namespace {

constexpr uint64_t kNoiseOffset = uint64_t{1} << 62;   // the per-step z stream
constexpr uint64_t kFixedZOffset = uint64_t{1} << 61;  // fixed_z

models::DcganOptions model_options(const DcganTrainOptions& o) {
  return {.nz = o.nz,
          .ngf = o.width,
          .ndf = o.width,
          .channels = o.channels,
          .image_size = o.image,
          .d_output = o.logits ? models::DOutput::Logits : models::DOutput::Probability};
}

void check_options(const DcganTrainOptions& o) {
  models::check_dcgan_options(model_options(o));
  LOOM_CHECK(o.samples >= 1, "--samples must be positive, got ", o.samples);
  LOOM_CHECK(o.fabric_images >= o.common.batch, "--fabric-images (", o.fabric_images, ") must be at least --batch (",
             o.common.batch, ")");
}

}  // namespace

void add_dcgan_options(SettingsBinder& binder, DcganTrainOptions& o) {
  add_common_options(binder, o.common, "Adam learning rate of G and D");
  binder.add("--image", o.image, "image size S (4 * 2^k: 32, 64, 128)");
  binder.add("--channels", o.channels, "image channels: 1 (gray) or 3 (RGB)")->check(CLI::IsMember({1, 3}));
  binder.add("--nz", o.nz, "noise channels of G's input");
  binder.add("--width", o.width, "network width: ngf = ndf");
  binder.add("--beta1", o.beta1, "Adam beta1");
  binder.add("--beta2", o.beta2, "Adam beta2");
  binder.add("--logits", o.logits, "D outputs logits (BCE with logits) instead of Sigmoid probabilities");
  binder.add("--samples", o.samples, "images on each sample sheet (fixed z)");
  binder.add("--fabric-images", o.fabric_images, "size of the procedural fabric pool (without --data)");
}

DcganTrainer::DcganTrainer(const DcganTrainOptions& options)
    : options_(options),
      model_(model_options(options)),
      noise_(philox_stream(options.common.seed, kNoiseOffset)),
      images_(image_source_options(options)),
      device_(training_device(options.common)) {
  check_options(options);
  Generator init(options.common.seed);
  G_ = models::dcgan_generator(model_, init);  // initialised on the CPU: the same weights on every device
  D_ = models::dcgan_discriminator(model_, init);
  G_->to(device_);  // before the optimizers, whose moments follow the parameters' device
  D_->to(device_);
  optG_ = make_adam(*G_, options);
  optD_ = make_adam(*D_, options);
  Generator fixed = philox_stream(options.common.seed, kFixedZOffset);
  state_.models = {{"G", G_.get()}, {"D", D_.get()}};
  state_.optimizers = {{"G", optG_.get()}, {"D", optD_.get()}};
  state_.generators = {{"noise", &noise_}};
  state_.extra_tensors = {{"fixed_z", randn({options.samples, options.nz, 1, 1}, fixed)}};  // (n, nz, 1, 1), CPU
}

Metrics DcganTrainer::step(int64_t step) {
  const int64_t batch = options_.common.batch;
  const double clip = options_.common.clip;
  const Tensor real = images_.next_batch().to(device_);  // (B, C, S, S) in [-1, 1]
  // The Philox stream gives the same z on the CPU and the GPU.
  const Tensor z = randn({batch, options_.nz, 1, 1}, noise_, DType::Float32, device_);  // (B, nz, 1, 1)
  const Tensor fake = (*G_)(z);                                // (B, C, S, S)

  // D: errD = BCE(D(x), 1) + BCE(D(G(z)), 0); D(x) first (batch-norm statistics).
  optD_->zero_grad();
  const Tensor d_real = (*D_)(real);            // (B, 1, 1, 1)
  const Tensor d_fake = (*D_)(fake.detach());   // (B, 1, 1, 1)
  const Tensor errD = models::gan_d_loss(d_real, d_fake, model_.d_output);
  errD.backward();
  if (clip > 0) nn::clip_grad_norm_(D_->named_parameters(), clip);
  optD_->step();

  // G: errG = BCE(D(G(z)), 1) through the updated D.
  optG_->zero_grad();
  const Tensor errG = models::gan_g_loss((*D_)(fake), model_.d_output);
  errG.backward();
  if (clip > 0) nn::clip_grad_norm_(G_->named_parameters(), clip);
  optG_->step();

  Metrics metrics = {{"lossD", errD.item()}, {"lossG", errG.item()}};
  for (auto& entry : discriminator_metrics(d_real, d_fake, model_.d_output)) metrics.push_back(entry);
  metrics.emplace_back("lr", optD_->lr());
  return metrics;
}

void DcganTrainer::save_samples(const std::filesystem::path& png) {
  NoGradGuard no_grad;
  G_->eval();
  const Tensor images = (*G_)(state_.extra_tensors.at("fixed_z").to(device_)).to(Device::cpu());  // (n, C, S, S) in [-1, 1]
  G_->train();
  const int64_t columns = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(std::sqrt(double(options_.samples)))));
  data::GridOptions grid;
  grid.nrow = columns;
  data::save_grid(png.string(), data::denormalize_from_pm1(images), grid);
}

LoopHooks DcganTrainer::hooks() { return trainer_hooks(*this, images_); }

std::filesystem::path train_dcgan(SettingsBinder& binder, DcganTrainOptions& options) {
  RunSetup run = start_run("dcgan", binder, options.common, [&options] { check_options(options); });
  DcganTrainer trainer(options);
  announce(*run.dir, options.common.quiet, "training images: " + trainer.data_description());
  TrainingLoop loop(run, options.common, trainer.state(), trainer.hooks());
  return loop.run();
}

}  // namespace loom::train
