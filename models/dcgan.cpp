// dcgan.cpp: builds the DCGAN generator and discriminator (layer tables in dcgan.h).
#include "models/dcgan.h"

#include "nn/nn.h"
#include "tensor/error.h"

namespace loom::models {

namespace {

std::shared_ptr<nn::BatchNorm2d> batch_norm(const DcganOptions& o, int64_t features) {
  return nn::make<nn::BatchNorm2d>({.features = features, .eps = o.bn_eps, .momentum = o.bn_momentum});
}

// Conv(in, out, 4, stride, padding) without bias; its default init draws from gen.
std::shared_ptr<nn::Conv2d> conv4(int64_t in, int64_t out, int64_t stride, int64_t padding, Generator& gen) {
  return nn::make<nn::Conv2d>({.in = in, .out = out, .kernel = 4, .stride = stride, .padding = padding, .bias = false},
                              gen);
}

std::shared_ptr<nn::ConvTranspose2d> conv_transpose4(int64_t in, int64_t out, int64_t stride, int64_t padding,
                                                     Generator& gen) {
  return nn::make<nn::ConvTranspose2d>(
      {.in = in, .out = out, .kernel = 4, .stride = stride, .padding = padding, .bias = false}, gen);
}

}  // namespace

int64_t dcgan_stages(int64_t image_size) {
  int64_t stages = 0;
  for (int64_t s = image_size; s > 4 && s % 2 == 0; s /= 2) ++stages;
  LOOM_CHECK(stages >= 1 && (int64_t{4} << stages) == image_size, "dcgan: image size ", image_size,
             " is not 4 * 2^k with k >= 1 (use 32, 64 or 128; 8, 16, 256 also work)");
  return stages;
}

void check_dcgan_options(const DcganOptions& o) {
  LOOM_CHECK(o.nz > 0, "dcgan: nz must be positive, got ", o.nz);
  LOOM_CHECK(o.ngf > 0, "dcgan: ngf must be positive, got ", o.ngf);
  LOOM_CHECK(o.ndf > 0, "dcgan: ndf must be positive, got ", o.ndf);
  LOOM_CHECK(o.channels > 0, "dcgan: channels must be positive (1 for grey, 3 for RGB), got ", o.channels);
  dcgan_stages(o.image_size);
}

void append_dcgan_generator(nn::Sequential& net, int64_t in_channels, const DcganOptions& o, Generator& gen) {
  check_dcgan_options(o);
  const int64_t k = dcgan_stages(o.image_size);
  int64_t c = o.ngf << (k - 1);                         // ngf 2^(k-1) channels at 4x4
  net.add(conv_transpose4(in_channels, c, 1, 0, gen));  // (N, in, 1, 1) -> (N, c, 4, 4)
  net.add(batch_norm(o, c));
  net.add(nn::make<nn::ReLU>());
  for (int64_t stage = 1; stage < k; ++stage, c /= 2) {  // (N, c, s, s) -> (N, c/2, 2s, 2s)
    net.add(conv_transpose4(c, c / 2, 2, 1, gen));
    net.add(batch_norm(o, c / 2));
    net.add(nn::make<nn::ReLU>());
  }
  net.add(conv_transpose4(o.ngf, o.channels, 2, 1, gen));  // (N, ngf, S/2, S/2) -> (N, nc, S, S)
  net.add(nn::make<nn::Tanh>());
}

int64_t append_dcgan_discriminator_features(nn::Sequential& net, const DcganOptions& o, Generator& gen) {
  check_dcgan_options(o);
  const int64_t k = dcgan_stages(o.image_size);
  int64_t c = o.ndf;
  net.add(conv4(o.channels, c, 2, 1, gen));  // (N, nc, S, S) -> (N, ndf, S/2, S/2), no BN
  net.add(nn::make<nn::LeakyReLU>(0.2));
  for (int64_t stage = 1; stage < k; ++stage, c *= 2) {  // (N, c, s, s) -> (N, 2c, s/2, s/2)
    net.add(conv4(c, 2 * c, 2, 1, gen));
    net.add(batch_norm(o, 2 * c));
    net.add(nn::make<nn::LeakyReLU>(0.2));
  }
  return c;  // ndf 2^(k-1), at 4x4
}

std::shared_ptr<nn::Sequential> dcgan_generator(const DcganOptions& o, Generator& gen) {
  auto net = nn::make<nn::Sequential>();
  append_dcgan_generator(*net, o.nz, o, gen);
  nn::dcgan_init_(*net, gen);
  return net;
}

std::shared_ptr<nn::Sequential> dcgan_discriminator(const DcganOptions& o, Generator& gen) {
  auto net = nn::make<nn::Sequential>();
  const int64_t c = append_dcgan_discriminator_features(*net, o, gen);
  net->add(conv4(c, 1, 1, 0, gen));  // (N, c, 4, 4) -> (N, 1, 1, 1)
  if (o.d_output == DOutput::Probability) net->add(nn::make<nn::Sigmoid>());
  nn::dcgan_init_(*net, gen);
  return net;
}

}  // namespace loom::models
