// test_dcgan.cpp: models::dcgan_generator / dcgan_discriminator and the GAN
// losses of models/gan_loss.h:
//   - output shapes and ranges for every supported size (32, 64, 128) and
//     channel count (1, 3), probabilities or logits;
//   - state_dict names, shapes and dtypes equal those of PyTorch's classic
//     DCGAN nn.Sequential (tests/models/dcgan_torch_names.py; skipped
//     without torch);
//   - the DCGAN initialisation statistics (conv N(0, 0.02^2), BN N(1, 0.02^2) / 0);
//   - the losses against the hand formulas;
//   - the PyTorch golden DCGAN cases (../shared/golden, op dcgan_iteration)
//     load strictly into models::dcgan networks built from their metadata,
//     and reproduce the case's G(z) and errD (the whole iteration, with Adam,
//     is tests/nn/test_golden_dcgan.cpp, which builds the same networks from
//     layers);
//   - tiny overfits on a fixed batch of 8 procedural 32x32 images: D alone
//     learns to tell them from fixed fakes, and G alone learns to reproduce
//     them from fixed noise.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <sstream>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "models/dcgan.h"
#include "nn/nn.h"
#include "nn/state_dict.h"
#include "tests/models/gan_test_util.h"
#include "tests/nn/golden_support.h"
#include "tests/test_util.h"

using namespace loom;
using namespace loom::models;
using namespace loom::testing;

namespace {

TEST(Dcgan, OutputShapesForEverySizeAndChannelCount) {
  Generator gen(1);
  for (int64_t size : {32, 64, 128})
    for (int64_t channels : {1, 3})
      for (DOutput out : {DOutput::Probability, DOutput::Logits}) {
        SCOPED_TRACE("size " + std::to_string(size) + ", channels " + std::to_string(channels) + ", " +
                     doutput_name(out));
        const DcganOptions o{.nz = 10, .ngf = 4, .ndf = 4, .channels = channels, .image_size = size, .d_output = out};
        auto G = dcgan_generator(o, gen);
        auto D = dcgan_discriminator(o, gen);
        NoGradGuard no_grad;
        const Tensor fake = (*G)(randn({2, 10, 1, 1}, gen));
        ASSERT_EQ(fake.shape(), (Shape{2, channels, size, size}));
        for (double v : fake.to_vector<double>()) {
          ASSERT_TRUE(v >= -1 && v <= 1) << v;  // Tanh
        }
        const Tensor d = (*D)(fake);
        ASSERT_EQ(d.shape(), (Shape{2, 1, 1, 1}));
        if (out == DOutput::Probability) {
          for (double v : d.to_vector<double>()) EXPECT_TRUE(v > 0 && v < 1) << v;
        }
        // Layers: G 3 per stage + ConvT + Tanh; D 2 + 3 per further stage + Conv (+ Sigmoid).
        const int64_t k = dcgan_stages(size);
        EXPECT_EQ(G->size(), static_cast<size_t>(3 * k + 2));
        EXPECT_EQ(D->size(), static_cast<size_t>(2 + 3 * (k - 1) + 1 + (out == DOutput::Probability ? 1 : 0)));
      }
}

TEST(Dcgan, RefusesSizesThatAreNotFourTimesAPowerOfTwo) {
  Generator gen(1);
  for (int64_t size : {0, 4, 48, 100})
    expect_error_containing([&] { dcgan_generator({.image_size = size}, gen); }, "image size " + std::to_string(size));
  expect_error_containing([&] { dcgan_discriminator({.channels = 0}, gen); }, "channels must be positive");
}

// "<net> <name> <dtype> <d0>x<d1>..." for every state_dict entry, as the script prints them.
std::string loom_names(const nn::Module& G, const nn::Module& D) {
  std::ostringstream out;
  for (const auto& [net, model] : {std::pair{"G", &G}, std::pair{"D", &D}})
    for (const auto& [name, t] : model->state_dict()) {
      std::string dims;
      for (int64_t d : t.shape()) dims += (dims.empty() ? "" : "x") + std::to_string(d);
      out << net << " " << name << " " << dtype_name(t.dtype()) << " " << (dims.empty() ? "scalar" : dims) << "\n";
    }
  return out.str();
}

TEST(Dcgan, StateDictNamesShapesAndDtypesArePyTorchs) {
  struct Case {
    int64_t nz, ngf, ndf, nc, size;
    bool sigmoid;
  };
  const std::vector<Case> cases = {{100, 64, 64, 3, 64, true}, {100, 64, 64, 1, 32, false}, {100, 8, 16, 3, 128, true}};
  // One python run for all cases (importing torch takes seconds).
  std::ostringstream args;
  args << "'" << LOOM_SOURCE_DIR << "/tests/models/dcgan_torch_names.py'";
  for (const Case& c : cases)
    args << " " << c.nz << " " << c.ngf << " " << c.ndf << " " << c.nc << " " << c.size << " " << (c.sigmoid ? 1 : 0);
  std::string torch_names;
  if (run_python(args.str(), torch_names) != 0) {
    if (torch_names.find("No module named 'torch'") != std::string::npos)
      GTEST_SKIP() << kPython << ": " << torch_names;
    FAIL() << kPython << " " << args.str() << " failed: " << torch_names;
  }
  Generator gen(2);
  std::string loom;
  for (const Case& c : cases) {
    const DcganOptions o{.nz = c.nz,
                         .ngf = c.ngf,
                         .ndf = c.ndf,
                         .channels = c.nc,
                         .image_size = c.size,
                         .d_output = c.sigmoid ? DOutput::Probability : DOutput::Logits};
    loom += "case\n" + loom_names(*dcgan_generator(o, gen), *dcgan_discriminator(o, gen));
  }
  EXPECT_EQ(loom, torch_names);
}

TEST(Dcgan, InitialisationStatistics) {
  Generator gen(3);
  const DcganOptions o{};  // nz 100, widths 64, 64x64 RGB
  for (const auto& model : {dcgan_generator(o, gen), dcgan_discriminator(o, gen)}) {
    for (const auto& [path, m] : model->named_modules()) {
      SCOPED_TRACE(path + " " + nn::repr(*m));
      Tensor weight, bias;
      double mean = 0;
      if (auto* conv = dynamic_cast<nn::Conv2d*>(m)) {
        weight = conv->weight;
      } else if (auto* deconv = dynamic_cast<nn::ConvTranspose2d*>(m)) {
        weight = deconv->weight;
      } else if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(m)) {
        weight = bn->weight, bias = bn->bias, mean = 1;
        EXPECT_EQ(bn->running_mean.to_vector<double>(), std::vector<double>(bn->running_mean.numel(), 0.0));
        EXPECT_EQ(bn->running_var.to_vector<double>(), std::vector<double>(bn->running_var.numel(), 1.0));
      } else {
        continue;
      }
      // Sample mean and std of n draws from N(mean, 0.02^2): standard errors
      // 0.02 / sqrt(n) and about 0.02 / sqrt(2 n); allowed: 5 of them.
      const ElementStats s = element_stats(weight);
      const double n = static_cast<double>(weight.numel());
      EXPECT_NEAR(s.mean, mean, 5 * 0.02 / std::sqrt(n));
      EXPECT_NEAR(s.std, 0.02, 5 * 0.02 / std::sqrt(2 * n));
      // Normal, not uniform: 68.3% within one std (a uniform gives 57.7%).
      if (n >= 10000) {
        EXPECT_NEAR(s.within_one_std, 0.683, 0.02);
      }
      if (bias.defined()) {
        EXPECT_EQ(bias.to_vector<double>(), std::vector<double>(bias.numel(), 0.0));
      }
    }
  }
}

