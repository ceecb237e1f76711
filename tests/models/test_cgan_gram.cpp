// test_cgan_gram.cpp: the multistage GAN's stage 1 (models/cgan_gram.h) and
// its texture descriptor (models/texture_features.h):
//   - G(z, g) and D(x, g) shapes for every size (32, 64, 128) and channel
//     count (1, 3); the packed G input; D refuses an image without condition;
//   - the random extractor: same seed, same weights and outputs; another
//     seed, other ones; no trainable parameters and no gradient for its
//     weights (but one for its input); He-scaled weights;
//   - the condition g against a hand computation: the first stage against a
//     hand convolution, each Gram matrix psi psi^T / (C H W) and the
//     row-major upper-triangle layout;
//   - VGG19 from a small fake torchvision-named file (conv1_1, conv1_2,
//     conv2_1): relu1_1 against a hand convolution of the ImageNet-normalised
//     input, relu2_1 against loom's ops, grey input = repeated RGB; a wrong
//     shape, a missing tensor and an unknown layer are refused, named;
//   - tiny overfits on 8 procedural 32x32 images: D alone separates real
//     pairs from fixed fakes, D alone tells matched (x, g) pairs from
//     mismatched ones (only the projection term can), and G alone
//     reproduces the batch from fixed (z, g).
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "models/cgan_gram.h"
#include "models/texture_features.h"
#include "nn/nn.h"
#include "tensor/safetensors.h"
#include "tests/models/gan_test_util.h"
#include "tests/test_util.h"

using namespace loom;
using namespace loom::models;
using namespace loom::testing;

namespace {

// relu(conv2d(x, w, b)) with stride 1 and zero padding `pad`, by loops in
// double: x (N, C, H, W), w (O, C, K, K) -> (N, O, H', W') as a flat vector.
std::vector<double> hand_conv_relu(const Tensor& x, const Tensor& w, const Tensor& b, int64_t pad) {
  const std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3), o = w.size(0), k = w.size(2);
  const int64_t oh = h + 2 * pad - k + 1, ow = wd + 2 * pad - k + 1;
  std::vector<double> out;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t f = 0; f < o; ++f)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t xx = 0; xx < ow; ++xx) {
          double acc = bv[f];
          for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t ky = 0; ky < k; ++ky)
              for (int64_t kx = 0; kx < k; ++kx) {
                const int64_t sy = y + ky - pad, sx = xx + kx - pad;
                if (sy < 0 || sy >= h || sx < 0 || sx >= wd) continue;
                acc += xv[((i * c + ch) * h + sy) * wd + sx] * wv[((f * c + ch) * k + ky) * k + kx];
              }
          out.push_back(std::max(acc, 0.0));
        }
  return out;
}

// The upper triangles of psi psi^T / (C H W) for each sample, row-major, by loops in double.
std::vector<std::vector<double>> hand_gram_triangles(const Tensor& psi) {
  const std::vector<double> v = psi.to_vector<double>();
  const int64_t n = psi.size(0), c = psi.size(1), p = psi.size(2) * psi.size(3);
  std::vector<std::vector<double>> out(static_cast<size_t>(n));
  for (int64_t s = 0; s < n; ++s)
    for (int64_t i = 0; i < c; ++i)
      for (int64_t j = i; j < c; ++j) {
        double acc = 0;
        for (int64_t q = 0; q < p; ++q) acc += v[(s * c + i) * p + q] * v[(s * c + j) * p + q];
        out[static_cast<size_t>(s)].push_back(acc / static_cast<double>(c * p));
      }
  return out;
}

const RandomTextureOptions kSmallRandom{.in_channels = 3, .channels = {4, 8}, .kernels = {3, 5}, .seed = 7};

