// wae.h: the Wasserstein auto-encoder, WAE-MMD (Tolstikhin, Bousquet, Gelly,
// Schoelkopf, "Wasserstein Auto-Encoders", ICLR 2018), used here to learn
// defect-free texture: trained on good images only, it reconstructs a defect
// as the texture it should have been, so |x - x_hat| lights up the defect
// (the anomaly maps and thresholds are in models/anomaly.h).
//
// Image range: the decoder ends with Sigmoid (images in [0, 1], the default,
// loom's image convention) or Tanh (images in [-1, 1]); feed the encoder the
// same range the decoder produces.
//
// Architecture (the paper's CelebA net, with the k4 s2 p1 convolutions of
// DCGAN; S = image size, L = log2(S / 4) stages, w = width):
//   encoder Q(Z|X), deterministic:
//     x (N, C, S, S)
//     L x [Conv2d k4 s2 p1 (no bias) + BatchNorm2d + ReLU], channels w, 2w, 4w, 8w, 8w, ...  (capped at 8w)
//     -> (N, c_L, 4, 4) -> Flatten -> Linear -> z (N, d)
//   decoder G(X|Z):
//     z (N, d) -> Linear -> (N, c_L, 4, 4) -> BatchNorm2d + ReLU
//     L-1 x [ConvTranspose2d k4 s2 p1 (no bias) + BatchNorm2d + ReLU], channels mirrored
//     ConvTranspose2d k4 s2 p1 (with bias) -> C channels -> Sigmoid or Tanh -> x_hat (N, C, S, S)
//
// Objective (paper, eq. 4 with the MMD penalty of Algorithm 2):
//   D_WAE = E_x E_{Q(z|x)} [c(x, G(z))] + lambda * MMD_k(Q_Z, P_Z)
//   c(x, y) = ||x - y||_2^2            (per image, summed over C H W; L1 optional)
//   MMD_k(Q_Z, P_Z) = 1/(n(n-1)) sum_{l!=j} k(z_l, z_j) + 1/(n(n-1)) sum_{l!=j} k(z~_l, z~_j)
//                     - 2/n^2 sum_{l,j} k(z~_l, z_j),       z~ ~ P_Z = N(0, sigma^2 I_d)
//   k(x, y) = C / (C + ||x - y||^2),   C = 2 d sigma^2 s,  summed over s in {.1, .2, .5, 1, 2, 5, 10}
// The MMD is loom::mmd_imq (autograd/loss.cpp, pinned by golden case 057),
// which is exactly this estimator.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/anomaly.h"
#include "nn/nn.h"

namespace loom::models {

enum class WaeOutput { Sigmoid, Tanh };  // images in [0, 1] or in [-1, 1]

struct WaeOptions {
  int64_t image_size = 64;  // S: a power of two, 16 .. 512 (32, 64 and 128 are tested)
  int64_t channels = 3;     // C: 1 (grey) or 3 (RGB)
  int64_t latent = 64;      // d: the paper uses 8 (MNIST) and 64 (CelebA)
  int64_t width = 64;       // w: channels of the first encoder stage
  WaeOutput output = WaeOutput::Sigmoid;
};

// Number of k4 s2 p1 stages from S down to 4: log2(S / 4). Throws naming the
// size unless S is a power of two in [16, 512].
int64_t wae_stages(int64_t image_size);

// Q(Z|X): x (N, C, S, S) -> z (N, d).
class WaeEncoder : public nn::Module {
 public:
  WaeEncoder(const WaeOptions& options, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "WaeEncoder"; }
  const WaeOptions options;
  std::shared_ptr<nn::Sequential> body;  // "body": the conv stages, Flatten, Linear
};

// G(X|Z): z (N, d) -> x_hat (N, C, S, S).
class WaeDecoder : public nn::Module {
 public:
  WaeDecoder(const WaeOptions& options, Generator& gen);
  Tensor forward(const Tensor& z) override;
  std::string type_name() const override { return "WaeDecoder"; }
  const WaeOptions options;
  std::shared_ptr<nn::Linear> project;   // "project": d -> c_L * 4 * 4
  std::shared_ptr<nn::Sequential> body;  // "body": BN, ReLU, the transposed convs, Sigmoid/Tanh
};

// The auto-encoder; forward(x) = decoder(encoder(x)). State dict names:
// "encoder.body.0.weight", ..., "decoder.project.weight", "decoder.body.0.running_mean", ...
class Wae : public nn::Module {
 public:
  explicit Wae(const WaeOptions& options, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;  // (N, C, S, S) -> (N, C, S, S)
  Tensor encode(const Tensor& x);            // (N, C, S, S) -> (N, d)
  Tensor decode(const Tensor& z);            // (N, d) -> (N, C, S, S)
  std::string type_name() const override { return "Wae"; }
  std::string extra_repr() const override;
  const WaeOptions options;
  std::shared_ptr<WaeEncoder> encoder;
  std::shared_ptr<WaeDecoder> decoder;
};

enum class ReconstructionCost { SquaredL2, L1 };

struct WaeLossOptions {
  ReconstructionCost cost = ReconstructionCost::SquaredL2;  // c(x, y) = ||x - y||^2 (paper) or ||x - y||_1
  // The reconstruction term is reconstruction_weight * mean_n sum_{c,h,w} c(x_n, y_n).
  // 0.05 is the factor of the authors' code (wae.py, cost "l2sq"); with it
  // lambda = 100, sigma2 = 2, d = 64 are the paper's CelebA settings.
  double reconstruction_weight = 0.05;
  double lambda = 10.0;  // the MMD weight (paper: 10 for MNIST, 100 for CelebA)
  double sigma2 = 1.0;   // the prior's variance sigma^2 (paper: 1 MNIST, 2 CelebA)
  std::vector<double> scales = {0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0};
};

struct WaeLoss {
  Tensor total;           // reconstruction + lambda * mmd (0-dim)
  Tensor reconstruction;  // reconstruction_weight * mean_n sum c(x_n, x_hat_n) (0-dim)
  Tensor mmd;             // MMD_k(q(z), p(z)), before lambda (0-dim)
};

// z~ ~ N(0, sigma2 I_d): (n, d) in z's dtype and device, drawn from gen.
Tensor sample_wae_prior(int64_t n, int64_t d, double sigma2, Generator& gen, DType dtype = DType::Float32,
                        Device device = Device::cpu());

// The WAE-MMD objective for a batch: x and x_hat (N, C, H, W), z (N, d) the
// encoder's codes; the prior sample (N, d) is drawn from gen.
WaeLoss wae_loss(const Tensor& x, const Tensor& x_hat, const Tensor& z, Generator& gen,
                 const WaeLossOptions& options = {});

// The detection use: x_hat = model(x) in eval mode without gradients (the
// model's mode is restored afterwards), then anomaly_map(x, x_hat) of
// models/anomaly.h, with data_range set from the decoder's output (1 for
// Sigmoid, 2 for Tanh). x (N, C, S, S) -> a (N, 1, S, S).
Tensor wae_anomaly_map(Wae& model, const Tensor& x, AnomalyMapOptions options = {});

}  // namespace loom::models
