// dgt.cpp: the DGT generator's input encoding and pixel losses (see dgt.h).
#include "models/dgt.h"

#include "models/gaussian_blur.h"
#include "tensor/error.h"

namespace loom::models {
namespace {

void check_weight(double w, const char* what) {
  LOOM_CHECK(w >= 0.0 && w <= 1.0, "dgt_encode: ", what, " must lie in [0, 1], got ", w);
}

}  // namespace

DgtEncoding dgt_encode(const Tensor& normal, const Tensor& mask, const std::vector<int64_t>& labels, int64_t classes,
                       const std::vector<DgtSmoothing>& smoothing) {
  LOOM_CHECK(normal.dim() == 4 && mask.dim() == 4 && mask.size(1) == 1 && mask.size(0) == normal.size(0) &&
                 mask.size(2) == normal.size(2) && mask.size(3) == normal.size(3),
             "dgt_encode: normal must be (N, C, H, W) and mask (N, 1, H, W), got ", shape_str(normal.shape()), " and ",
             shape_str(mask.shape()));
  const int64_t N = normal.size(0);
  LOOM_CHECK(classes >= 1, "dgt_encode: classes must be at least 1, got ", classes);
  LOOM_CHECK(static_cast<int64_t>(labels.size()) == N, "dgt_encode: ", labels.size(), " labels for ", N, " samples");
  LOOM_CHECK(smoothing.size() == 1 || static_cast<int64_t>(smoothing.size()) == N,
             "dgt_encode: give one smoothing or one per sample (", N, "), got ", smoothing.size());
  DgtEncoding enc;
  std::vector<Tensor> fores, backs;
  for (int64_t n = 0; n < N; ++n) {
    const DgtSmoothing& s = smoothing[smoothing.size() == 1 ? 0 : n];
    check_weight(s.weight_fore, "weight_fore (w_d)");
    check_weight(s.weight_back, "weight_back (w_n)");
    LOOM_CHECK(labels[n] >= 0 && labels[n] < classes, "dgt_encode: label ", labels[n], " of sample ", n,
               " is outside [0, ", classes, ")");
    std::vector<double> one_hot(classes, 0.0);
    one_hot[labels[n]] = 1.0;
    const Tensor y = Tensor::from_vector(one_hot, {1, classes, 1, 1}).to(normal.dtype()).to(normal.device());
    const Tensor m = mask.narrow(0, n, 1).to(normal.dtype());                // (1, 1, H, W)
    const Tensor fore_hat = y * m;                                           // Ê_fore = M ⊗ E_fore  (1, S, H, W)
    fores.push_back(gaussian_blur(fore_hat, s.sigma_fore) * s.weight_fore);  // Ẽ_fore = w_d (G(k_d) ⊙ Ê_fore)
    backs.push_back(gaussian_blur(m, s.sigma_back) * s.weight_back);         // Ẽ_back = w_n (G(k_n) ⊙ M)
    enc.smoothing.push_back(s);
  }
  enc.foreground = cat(fores, 0);                                // (N, S, H, W)
  enc.background = cat(backs, 0);                                // (N, 1, H, W)
  enc.foreground_weight = sum(enc.foreground, {1}, true);        // F = sum_s Ẽ_fore  (N, 1, H, W)
  enc.input = cat({enc.foreground, enc.background, normal}, 1);  // X̂ (N, S + 1 + C, H, W)
  return enc;
}

DgtEncoding dgt_encode_random(const Tensor& normal, const Tensor& mask, const std::vector<int64_t>& labels,
                              const DgtEncodingOptions& opt, Generator& gen) {
  LOOM_CHECK(opt.sigma_min >= 0.0 && opt.sigma_min <= opt.sigma_max,
             "dgt_encode_random: need 0 <= sigma_min <= ", "sigma_max, got ", opt.sigma_min, " and ", opt.sigma_max);
  LOOM_CHECK(opt.weight_min >= 0.0 && opt.weight_min <= opt.weight_max && opt.weight_max <= 1.0,
             "dgt_encode_random: need 0 <= weight_min <= weight_max <= 1, got ", opt.weight_min, " and ",
             opt.weight_max);
  LOOM_CHECK(normal.dim() == 4, "dgt_encode_random: normal must be (N, C, H, W), got ", shape_str(normal.shape()));
  const int64_t N = normal.size(0);
  const auto draw = [&](double lo, double hi) { return uniform({N}, lo, hi, gen, DType::Float64).to_vector<double>(); };
  const std::vector<double> k_d = draw(opt.sigma_min, opt.sigma_max), k_n = draw(opt.sigma_min, opt.sigma_max);
  const std::vector<double> w_d = draw(opt.weight_min, opt.weight_max), w_n = draw(opt.weight_min, opt.weight_max);
  std::vector<DgtSmoothing> smoothing;
  for (int64_t n = 0; n < N; ++n) smoothing.push_back({k_d[n], k_n[n], w_d[n], w_n[n]});
  return dgt_encode(normal, mask, labels, opt.classes, smoothing);
}

Tensor dgt_mix_target(const Tensor& defective, const Tensor& normal, const Tensor& foreground_weight,
                      const Tensor& background) {
  const Tensor& F = foreground_weight;                                   // (N, 1, H, W)
  const Tensor& B = background;                                          // (N, 1, H, W)
  return (defective * F + normal * (1.0 - F)) * (1.0 - B) + normal * B;  // (N, C, H, W)
}

DgtLosses dgt_losses(const Tensor& fake, const Tensor& defective, const Tensor& normal, const DgtEncoding& enc) {
  LOOM_CHECK(fake.shape() == defective.shape() && fake.shape() == normal.shape(),
             "dgt_losses: fake, defective and normal must have one shape (N, C, H, W), got ", shape_str(fake.shape()),
             ", ", shape_str(defective.shape()), " and ", shape_str(normal.shape()));
  const Tensor& F = enc.foreground_weight;  // (N, 1, H, W)
  LOOM_CHECK(F.size(0) == fake.size(0) && F.size(2) == fake.size(2) && F.size(3) == fake.size(3),
             "dgt_losses: the encoding is for ", shape_str(F.shape()), ", the images are ", shape_str(fake.shape()));
  DgtLosses loss;
  loss.fore = mean(abs(F * (fake - defective)));                                   // L_fore = |F ⊗ (X - D)|_1
  loss.back = mean(abs((1.0 - F) * (fake - normal)));                              // L_back = |(1 - F) ⊗ (X - N)|_1
  loss.mix = l1_loss(fake, dgt_mix_target(defective, normal, F, enc.background));  // L_mix = |X - T_mix|_1
  return loss;
}

}  // namespace loom::models