TEST(CganGram, OutputShapesForEverySizeAndChannelCount) {
  Generator gen(1);
  for (int64_t size : {32, 64, 128})
    for (int64_t channels : {1, 3}) {
      SCOPED_TRACE("size " + std::to_string(size) + ", channels " + std::to_string(channels));
      RandomTextureOptions ro = kSmallRandom;
      ro.in_channels = channels;
      auto tf = TextureFeatures::random(ro);
      const CganGramOptions o{.nz = 10,
                              .ngf = 4,
                              .ndf = 4,
                              .channels = channels,
                              .image_size = size,
                              .gram_dim = tf->condition_dim(),
                              .condition_dim = 6};
      CganGenerator G(o, gen);
      CganDiscriminator D(o, gen);
      NoGradGuard no_grad;
      const Tensor texture = uniform({2, channels, 24, 24}, -1, 1, gen);  // (2, nc, 24, 24) defect-free patch
      const Tensor g = (*tf)(texture);                                    // (2, gram_dim)
      ASSERT_EQ(g.shape(), (Shape{2, 4 * 5 / 2 + 8 * 9 / 2}));
      const Tensor z = randn({2, 10}, gen);
      const Tensor fake = G.forward(z, g);
      ASSERT_EQ(fake.shape(), (Shape{2, channels, size, size}));
      expect_bitwise_equal(G(cat({z, g}, 1)), fake, "packed [z | g] input");
      expect_bitwise_equal(G.forward(z.reshape({2, 10, 1, 1}), g), fake, "z as (N, nz, 1, 1)");
      ASSERT_EQ(D.forward(fake, g).shape(), (Shape{2, 1, 1, 1}));
    }
}

TEST(CganGram, NamesAndRefusals) {
  Generator gen(2);
  const CganGramOptions o{
      .nz = 10, .ngf = 4, .ndf = 4, .channels = 3, .image_size = 32, .gram_dim = 20, .condition_dim = 6};
  CganGenerator G(o, gen);
  CganDiscriminator D(o, gen);
  std::vector<std::string> g_names, d_names;
  for (const auto& [name, t] : G.named_parameters()) g_names.push_back(name);
  for (const auto& [name, t] : D.named_parameters()) d_names.push_back(name);
  EXPECT_EQ(g_names,
            (std::vector<std::string>{"condition.linear.weight", "condition.linear.bias", "main.0.weight",
                                      "main.1.weight", "main.1.bias", "main.3.weight", "main.4.weight", "main.4.bias",
                                      "main.6.weight", "main.7.weight", "main.7.bias", "main.9.weight"}));
  EXPECT_EQ(d_names,
            (std::vector<std::string>{"condition.linear.weight", "condition.linear.bias", "features.0.weight",
                                      "features.2.weight", "features.3.weight", "features.3.bias", "features.5.weight",
                                      "features.6.weight", "features.6.bias", "head.weight", "embed.weight"}));
  EXPECT_EQ(G.main->modules()[0]->type_name(), "ConvTranspose2d");
  EXPECT_EQ(dynamic_cast<nn::ConvTranspose2d&>(*G.main->modules()[0]).weight.shape(), (Shape{16, 16, 4, 4}));
  const std::string summary = G.summary({2, 10 + 20});  // packed [z | g]
  EXPECT_NE(summary.find("GramProjection"), std::string::npos) << summary;
  const Tensor x = Tensor::zeros({2, 3, 32, 32});
  expect_error_containing([&] { D(x); }, "call forward(x, g)");
  expect_error_containing([&] { D.forward(x, Tensor::zeros({2, 19})); }, "must be (N, gram_dim) = [2, 20]");
  expect_error_containing([&] { G.forward(Tensor::zeros({2, 9}), Tensor::zeros({2, 20})); }, "nz = 10");
  expect_error_containing([&] { CganGenerator({.gram_dim = 0}, gen); }, "gram_dim must be positive");
}

