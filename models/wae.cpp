// wae.cpp: the WAE-MMD encoder, decoder and objective (see wae.h for the math).
#include "models/wae.h"

#include <cmath>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"

namespace loom::models {

namespace {

// Channels after encoder stage i (0-based): w, 2w, 4w, 8w, 8w, ... (capped at 8w,
// as DCGAN-style nets stop widening once the maps are small).
int64_t stage_channels(const WaeOptions& o, int64_t stage) { return o.width << std::min<int64_t>(stage, 3); }

void check_options(const WaeOptions& o) {
  wae_stages(o.image_size);
  LOOM_CHECK(o.channels == 1 || o.channels == 3, "Wae: channels must be 1 or 3, got ", o.channels);
  LOOM_CHECK(o.latent >= 1, "Wae: latent size must be >= 1, got ", o.latent);
  LOOM_CHECK(o.width >= 1, "Wae: width must be >= 1, got ", o.width);
}

// Conv k4 s2 p1 (or its transpose) + BatchNorm2d + ReLU: one stage of either net.
template <class Conv>
void add_stage(nn::Sequential& body, int64_t in, int64_t out, Generator& gen) {
  body.add(nn::make<Conv>({.in = in, .out = out, .kernel = 4, .stride = 2, .padding = 1, .bias = false}, gen));
  body.add(nn::make<nn::BatchNorm2d>({.features = out}));
  body.add(nn::make<nn::ReLU>());
}

}  // namespace

int64_t wae_stages(int64_t image_size) {
  const bool power_of_two = image_size > 0 && (image_size & (image_size - 1)) == 0;
  LOOM_CHECK(power_of_two && image_size >= 16 && image_size <= 512,
             "Wae: image size must be a power of two from 16 to 512 (the k4 s2 p1 stages halve it down to 4), got ",
             image_size);
  int64_t stages = 0;
  for (int64_t s = image_size; s > 4; s /= 2) ++stages;  // L = log2(S / 4)
  return stages;
}

// ---- encoder: x (N, C, S, S) -> z (N, d) ------------------------------------------
WaeEncoder::WaeEncoder(const WaeOptions& o, Generator& gen) : options(o) {
  check_options(o);
  const int64_t stages = wae_stages(o.image_size);
  body = register_module("body", nn::make<nn::Sequential>());
  int64_t in = o.channels;
  for (int64_t i = 0; i < stages; ++i) {  // (N, c_i, S / 2^(i+1), S / 2^(i+1))
    add_stage<nn::Conv2d>(*body, in, stage_channels(o, i), gen);
    in = stage_channels(o, i);
  }
  body->add(nn::make<nn::Flatten>());                                         // (N, c_L 4 4)
  body->add(nn::make<nn::Linear>({.in = in * 4 * 4, .out = o.latent}, gen));  // (N, d)
}

Tensor WaeEncoder::forward(const Tensor& x) {
  nn::check_input_dims(*this, x, 4, "(N, C, H, W)");
  nn::check_input_size(*this, x, 1, options.channels, "channels");
  LOOM_CHECK(x.size(2) == options.image_size && x.size(3) == options.image_size, "WaeEncoder: expects ",
             options.image_size, "x", options.image_size, " images, got shape ", shape_str(x.shape()));
  return (*body)(x);
}

// ---- decoder: z (N, d) -> x_hat (N, C, S, S) ----------------------------------------
WaeDecoder::WaeDecoder(const WaeOptions& o, Generator& gen) : options(o) {
  check_options(o);
  const int64_t stages = wae_stages(o.image_size);
  const int64_t deepest = stage_channels(o, stages - 1);  // c_L
  project = register_module("project", nn::make<nn::Linear>({.in = o.latent, .out = deepest * 4 * 4}, gen));
  body = register_module("body", nn::make<nn::Sequential>());
  body->add(nn::make<nn::BatchNorm2d>({.features = deepest}));
  body->add(nn::make<nn::ReLU>());
  for (int64_t i = stages - 1; i >= 1; --i)  // mirror of the encoder: c_i -> c_{i-1}
    add_stage<nn::ConvTranspose2d>(*body, stage_channels(o, i), stage_channels(o, i - 1), gen);
  body->add(nn::make<nn::ConvTranspose2d>(
      {.in = stage_channels(o, 0), .out = o.channels, .kernel = 4, .stride = 2, .padding = 1}, gen));
  if (o.output == WaeOutput::Sigmoid)
    body->add(nn::make<nn::Sigmoid>());
  else
    body->add(nn::make<nn::Tanh>());
}

Tensor WaeDecoder::forward(const Tensor& z) {
  nn::check_input_dims(*this, z, 2, "(N, d)");
  nn::check_input_size(*this, z, 1, options.latent, "latent features");
  const int64_t deepest = project->options.out / 16;
  Tensor h = (*project)(z).reshape({z.size(0), deepest, 4, 4});  // (N, c_L, 4, 4)
  return (*body)(h);                                             // (N, C, S, S)
}

// ---- the auto-encoder ---------------------------------------------------------------
Wae::Wae(const WaeOptions& o, Generator& gen) : options(o) {
  encoder = register_module("encoder", std::make_shared<WaeEncoder>(o, gen));
  decoder = register_module("decoder", std::make_shared<WaeDecoder>(o, gen));
}

Tensor Wae::forward(const Tensor& x) { return decode(encode(x)); }
Tensor Wae::encode(const Tensor& x) { return (*encoder)(x); }
Tensor Wae::decode(const Tensor& z) { return (*decoder)(z); }

std::string Wae::extra_repr() const {
  return "image_size=" + std::to_string(options.image_size) + ", channels=" + std::to_string(options.channels) +
         ", latent=" + std::to_string(options.latent) + ", width=" + std::to_string(options.width) +
         ", output=" + (options.output == WaeOutput::Sigmoid ? "sigmoid" : "tanh");
}

// ---- the objective ------------------------------------------------------------------
Tensor sample_wae_prior(int64_t n, int64_t d, double sigma2, Generator& gen, DType dtype, Device device) {
  LOOM_CHECK(sigma2 > 0, "sample_wae_prior: sigma2 must be positive, got ", sigma2);
  return normal({n, d}, 0.0, std::sqrt(sigma2), gen, dtype, device);  // z~ ~ N(0, sigma^2 I_d)
}

WaeLoss wae_loss(const Tensor& x, const Tensor& x_hat, const Tensor& z, Generator& gen, const WaeLossOptions& o) {
  LOOM_CHECK(x.dim() == 4 && x.shape() == x_hat.shape(),
             "wae_loss: x and x_hat must be (N, C, H, W) of one shape, got ", shape_str(x.shape()), " and ",
             shape_str(x_hat.shape()));
  LOOM_CHECK(z.dim() == 2 && z.size(0) == x.size(0), "wae_loss: z must be (N, d) with N = ", x.size(0),
             " (the batch of x), got shape ", shape_str(z.shape()));
  // c(x, y) summed over C H W, averaged over the batch: mean_n sum_{c,h,w} c(x_n, y_n)
  const double pixels_per_image = static_cast<double>(x.numel() / x.size(0));
  Tensor per_pixel = o.cost == ReconstructionCost::SquaredL2 ? mse_loss(x_hat, x) : l1_loss(x_hat, x);
  WaeLoss loss;
  loss.reconstruction = per_pixel * (pixels_per_image * o.reconstruction_weight);
  Tensor prior = sample_wae_prior(z.size(0), z.size(1), o.sigma2, gen, z.dtype(), z.device());  // (N, d)
  loss.mmd = mmd_imq(z, prior, o.sigma2, o.scales);                                             // MMD_k(Q_Z, P_Z)
  loss.total = loss.reconstruction + loss.mmd * o.lambda;
  return loss;
}

// ---- detection ----------------------------------------------------------------------
Tensor wae_anomaly_map(Wae& model, const Tensor& x, AnomalyMapOptions options) {
  const bool was_training = model.is_training();
  Tensor x_hat;
  try {
    NoGradGuard no_grad;
    model.eval();
    x_hat = model(x);  // (N, C, S, S)
  } catch (...) {
    model.train(was_training);
    throw;
  }
  model.train(was_training);
  options.data_range = model.options.output == WaeOutput::Sigmoid ? 1.0 : 2.0;  // L of [0, 1] or [-1, 1]
  return anomaly_map(x, x_hat, options);
}

}  // namespace loom::models