TEST(GanLoss, MatchesTheHandFormulas) {
  const std::vector<double> p = {0.9, 0.6, 0.2}, q = {0.1, 0.7};  // D(x), D(G(z))
  const Tensor d_real = Tensor::from_vector(p, {3, 1, 1, 1}), d_fake = Tensor::from_vector(q, {2, 1, 1, 1});
  double real_term = 0, fake_term = 0, g_term = 0;
  for (double v : p) real_term -= std::log(v) / 3;
  for (double v : q) fake_term -= std::log(1 - v) / 2, g_term -= std::log(v) / 2;
  expect_close(gan_d_loss(d_real, d_fake, DOutput::Probability), {real_term + fake_term}, 1e-12, 1e-12, "errD");
  expect_close(gan_g_loss(d_fake, DOutput::Probability), {g_term}, 1e-12, 1e-12, "errG");
  // Logits l with sigmoid(l) = p give the same losses.
  auto logit = [](const Tensor& t) { return log(t / (1.0 - t)); };
  expect_close(gan_d_loss(logit(d_real), logit(d_fake), DOutput::Logits), {real_term + fake_term}, 1e-12, 1e-12,
               "errD (logits)");
  expect_close(gan_g_loss(logit(d_fake), DOutput::Logits), {g_term}, 1e-12, 1e-12, "errG (logits)");
}

// The case's initial "G." or "D." tensors (names without ":after"), prefix removed.
std::map<std::string, Tensor> initial_state(const SafeTensors& data, const std::string& prefix) {
  std::map<std::string, Tensor> state;
  for (const auto& [name, t] : nn::select_prefix(data.tensors, prefix))
    if (name.find(':') == std::string::npos) state[name] = t;
  return state;
}