TEST(TextureFeatures, RandomExtractorIsDeterministicAndHasNoTrainableParameters) {
  auto a = TextureFeatures::random(kSmallRandom), b = TextureFeatures::random(kSmallRandom);
  RandomTextureOptions other = kSmallRandom;
  other.seed = 8;
  auto c = TextureFeatures::random(other);
  EXPECT_TRUE(a->named_parameters().empty());
  EXPECT_NE(a->description().find("random"), std::string::npos) << a->description();
  EXPECT_NE(a->description().find("seed 7"), std::string::npos) << a->description();
  Generator gen(3);
  Tensor x = uniform({2, 3, 16, 16}, -1, 1, gen);
  expect_bitwise_equal(a->forward(x), b->forward(x), "same seed");
  EXPECT_NE(a->forward(x).to_vector<double>(), c->forward(x).to_vector<double>()) << "seeds 7 and 8 agree";
  // Gradients reach the input, never the fixed weights.
  x.requires_grad_(true);
  sum(a->forward(x)).backward();
  EXPECT_TRUE(x.grad().defined());
  for (const auto& [name, t] : a->named_buffers()) {
    EXPECT_FALSE(t.requires_grad()) << name;
    EXPECT_FALSE(t.grad().defined()) << name;
  }
  // He scale: the first stage's weights are N(0, 2 / (3 * 3 * 3)).
  const auto buffers = a->named_buffers();
  ASSERT_EQ(buffers[0].first, "features.0.weight");
  const ElementStats s = element_stats(buffers[0].second);  // 4 * 3 * 3 * 3 = 108 draws
  EXPECT_NEAR(s.std, std::sqrt(2.0 / 27), 0.4 * std::sqrt(2.0 / 27));
}

TEST(TextureFeatures, ConditionIsTheGramUpperTrianglesComputedByHand) {
  auto tf = TextureFeatures::random(kSmallRandom);
  Generator gen(4);
  const Tensor x = uniform({2, 3, 12, 12}, -1, 1, gen);  // (2, 3, 12, 12)
  const std::vector<Tensor> psi = tf->features(x);
  ASSERT_EQ(psi.size(), 2u);
  ASSERT_EQ(psi[0].shape(), (Shape{2, 4, 12, 12}));
  ASSERT_EQ(psi[1].shape(), (Shape{2, 8, 6, 6}));  // after avg-pool 2
  const auto buffers = tf->named_buffers();        // features.0.weight, features.0.bias, features.2.weight, ...
  expect_close(psi[0], hand_conv_relu(x, buffers[0].second, buffers[1].second, 1), 1e-5, 1e-5, "psi_1");
  // g[s] = [triu(G_1[s]), triu(G_2[s])]
  std::vector<double> expected;
  const auto t1 = hand_gram_triangles(psi[0]), t2 = hand_gram_triangles(psi[1]);
  for (size_t s = 0; s < 2; ++s) {
    expected.insert(expected.end(), t1[s].begin(), t1[s].end());
    expected.insert(expected.end(), t2[s].begin(), t2[s].end());
  }
  const Tensor g = tf->forward(x);
  ASSERT_EQ(g.shape(), (Shape{2, tf->condition_dim()}));
  expect_close(g, expected, 1e-7, 1e-5, "g");
}

TEST(TextureFeatures, Vgg19LayerIndicesAreTorchvisions) {
  // The indices of vgg19().features that style-transfer code uses (Gatys et
  // al.'s layers; e.g. PyTorch's neural-style tutorial), written out here.
  const std::vector<std::pair<std::string, size_t>> known = {
      {"conv1_1", 0},  {"relu1_1", 1},  {"conv1_2", 2},  {"pool1", 4},    {"relu2_1", 6},
      {"pool2", 9},    {"relu3_1", 11}, {"relu3_4", 17}, {"pool3", 18},   {"relu4_1", 20},
      {"relu4_2", 22}, {"pool4", 27},   {"relu5_1", 29}, {"conv5_4", 34}, {"pool5", 36}};
  for (const auto& [name, index] : known) EXPECT_EQ(vgg19_layer_index(name), index) << name;
  expect_error_containing([] { vgg19_layer_index("relu6_1"); }, "no layer 'relu6_1'");
}

// A fake VGG19 file: features.0, .2, .5 (conv1_1, conv1_2, conv2_1) with
// torchvision's shapes and small random values, plus an unrelated entry.
std::map<std::string, Tensor> fake_vgg19(Generator& gen) {
  return {{"features.0.weight", normal({64, 3, 3, 3}, 0, 0.2, gen)},
          {"features.0.bias", normal({64}, 0, 0.1, gen)},
          {"features.2.weight", normal({64, 64, 3, 3}, 0, 0.05, gen)},
          {"features.2.bias", normal({64}, 0, 0.1, gen)},
          {"features.5.weight", normal({128, 64, 3, 3}, 0, 0.05, gen)},
          {"features.5.bias", normal({128}, 0, 0.1, gen)},
          {"classifier.6.bias", Tensor::zeros({1000})}};
}

TEST(TextureFeatures, Vgg19FromATorchvisionNamedFile) {
  Generator gen(5);
  TempDir dir;
  const std::map<std::string, Tensor> weights = fake_vgg19(gen);
  save_safetensors(dir.file("vgg19.safetensors"), weights);
  auto tf = TextureFeatures::vgg19({.path = dir.file("vgg19.safetensors"), .layers = {"relu1_1", "relu2_1"}});
  EXPECT_NE(tf->description().find("VGG19"), std::string::npos) << tf->description();
  EXPECT_TRUE(tf->named_parameters().empty());
  EXPECT_EQ(tf->condition_dim(), 64 * 65 / 2 + 128 * 129 / 2);
  for (const auto& [name, t] : tf->named_buffers())
    if (name.starts_with("features.")) expect_bitwise_equal(t, weights.at(name), name.c_str());

  const Tensor x = uniform({1, 3, 8, 8}, -1, 1, gen);  // (1, 3, 8, 8) in [-1, 1]
  const std::vector<Tensor> psi = tf->features(x);
  ASSERT_EQ(psi.size(), 2u);
  // relu1_1 = relu(conv1_1((x + 1) / 2 - mean) / std)), the ImageNet statistics written out here.
  const double mean[3] = {0.485, 0.456, 0.406}, stdev[3] = {0.229, 0.224, 0.225};
  std::vector<double> normalised = x.to_vector<double>();
  for (size_t i = 0; i < normalised.size(); ++i) {
    const size_t ch = i / 64;
    normalised[i] = ((normalised[i] + 1) / 2 - mean[ch]) / stdev[ch];
  }
  const Tensor xn = Tensor::from_vector(normalised, {1, 3, 8, 8});
  expect_close(psi[0], hand_conv_relu(xn, weights.at("features.0.weight"), weights.at("features.0.bias"), 1), 1e-4,
               1e-4, "relu1_1");
  // relu2_1 = relu(conv2_1(maxpool(relu(conv1_2(relu1_1))))) with loom's ops.
  const Tensor relu1_2 = relu(conv2d(psi[0], weights.at("features.2.weight"), weights.at("features.2.bias"), 1, 1));
  const Tensor relu2_1 =
      relu(conv2d(max_pool2d(relu1_2, 2), weights.at("features.5.weight"), weights.at("features.5.bias"), 1, 1));
  ASSERT_EQ(psi[1].shape(), (Shape{1, 128, 4, 4}));
  expect_close(psi[1], relu2_1.to_vector<double>(), 1e-5, 1e-4, "relu2_1");
  // A grey image is the RGB image with three equal channels.
  auto grey = TextureFeatures::vgg19(
      {.path = dir.file("vgg19.safetensors"), .layers = {"relu1_1", "relu2_1"}, .in_channels = 1});
  const Tensor x1 = x.narrow(1, 0, 1);  // (1, 1, 8, 8)
  expect_close(grey->forward(x1), tf->forward(cat({x1, x1, x1}, 1)).to_vector<double>(), 1e-6, 1e-5, "grey");
}