TEST(DcganGolden, GoldenCasesLoadAndReproduceFakeAndErrD) {
  const auto cases = golden_test::cases_with_op({"dcgan_iteration"});
  ASSERT_FALSE(cases.empty()) << "no dcgan_iteration case in " << golden_test::golden_dir().string();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    golden_test::Metadata md(c.data.metadata);
    std::smatch eps;
    const std::string batchnorm = md.str("batchnorm");
    ASSERT_TRUE(std::regex_search(batchnorm, eps, std::regex(R"(eps ([^;, ]+))"))) << batchnorm;
    const DcganOptions o{.nz = md.integer("nz"),
                         .ngf = md.integer("ngf"),
                         .ndf = md.integer("ndf"),
                         .channels = md.integer("nc"),
                         .image_size = md.integer("image"),
                         .d_output = DOutput::Probability,
                         .bn_eps = golden_test::Metadata::parse_real("batchnorm eps", eps[1])};
    Generator gen(1);  // initial values, replaced by the file's
    auto G = dcgan_generator(o, gen);
    auto D = dcgan_discriminator(o, gen);
    ASSERT_NO_THROW(nn::load_state_dict(*G, initial_state(c.data, "G.")));  // strict: same names and shapes
    ASSERT_NO_THROW(nn::load_state_dict(*D, initial_state(c.data, "D.")));
    const Tensor fake = (*G)(c.data.tensors.at("z"));  // train mode, as the case
    EXPECT_LE(golden_test::relative_error(fake, c.data.tensors.at("fake")), 1e-5);
    const Tensor d_real = (*D)(c.data.tensors.at("real"));
    const Tensor d_fake = (*D)(fake.detach());
    const Tensor errD = gan_d_loss(d_real, d_fake, DOutput::Probability);
    EXPECT_LE(golden_test::relative_error(errD.reshape({1}), c.data.tensors.at("errD")), 1e-5);
  }
}

// The overfit tests: 8 wave images 32x32 RGB, widths 16, Adam (0.5, 0.999).
constexpr int64_t kBatch = 8, kSize = 32, kNz = 16;
const DcganOptions kTiny{.nz = kNz, .ngf = 8, .ndf = 8, .channels = 3, .image_size = kSize};

TEST(DcganOverfit, DiscriminatorAloneSeparatesRealFromFixedFakes) {
  Generator gen(4);
  auto G = dcgan_generator(kTiny, gen);
  auto D = dcgan_discriminator(kTiny, gen);
  const Tensor real = wave_images(kBatch, 3, kSize);  // (8, 3, 32, 32)
  Tensor fake;
  {
    NoGradGuard no_grad;
    fake = (*G)(randn({kBatch, kNz, 1, 1}, gen));  // (8, 3, 32, 32), fixed
  }
  nn::Adam opt(D->named_parameters(), {.lr = 1e-3, .beta1 = 0.5});
  double first = 0, last = 0;
  constexpr int kSteps = 15;
  for (int step = 0; step < kSteps; ++step) {
    opt.zero_grad();
    const Tensor d_real = (*D)(real);
    const Tensor d_fake = (*D)(fake);
    const Tensor errD = gan_d_loss(d_real, d_fake, DOutput::Probability);
    errD.backward();
    opt.step();
    (step == 0 ? first : last) = errD.item();
  }
  // Chance is 2 log 2 = 1.386; D must get 10x below its first loss.
  EXPECT_NEAR(first, 2 * std::log(2.0), 0.3);
  EXPECT_LT(last, first / 10) << "errD went from " << first << " to " << last << " in " << kSteps << " steps";
}

TEST(DcganOverfit, GeneratorAloneReproducesTheBatchFromFixedNoise) {
  Generator gen(5);
  auto G = dcgan_generator(kTiny, gen);
  const Tensor target = wave_images(kBatch, 3, kSize);  // (8, 3, 32, 32)
  const Tensor z = randn({kBatch, kNz, 1, 1}, gen);     // (8, nz, 1, 1), fixed
  nn::Adam opt(G->named_parameters(), {.lr = 2e-3, .beta1 = 0.5});
  double first = 0, last = 0;
  constexpr int kSteps = 25;
  for (int step = 0; step < kSteps; ++step) {
    opt.zero_grad();
    const Tensor loss = mse_loss((*G)(z), target);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item();
  }
  EXPECT_LT(last, first / 4) << "MSE went from " << first << " to " << last << " in " << kSteps << " steps";
}

}  // namespace