TEST(TextureFeatures, Vgg19RefusesWrongFilesAndLayersNamingThem) {
  Generator gen(6);
  TempDir dir;
  std::map<std::string, Tensor> weights = fake_vgg19(gen);
  weights["features.2.weight"] = Tensor::zeros({64, 32, 3, 3});
  save_safetensors(dir.file("wrong.safetensors"), weights);
  expect_error_containing([&] { TextureFeatures::vgg19({.path = dir.file("wrong.safetensors")}); },
                          "'features.2.weight' has shape [64, 32, 3, 3], VGG19 expects [64, 64, 3, 3]");
  weights = fake_vgg19(gen);
  weights.erase("features.5.bias");
  save_safetensors(dir.file("missing.safetensors"), weights);
  expect_error_containing(
      [&] { TextureFeatures::vgg19({.path = dir.file("missing.safetensors"), .layers = {"relu2_1"}}); },
      "no tensor 'features.5.bias'");
  expect_error_containing(
      [&] { TextureFeatures::vgg19({.path = dir.file("missing.safetensors"), .layers = {"relu9_1"}}); },
      "no layer 'relu9_1'");
  expect_error_containing([&] { TextureFeatures::vgg19({.path = dir.file("absent.safetensors")}); },
                          "absent.safetensors");
}

// ---- overfits: 8 wave images 32x32 RGB, widths 8, condition from the small random extractor ----

constexpr int64_t kBatch = 8, kSize = 32, kNz = 16;

struct TinyCgan {
  Generator gen{9};
  std::shared_ptr<TextureFeatures> tf = TextureFeatures::random(kSmallRandom);
  CganGramOptions o{.nz = kNz,
                    .ngf = 8,
                    .ndf = 8,
                    .channels = 3,
                    .image_size = kSize,
                    .gram_dim = tf->condition_dim(),
                    .condition_dim = 16};
  CganGenerator G{o, gen};
  CganDiscriminator D{o, gen};
  Tensor real = wave_images(kBatch, 3, kSize);  // (8, 3, 32, 32)
  Tensor g;                                     // (8, gram_dim): each image's own texture descriptor
  Tensor z = randn({kBatch, kNz}, gen);         // (8, nz), fixed
  TinyCgan() {
    NoGradGuard no_grad;
    g = (*tf)(real);
  }
};

// Trains D alone for `steps` Adam steps (lr, betas (0.5, 0.999)) on errD(real pairs, fake pairs); returns the first and
// last loss.
std::pair<double, double> train_discriminator(CganDiscriminator& D, const Tensor& real, const Tensor& g_real,
                                              const Tensor& fake, const Tensor& g_fake, int steps, double lr) {
  nn::Adam opt(D.named_parameters(), {.lr = lr, .beta1 = 0.5});
  double first = 0, last = 0;
  for (int step = 0; step < steps; ++step) {
    opt.zero_grad();
    const Tensor d_real = D.forward(real, g_real);
    const Tensor d_fake = D.forward(fake, g_fake);
    const Tensor errD = gan_d_loss(d_real, d_fake, DOutput::Logits);
    errD.backward();
    opt.step();
    (step == 0 ? first : last) = errD.item();
  }
  return {first, last};
}

TEST(CganGram, ConditionIsTheStandardisedGramProjectedAndScaledToUnitRms) {
  // In training mode on a batch of 8: norm(g) standardises each Gram entry over
  // the batch (biased variance, eps 1e-5), p = W norm(g) + b, c = p / sqrt(mean_j p_j^2 + 1e-8),
  // computed here in double from the Linear's weights.
  TinyCgan m;
  const Tensor c = (*m.G.condition)(m.g);  // (8, 16)
  const int64_t n = m.g.size(0), d = m.g.size(1), k = 16;
  const std::vector<double> g = m.g.to_vector<double>();
  const std::vector<double> w = m.G.condition->linear->weight.to_vector<double>();  // (k, d)
  const std::vector<double> b = m.G.condition->linear->bias.to_vector<double>();    // (k)
  std::vector<double> standardised(static_cast<size_t>(n * d));
  for (int64_t j = 0; j < d; ++j) {
    double mu = 0, var = 0;
    for (int64_t i = 0; i < n; ++i) mu += g[static_cast<size_t>(i * d + j)] / n;
    for (int64_t i = 0; i < n; ++i) var += std::pow(g[static_cast<size_t>(i * d + j)] - mu, 2) / n;
    for (int64_t i = 0; i < n; ++i)
      standardised[static_cast<size_t>(i * d + j)] = (g[static_cast<size_t>(i * d + j)] - mu) / std::sqrt(var + 1e-5);
  }
  std::vector<double> expected;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> p(static_cast<size_t>(k));
    double mean_square = 0;
    for (int64_t o = 0; o < k; ++o) {
      double v = b[static_cast<size_t>(o)];
      for (int64_t j = 0; j < d; ++j)
        v += w[static_cast<size_t>(o * d + j)] * standardised[static_cast<size_t>(i * d + j)];
      p[static_cast<size_t>(o)] = v;
      mean_square += v * v / k;
    }
    for (double v : p) expected.push_back(v / std::sqrt(mean_square + 1e-8));
  }
  expect_close(c, expected, 1e-4, 1e-4, "c");
}

TEST(CganGram, DiscriminatorIsThePaperProjection) {
  // In eval mode (batch norms use running statistics, so each sample is on
  // its own): D(x, g) = sum(head.weight * phi(x)) + <V c, mean_hw phi(x)>, c =
  // condition(g), computed here from D's parts by loops in double.
  TinyCgan m;
  m.D.eval();
  NoGradGuard no_grad;
  const Tensor d = m.D.forward(m.real, m.g);                                              // (8, 1, 1, 1)
  const std::vector<double> phi = (*m.D.features)(m.real).to_vector<double>();            // (8, Cf, 4, 4)
  const std::vector<double> v = (*m.D.embed)((*m.D.condition)(m.g)).to_vector<double>();  // (8, Cf)
  const std::vector<double> w = m.D.head->weight.to_vector<double>();                     // (1, Cf, 4, 4)
  const int64_t cf = m.D.head->weight.size(1);
  std::vector<double> expected;
  for (int64_t n = 0; n < kBatch; ++n) {
    double value = 0;
    for (int64_t k = 0; k < cf; ++k)
      for (int64_t p = 0; p < 16; ++p) {
        const double f = phi[static_cast<size_t>((n * cf + k) * 16 + p)];
        value += w[static_cast<size_t>(k * 16 + p)] * f + v[static_cast<size_t>(n * cf + k)] * f / 16;
      }
    expected.push_back(value);
  }
  expect_close(d, expected, 1e-5, 1e-5, "D(x, g)");
}

TEST(CganGramOverfit, DiscriminatorAloneSeparatesRealFromFixedFakes) {
  TinyCgan m;
  Tensor fake;
  {
    NoGradGuard no_grad;
    fake = m.G.forward(m.z, m.g);  // (8, 3, 32, 32), fixed
  }
  const auto [first, last] = train_discriminator(m.D, m.real, m.g, fake, m.g, 15, 1e-3);
  EXPECT_LT(last, first / 10) << "errD went from " << first << " to " << last << " in 15 steps";
}

TEST(CganGramOverfit, DiscriminatorAloneTellsMatchedFromMismatchedConditions) {
  // The same images in both terms, with their own descriptors (real) or the
  // next image's (fake): only the projection term <V c, phi(x)> can tell them apart.
  TinyCgan m;
  const Tensor shifted = cat({m.g.narrow(0, 1, kBatch - 1), m.g.narrow(0, 0, 1)}, 0);  // g of image i + 1
  const auto [first, last] = train_discriminator(m.D, m.real, m.g, m.real, shifted, 20, 3e-3);
  EXPECT_LT(last, first / 10) << "errD went from " << first << " to " << last << " in 20 steps";
}

TEST(CganGramOverfit, GeneratorAloneReproducesTheBatchFromFixedNoiseAndConditions) {
  TinyCgan m;
  nn::Adam opt(m.G.named_parameters(), {.lr = 2e-3, .beta1 = 0.5});
  double first = 0, last = 0;
  for (int step = 0; step < 25; ++step) {
    opt.zero_grad();
    const Tensor loss = mse_loss(m.G.forward(m.z, m.g), m.real);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item();
  }
  EXPECT_LT(last, first / 4) << "MSE went from " << first << " to " << last << " in 25 steps";
}

}  // namespace
