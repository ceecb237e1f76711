// test_fusion.cpp: the defect-fusing network of models/fusion.h (pix2pix
// U-Net generator), the PatchGAN of models/patchgan.h, the GAN + L1 losses,
// the imperfect-input pairs, the Gaussian blur and the DGT encoding and losses.
// References are independent: PyTorch's pix2pix parameter counts
// (tests/models/pix2pix_reference.py), interval arithmetic for the receptive
// field, and float64 hand computations for the losses and the encoding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "models/dgt.h"
#include "models/fusion.h"
#include "models/fusion_loss.h"
#include "models/gaussian_blur.h"
#include "models/imperfect_input.h"
#include "models/patchgan.h"
#include "tensor/safetensors.h"
#include "tests/gradcheck.h"
#include "tests/nn/checkpoint_test_util.h"
#include "tests/test_util.h"

namespace loom::models {
namespace {

using testing::expect_close;
using testing::expect_error_containing;

Shape shape_of(const Tensor& t) { return t.shape(); }

bool has_name(const nn::Module& m, const std::string& name) {
  for (const auto& [n, t] : m.state_dict())
    if (n == name) return true;
  return false;
}

// ---- generator -----------------------------------------------------------------

TEST(FusionGenerator, OutputShapesForSizesAndChannels) {
  Generator gen(1);
  NoGradGuard no_grad;
  struct Case {
    int64_t size, depth, in, out;
  };
  for (const Case c : {Case{64, 6, 3, 3}, Case{128, 7, 1, 1}, Case{256, 8, 6, 3}, Case{64, 4, 4, 1}}) {
    FusionGenerator G({.in_channels = c.in, .out_channels = c.out, .depth = c.depth, .width = 2}, gen);
    G.eval();
    Tensor y = G(randn({2, c.in, c.size, c.size}, gen));
    EXPECT_EQ(shape_of(y), (Shape{2, c.out, c.size, c.size})) << "size " << c.size << " depth " << c.depth;
    const std::vector<float> v = y.to_vector<float>();
    for (float f : v) ASSERT_TRUE(f >= -1.0f && f <= 1.0f) << "Tanh output out of [-1, 1]";
  }
  // Non-square inputs work when both sides are multiples of 2^depth.
  FusionGenerator G({.in_channels = 3, .out_channels = 3, .depth = 5, .width = 2}, gen);
  EXPECT_EQ(shape_of(G(randn({1, 3, 32, 64}, gen))), (Shape{1, 3, 32, 64}));
}

TEST(FusionGenerator, RefusesSizesThatAreNotMultiplesOfTwoToTheDepth) {
  Generator gen(2);
  FusionGenerator G({.depth = 6, .width = 2}, gen);
  expect_error_containing([&] { G(randn({1, 3, 48, 48}, gen)); }, "multiples of 2^depth = 64");
  expect_error_containing([&] { G(randn({1, 4, 64, 64}, gen)); }, "channels");
  expect_error_containing([&] { FusionGenerator({.depth = 1}, gen); }, "depth must be at least 2");
}

TEST(FusionGenerator, ParameterCountsMatchPyTorchPix2pix) {
  Generator gen(3);
  // pix2pix_reference.py: unet(4, 1, 6, 16, 'instance') and unet(6, 3, 8, 16, 'batch').
  FusionGenerator a({.in_channels = 4, .out_channels = 1, .depth = 6, .width = 16, .norm = NormKind::Instance}, gen);
  EXPECT_EQ(a.parameter_count(), 1829217);
  FusionGenerator b({.in_channels = 6, .out_channels = 3, .depth = 8, .width = 16, .norm = NormKind::Batch}, gen);
  EXPECT_EQ(b.parameter_count(), 3405219);
}

TEST(FusionGenerator, StateDictNamesAndShapes) {
  Generator gen(4);
  FusionGenerator G({.in_channels = 3, .out_channels = 2, .depth = 6, .width = 8}, gen);
  const auto sd = G.state_dict();
  auto shape_named = [&](const std::string& name) {
    for (const auto& [n, t] : sd)
      if (n == name) return t.shape();
    ADD_FAILURE() << "no " << name;
    return Shape{};
  };
  EXPECT_EQ(shape_named("down0.conv.weight"), (Shape{8, 3, 4, 4}));
  EXPECT_EQ(shape_named("down3.conv.weight"), (Shape{64, 32, 4, 4}));
  EXPECT_EQ(shape_named("down3.norm.running_mean"), (Shape{64}));
  EXPECT_EQ(shape_named("up5.conv.weight"), (Shape{64, 64, 4, 4}));   // the bottleneck: no concatenation
  EXPECT_EQ(shape_named("up4.conv.weight"), (Shape{128, 64, 4, 4}));  // cat(d_4, u_5)
  EXPECT_EQ(shape_named("up0.conv.weight"), (Shape{16, 2, 4, 4}));
  EXPECT_EQ(shape_named("up0.conv.bias"), (Shape{2}));
  EXPECT_FALSE(has_name(G, "down0.norm.weight"));  // no norm on the outermost and innermost levels
  EXPECT_FALSE(has_name(G, "down5.norm.weight"));
  EXPECT_FALSE(has_name(G, "down1.conv.bias"));  // batch norm: no conv bias
  FusionGenerator I({.depth = 5, .width = 4, .norm = NormKind::Instance}, gen);
  EXPECT_TRUE(has_name(I, "down1.conv.bias"));  // instance norm: conv bias (pix2pix's use_bias)
  EXPECT_TRUE(has_name(I, "up1.conv.bias"));
  const std::string table = G.summary({1, 3, 64, 64});  // every block is called through operator()
  EXPECT_NE(table.find("down5"), std::string::npos) << table;
  EXPECT_NE(table.find("up0.conv"), std::string::npos) << table;
}

TEST(FusionGenerator, DropoutSitsInTheMiddleBlocks) {
  Generator gen(5);
  FusionGenerator G({.depth = 8, .width = 2}, gen);
  std::vector<int64_t> levels;
  for (int64_t i = 0; i < 8; ++i)
    if (G.ups[i]->dropout) levels.push_back(i);
  EXPECT_EQ(levels, (std::vector<int64_t>{4, 5, 6}));  // pix2pix: num_downs - 5 = 3 blocks of width 8 ngf
}

TEST(FusionGenerator, DropoutActiveInTrainingAndOffInEval) {
  Generator gen(6);
  FusionGenerator G({.depth = 6, .width = 4}, gen);  // dropout at level 4
  Generator drop(99);
  G.set_dropout_generator(drop);
  NoGradGuard no_grad;
  const Tensor x = randn({2, 3, 64, 64}, gen);
  auto max_diff = [](const Tensor& a, const Tensor& b) { return amax(abs(a - b)).item(); };
  G.train();
  const Tensor t1 = G(x), t2 = G(x);  // batch norm uses batch statistics: only dropout differs
  EXPECT_GT(max_diff(t1, t2), 1e-4);
  G.eval();
  const Tensor e1 = G(x), e2 = G(x);
  EXPECT_EQ(max_diff(e1, e2), 0.0);
  // Without dropout, two training-mode passes agree: the difference above was dropout's.
  Generator gen2(6);
  FusionGenerator N({.depth = 6, .width = 4, .dropout = false}, gen2);
  const Tensor n1 = N(x), n2 = N(x);
  EXPECT_EQ(max_diff(n1, n2), 0.0);
}

TEST(FusionGenerator, SkipConnectionsCarryTheInputPastACutBottleneck) {
  // Zero the innermost convolution: the bottleneck then carries nothing about x,
  // so a plain encoder-decoder would give the same output for every input. The
  // U-Net's skips still bring a changed pixel to the output at its location.
  Generator gen(7);
  FusionGenerator G({.depth = 8, .width = 2}, gen);
  G.eval();
  nn::init::zeros_(G.downs[7]->conv->weight);
  NoGradGuard no_grad;
  const Tensor x = randn({1, 3, 256, 256}, gen);
  Tensor x2 = x.clone();
  const int64_t row = 100, col = 37;
  for (int64_t c = 0; c < 3; ++c) x2.data<float>()[(c * 256 + row) * 256 + col] += 2.0f;
  const Tensor change = sum(abs(G(x2) - G(x)), {0, 1});  // (256, 256)
  EXPECT_GT(change.at({row, col}), 1e-5) << "the changed pixel does not reach its output location";
}

TEST(FusionGenerator, Pix2pixNamesFollowTheRecursiveBlocks) {
  Generator gen(19);
  FusionGenerator G({.depth = 5, .width = 2}, gen);
  EXPECT_EQ(G.pix2pix_generator_name("down0.conv.weight"), "model.model.0.weight");
  EXPECT_EQ(G.pix2pix_generator_name("up0.conv.bias"), "model.model.3.bias");
  EXPECT_EQ(G.pix2pix_generator_name("down1.conv.weight"), "model.model.1.model.1.weight");
  EXPECT_EQ(G.pix2pix_generator_name("down2.norm.running_var"), "model.model.1.model.3.model.2.running_var");
  EXPECT_EQ(G.pix2pix_generator_name("up4.norm.weight"), "model.model.1.model.3.model.3.model.3.model.4.weight");
  expect_error_containing([&] { G.pix2pix_generator_name("down5.conv.weight"); }, "is not a name");
  expect_error_containing([&] { G.pix2pix_generator_name("up0.norm.weight"); }, "is not a name");
}

// ---- PyTorch parity -------------------------------------------------------------------

// loom's G and D are saved under pix2pix's names, PyTorch (tests/models/
// fusion_torch.py over pix2pix_reference.py) loads them strictly and runs them;
// the outputs must agree. Skipped when /usr/bin/python3 cannot import torch.
class FusionTorch : public ::testing::Test {
 public:
  int run_python(const std::string& args) {
    const std::string log_path = dir_.file("python.log");
    const int status = std::system(("/usr/bin/python3 " + args + " > '" + log_path + "' 2>&1").c_str());
    std::ifstream f(log_path);
    log_.assign(std::istreambuf_iterator<char>(f), {});
    return status;
  }
  testing::TempDir dir_;
  std::string log_;
};

// Every 1-dim tensor (norm weights and biases, running statistics, conv biases)
// off its default, so that eval and training modes differ and a misplaced
// bias shows.
void randomize_vectors(nn::Module& m, Generator& gen) {
  NoGradGuard no_grad;
  for (auto& [name, t] : m.state_dict()) {
    if (t.dim() != 1) continue;
    Tensor v = t;
    if (name.ends_with("weight") || name.ends_with("running_var"))
      uniform_(v, 0.5, 1.5, gen);
    else
      uniform_(v, -0.3, 0.3, gen);
  }
}

void check_against_torch(FusionTorch& fixture, int64_t depth, int64_t width, int64_t in, int64_t out, NormKind norm,
                         int64_t size);

TEST_F(FusionTorch, BatchNormDepth5) { check_against_torch(*this, 5, 3, 4, 2, NormKind::Batch, 32); }
TEST_F(FusionTorch, InstanceNormDepth6) { check_against_torch(*this, 6, 2, 3, 3, NormKind::Instance, 64); }

void check_against_torch(FusionTorch& fx, int64_t depth, int64_t width, int64_t in, int64_t out, NormKind norm,
                         int64_t size) {
  Generator gen(20 + depth);
  FusionGenerator G(
      {.in_channels = in, .out_channels = out, .depth = depth, .width = width, .norm = norm, .dropout = false}, gen);
  PatchDiscriminator D({.in_channels = in + out, .width = width, .norm = norm}, gen);
  randomize_vectors(G, gen);
  randomize_vectors(D, gen);
  std::map<std::string, Tensor> models;
  for (auto& [name, t] : G.state_dict()) models["G." + G.pix2pix_generator_name(name)] = t;
  for (auto& [name, t] : D.state_dict()) models["D." + name] = t;
  const Tensor x = randn({2, in, size, size}, gen), y = randn({2, out, size, size}, gen);
  save_safetensors(fx.dir_.file("models.safetensors"), models);
  save_safetensors(fx.dir_.file("io.safetensors"), {{"x", x}, {"y", y}});
  const std::string script = std::string(LOOM_SOURCE_DIR) + "/tests/models/fusion_torch.py";
  const std::string args = "'" + script + "' run " + std::to_string(depth) + " " + std::to_string(width) + " " +
                           std::to_string(in) + " " + std::to_string(out) + " " + norm_name(norm) + " '" +
                           fx.dir_.file("models.safetensors") + "' '" + fx.dir_.file("io.safetensors") + "' '" +
                           fx.dir_.file("out.safetensors") + "'";
  if (fx.run_python(args) != 0 && fx.log_.find("No module named 'torch'") != std::string::npos)
    GTEST_SKIP() << "/usr/bin/python3 cannot import torch: " << fx.log_;
  ASSERT_TRUE(std::filesystem::exists(fx.dir_.file("out.safetensors"))) << fx.log_;
  const auto ref = load_safetensors(fx.dir_.file("out.safetensors")).tensors;
  NoGradGuard no_grad;
  G.eval();
  expect_close(G(x), ref.at("g_eval").to_vector<double>(), 1e-5, 1e-4, "G eval vs PyTorch");
  G.train();
  expect_close(G(x), ref.at("g_train").to_vector<double>(), 1e-5, 1e-4, "G train vs PyTorch");
  D.eval();
  expect_close(D.judge(x, y), ref.at("d_eval").to_vector<double>(), 1e-5, 1e-4, "D eval vs PyTorch");
}

// ---- PatchGAN ---------------------------------------------------------------------

TEST(PatchDiscriminator, OutputShapesAndPyTorchParameterCounts) {
  Generator gen(8);
  NoGradGuard no_grad;
  PatchDiscriminator D({.in_channels = 6, .width = 4}, gen);
  EXPECT_EQ(shape_of(D(randn({2, 6, 256, 256}, gen))), (Shape{2, 1, 30, 30}));  // PyTorch: 256 -> 30
  EXPECT_EQ(shape_of(D(randn({1, 6, 64, 64}, gen))), (Shape{1, 1, 6, 6}));
  EXPECT_EQ(shape_of(D.judge(randn({1, 3, 128, 128}, gen), randn({1, 3, 128, 128}, gen))), (Shape{1, 1, 14, 14}));
  EXPECT_EQ(D.receptive_field(), 70);
  // pix2pix_reference.py counts.
  EXPECT_EQ(PatchDiscriminator({.in_channels = 6, .width = 64}, gen).parameter_count(), 2768705);
  EXPECT_EQ(PatchDiscriminator({.in_channels = 4, .width = 16, .norm = NormKind::Instance}, gen).parameter_count(),
            175345);
  EXPECT_EQ(PatchDiscriminator({.in_channels = 2, .width = 8, .layers = 2}, gen).parameter_count(), 11113);
  EXPECT_TRUE(has_name(D, "model.0.bias"));
  EXPECT_TRUE(has_name(D, "model.3.running_mean"));  // PyTorch's names
  EXPECT_TRUE(has_name(D, "model.11.weight"));
  expect_error_containing([&] { D.judge(randn({1, 3, 64, 64}, gen), randn({1, 3, 32, 32}, gen)); }, "the pair");
}

TEST(PatchDiscriminator, OneLogitSeesExactlyASeventyPixelWindow) {
  // d logit(i, j) / d input is non-zero exactly on the window that interval
  // arithmetic predicts: each k4 layer of stride s maps [a, b] to [s a - 1, s b + 2].
  // Eval mode: batch norm with running statistics is per pixel, so no other
  // pixel couples in (training-mode statistics would couple all of them).
  Generator gen(9);
  PatchDiscriminator D({.in_channels = 2, .width = 2}, gen);
  D.eval();
  const int64_t size = 128;
  Tensor x = randn({1, 2, size, size}, gen).requires_grad_();
  const Tensor logits = D(x);  // (1, 1, 14, 14)
  ASSERT_EQ(shape_of(logits), (Shape{1, 1, 14, 14}));
  for (const auto& [i, j] : {std::pair<int64_t, int64_t>{7, 7}, {3, 10}}) {
    x.set_grad(Tensor());
    Tensor pick = Tensor::zeros(logits.shape());
    pick.data<float>()[i * 14 + j] = 1.0f;
    logits.backward(pick, /*retain_graph=*/true);
    int64_t r0 = i, r1 = i, c0 = j, c1 = j;
    for (int64_t s : {1, 1, 2, 2, 2}) {  // from the logit back to the input
      r0 = s * r0 - 1, r1 = s * r1 + 2, c0 = s * c0 - 1, c1 = s * c1 + 2;
    }
    ASSERT_EQ(r1 - r0 + 1, 70);
    ASSERT_TRUE(r0 >= 0 && c0 >= 0 && r1 < size && c1 < size);
    const Tensor g = sum(abs(x.grad()), {0, 1});  // (128, 128)
    const std::vector<float> gv = g.to_vector<float>();
    int64_t wrong = 0;
    for (int64_t r = 0; r < size; ++r)
      for (int64_t c = 0; c < size; ++c) {
        const bool inside = r >= r0 && r <= r1 && c >= c0 && c <= c1;
        if (inside != (gv[r * size + c] != 0.0f)) ++wrong;
      }
    EXPECT_EQ(wrong, 0) << "logit (" << i << ", " << j << "): window rows " << r0 << ".." << r1 << ", cols " << c0
                        << ".." << c1;
  }
}

// ---- losses -------------------------------------------------------------------------

double softplus(double v) { return std::log1p(std::exp(-std::abs(v))) + std::max(v, 0.0); }

TEST(FusionLoss, GeneratorAndDiscriminatorLossesMatchHandFormulas) {
  Generator gen(10);
  PatchDiscriminator D({.in_channels = 4, .width = 2}, gen);
  D.eval();  // the same logits on every call, whatever the order
  const Tensor x = randn({2, 2, 64, 64}, gen), y = randn({2, 2, 64, 64}, gen);
  const Tensor fake = randn({2, 2, 64, 64}, gen).requires_grad_();
  std::vector<double> l_fake, l_real;
  {
    NoGradGuard no_grad;
    l_fake = D.judge(x, fake).to_vector<double>();
    l_real = D.judge(x, y).to_vector<double>();
  }
  // bce_with_logits(l, 1) = softplus(-l), bce_with_logits(l, 0) = softplus(l).
  double gan = 0, d_real = 0, d_fake = 0, l1 = 0;
  for (double l : l_fake) gan += softplus(-l), d_fake += softplus(l);
  for (double l : l_real) d_real += softplus(-l);
  gan /= l_fake.size(), d_fake /= l_fake.size(), d_real /= l_real.size();
  const std::vector<double> fv = fake.to_vector<double>(), yv = y.to_vector<double>();
  for (size_t k = 0; k < fv.size(); ++k) l1 += std::abs(fv[k] - yv[k]);
  l1 /= fv.size();

  const FusionGeneratorLoss g = fusion_generator_loss(D, x, fake, y);
  expect_close(g.gan, {gan}, 1e-5, 1e-5, "L_G gan");
  expect_close(g.l1, {l1}, 1e-6, 1e-5, "L_G l1");
  expect_close(g.total, {gan + 100.0 * l1}, 1e-4, 1e-5, "L_G total, lambda 100");
  const FusionDiscriminatorLoss d = fusion_discriminator_loss(D, x, fake, y);
  expect_close(d.real, {d_real}, 1e-5, 1e-5, "L_D real");
  expect_close(d.fake, {d_fake}, 1e-5, 1e-5, "L_D fake");
  expect_close(d.total, {0.5 * (d_real + d_fake)}, 1e-5, 1e-5, "L_D total");
  d.total.backward();
  EXPECT_FALSE(fake.grad().defined()) << "L_D must not reach G(x) (detach)";
  g.total.backward();
  EXPECT_TRUE(fake.grad().defined());
}

// ---- overfit --------------------------------------------------------------------------

TEST(FusionGenerator, OverfitsATinyPairWithAdam) {
  // 32x32, depth 5 (bottleneck 1x1), width 4: on one fixed pair whose target
  // is a smoothed copy of the input (a local map, as fusing seams is), the L1
  // loss falls at least 3-fold within 200 Adam steps (pix2pix's betas, lr 2e-3;
  // it falls from 0.31 to 0.074 here, 4.2-fold). Under a second in Release.
  Generator gen(11);
  FusionGenerator G({.in_channels = 3, .out_channels = 3, .depth = 5, .width = 4}, gen);
  const Tensor x = randn({1, 3, 32, 32}, gen);
  const Tensor y = tanh(gaussian_blur(x, 1.0) * 1.5);  // in (-1, 1)
  nn::Adam opt(G.named_parameters(), {.lr = 2e-3, .beta1 = 0.5, .beta2 = 0.999});
  double first = 0, last = 0;
  for (int step = 0; step < 200; ++step) {
    opt.zero_grad();
    Tensor loss = l1_loss(G(x), y);
    if (step == 0) first = loss.item();
    last = loss.item();
    loss.backward();
    opt.step();
  }
  EXPECT_LT(last, first / 3.0) << "L1 " << first << " -> " << last;
}

// ---- imperfect input ---------------------------------------------------------------------

TEST(ImperfectInput, PastesTheResizedPatchIntoTheWindow) {
  Generator gen(12);
  const Tensor defective = randn({2, 3, 16, 20}, gen);
  const Tensor patch = randn({2, 3, 5, 7}, gen);  // the window's own size: the paste is a copy
  const std::vector<PasteWindow> windows{{.top = 2, .left = 3, .height = 5, .width = 7},
                                         {.top = 11, .left = 13, .height = 5, .width = 7}};
  const ImperfectPair pair = make_imperfect_pair(defective, patch, windows);
  ASSERT_EQ(shape_of(pair.input), (Shape{2, 3, 16, 20}));
  ASSERT_EQ(shape_of(pair.window), (Shape{2, 1, 16, 20}));
  EXPECT_TRUE(pair.target.is_same(defective));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t r = 0; r < 16; ++r)
        for (int64_t q = 0; q < 20; ++q) {
          const PasteWindow& w = windows[n];
          const bool inside = r >= w.top && r < w.top + w.height && q >= w.left && q < w.left + w.width;
          const double want = inside ? patch.at({n, c, r - w.top, q - w.left}) : defective.at({n, c, r, q});
          ASSERT_EQ(pair.input.at({n, c, r, q}), want) << n << " " << c << " " << r << " " << q;
          if (c == 0) {
            ASSERT_EQ(pair.window.at({n, 0, r, q}), inside ? 1.0 : 0.0);
          }
        }
  // A patch of another size is resized: a constant patch fills the window with its value.
  const ImperfectPair resized =
      paste_into_window(Tensor::zeros({1, 1, 8, 8}), Tensor::full({1, 1, 3, 3}, 0.5), {{1, 2, 4, 5}});
  EXPECT_NEAR(sum(resized.input).item(), 0.5 * 4 * 5, 1e-5);
  expect_error_containing(
      [&] {
        paste_into_window(Tensor::zeros({1, 1, 8, 8}), patch, {{0, 0, 2, 2}});
      },
      "background must be");
  expect_error_containing(
      [&] {
        paste_into_window(Tensor::zeros({1, 1, 8, 8}), Tensor::zeros({1, 1, 2, 2}), {{6, 0, 4, 2}});
      },
      "leaves the 8x8 image");
}

TEST(ImperfectInput, RandomWindowsStayInsideTheImage) {
  Generator gen(13);
  for (int k = 0; k < 50; ++k) {
    const PasteWindow w = random_window(24, 40, 4, 12, gen);
    EXPECT_TRUE(w.height >= 4 && w.height <= 12 && w.width >= 4 && w.width <= 12);
    EXPECT_TRUE(w.top >= 0 && w.left >= 0 && w.top + w.height <= 24 && w.left + w.width <= 40);
  }
}

// ---- Gaussian blur and the DGT encoding ---------------------------------------------------

// Float64 reference: 2-D sum with the separable kernel, mirrored borders.
std::vector<double> blur_reference(const std::vector<double>& plane, int64_t H, int64_t W, double sigma) {
  const int64_t r = std::min<int64_t>(static_cast<int64_t>(std::ceil(3 * sigma)), std::min(H, W) - 1);
  std::vector<double> g;
  double total = 0;
  for (int64_t k = -r; k <= r; ++k) g.push_back(std::exp(-double(k * k) / (2 * sigma * sigma))), total += g.back();
  auto mirror = [](int64_t i, int64_t n) { return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i); };
  std::vector<double> out(H * W, 0.0);
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = 0; j < W; ++j)
      for (int64_t a = -r; a <= r; ++a)
        for (int64_t b = -r; b <= r; ++b)
          out[i * W + j] += g[a + r] * g[b + r] / (total * total) * plane[mirror(i + a, H) * W + mirror(j + b, W)];
  return out;
}

TEST(GaussianBlur, MatchesAFloat64ReferenceAndKeepsConstants) {
  Generator gen(14);
  const Tensor x = randn({2, 3, 9, 12}, gen, DType::Float64);
  for (double sigma : {0.7, 1.5, 4.0}) {  // 4.0: radius 12 clamped to 8
    const Tensor y = gaussian_blur(x, sigma);
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t c = 0; c < 3; ++c) {
        const std::vector<double> ref = blur_reference(x.select(0, n).select(0, c).to_vector<double>(), 9, 12, sigma);
        expect_close(y.select(0, n).select(0, c), ref, 1e-12, 1e-10, "gaussian_blur");
      }
  }
  expect_close(gaussian_blur(Tensor::full({1, 1, 6, 6}, 0.25), 2.0), std::vector<double>(36, 0.25), 1e-6, 0,
               "blur of a constant");
  EXPECT_TRUE(gaussian_blur(x, 0.0).is_same(x));
}

TEST(GaussianBlur, GradientsFlowThroughIt) {
  Generator gen(21);
  const Tensor x = testing::leaf({1, 2, 6, 7}, gen);
  EXPECT_TRUE(testing::gradcheck([](const std::vector<Tensor>& in) { return gaussian_blur(in[0], 1.2); }, {x}));
}

TEST(DgtEncoding, ShapesAndValuesAgainstAHandComputation) {
  // N = 2, S = 3 classes, C = 3, 8x8; labels 2 and 0; a rectangular mask per sample.
  Generator gen(15);
  const int64_t H = 8, W = 8, S = 3;
  const Tensor normal = randn({2, 3, H, W}, gen, DType::Float64);
  std::vector<double> mask_values(2 * H * W, 0.0);
  for (int64_t r = 2; r < 5; ++r)
    for (int64_t c = 1; c < 6; ++c) mask_values[r * W + c] = 1.0;  // sample 0
  for (int64_t r = 4; r < 8; ++r)
    for (int64_t c = 5; c < 8; ++c) mask_values[H * W + r * W + c] = 1.0;  // sample 1 (touches the border)
  const Tensor mask = Tensor::from_vector(mask_values, {2, 1, H, W});
  const std::vector<DgtSmoothing> smoothing{
      {.sigma_fore = 1.0, .sigma_back = 0.6, .weight_fore = 0.7, .weight_back = 0.4},
      {.sigma_fore = 2.0, .sigma_back = 0.0, .weight_fore = 1.0, .weight_back = 0.9}};
  const std::vector<int64_t> labels{2, 0};
  const DgtEncoding enc = dgt_encode(normal, mask, labels, S, smoothing);
  ASSERT_EQ(shape_of(enc.input), (Shape{2, S + 1 + 3, H, W}));
  ASSERT_EQ(shape_of(enc.foreground), (Shape{2, S, H, W}));
  ASSERT_EQ(shape_of(enc.background), (Shape{2, 1, H, W}));
  ASSERT_EQ(shape_of(enc.foreground_weight), (Shape{2, 1, H, W}));
  for (int64_t n = 0; n < 2; ++n) {
    const std::vector<double> m(mask_values.begin() + n * H * W, mask_values.begin() + (n + 1) * H * W);
    std::vector<double> fore = smoothing[n].sigma_fore > 0 ? blur_reference(m, H, W, smoothing[n].sigma_fore) : m;
    std::vector<double> back = smoothing[n].sigma_back > 0 ? blur_reference(m, H, W, smoothing[n].sigma_back) : m;
    for (double& v : fore) v *= smoothing[n].weight_fore;  // w_d G(k_d) ⊙ M
    for (double& v : back) v *= smoothing[n].weight_back;  // w_n G(k_n) ⊙ M
    for (int64_t s = 0; s < S; ++s) {
      const std::vector<double> want = s == labels[n] ? fore : std::vector<double>(H * W, 0.0);
      expect_close(enc.input.select(0, n).select(0, s), want, 1e-12, 1e-10, "X̂ foreground channel");
    }
    expect_close(enc.input.select(0, n).select(0, S), back, 1e-12, 1e-10, "X̂ background channel");
    expect_close(enc.foreground_weight.select(0, n).select(0, 0), fore, 1e-12, 1e-10, "F");
    for (int64_t c = 0; c < 3; ++c)
      expect_close(enc.input.select(0, n).select(0, S + 1 + c), normal.select(0, n).select(0, c).to_vector<double>(), 0,
                   0, "X̂ normal image");
  }
  expect_error_containing([&] { dgt_encode(normal, mask, {3, 0}, S, smoothing); }, "label 3 of sample 0");
  expect_error_containing([&] { dgt_encode(normal, mask, labels, S, {{.weight_fore = 1.5}}); }, "weight_fore");
}

TEST(DgtEncoding, RandomDrawsAreInRangeAndReproducible) {
  Generator data(16);
  const Tensor normal = randn({3, 3, 16, 16}, data);
  const Tensor mask = bernoulli({3, 1, 16, 16}, 0.2, data);
  const DgtEncodingOptions opt{.classes = 4, .sigma_min = 0.5, .sigma_max = 2.5, .weight_min = 0.3, .weight_max = 0.9};
  Generator a(17), b(17);
  const DgtEncoding ea = dgt_encode_random(normal, mask, {0, 1, 3}, opt, a);
  const DgtEncoding eb = dgt_encode_random(normal, mask, {0, 1, 3}, opt, b);
  ASSERT_EQ(ea.smoothing.size(), 3u);
  for (const DgtSmoothing& s : ea.smoothing) {
    EXPECT_TRUE(s.sigma_fore >= 0.5 && s.sigma_fore < 2.5 && s.sigma_back >= 0.5 && s.sigma_back < 2.5);
    EXPECT_TRUE(s.weight_fore >= 0.3 && s.weight_fore < 0.9 && s.weight_back >= 0.3 && s.weight_back < 0.9);
  }
  EXPECT_NE(ea.smoothing[0].sigma_fore, ea.smoothing[1].sigma_fore);  // drawn per sample
  testing::expect_bitwise_equal(ea.input, eb.input, "same seed, same encoding");
  EXPECT_EQ(a.state(), b.state());
}

// ---- DGT losses ---------------------------------------------------------------------------

TEST(DgtLosses, HandExample) {
  // One sample, one channel, four pixels. F and B are set by hand.
  //   X = [0.5, -1, 2, 0],  D = [1, 1, 1, 1],  N = [0, 0.5, -1, 0]
  //   F = [1, 0.5, 0, 0.25],  B = [0, 0.5, 1, 0]
  // L_fore = mean |F (X - D)|      = (0.5 + 1 + 0 + 0.25) / 4            = 0.4375
  // L_back = mean |(1 - F)(X - N)| = (0 + 0.75 + 3 + 0) / 4              = 0.9375
  // T_mix  = (D F + N (1 - F))(1 - B) + N B
  //        = [1, (0.5 + 0.25) 0.5 + 0.25, -1, 0.25 + 0] = [1, 0.625, -1, 0.25]
  // L_mix  = mean |X - T_mix| = (0.5 + 1.625 + 3 + 0.25) / 4             = 1.34375
  auto t = [](std::vector<double> v) { return Tensor::from_vector(v, {1, 1, 2, 2}); };
  DgtEncoding enc;
  enc.foreground_weight = t({1, 0.5, 0, 0.25});
  enc.background = t({0, 0.5, 1, 0});
  const Tensor X = t({0.5, -1, 2, 0}), D = t({1, 1, 1, 1}), N = t({0, 0.5, -1, 0});
  const DgtLosses loss = dgt_losses(X, D, N, enc);
  expect_close(loss.fore, {0.4375}, 1e-15, 0, "L_fore");
  expect_close(loss.back, {0.9375}, 1e-15, 0, "L_back");
  expect_close(loss.mix, {1.34375}, 1e-15, 0, "L_mix");
  expect_close(dgt_mix_target(D, N, enc.foreground_weight, enc.background), {1, 0.625, -1, 0.25}, 1e-15, 0, "T_mix");
}

TEST(DgtLosses, BroadcastOverChannelsAgainstLoops) {
  Generator gen(18);
  const Tensor X = randn({2, 3, 5, 5}, gen, DType::Float64), D = randn({2, 3, 5, 5}, gen, DType::Float64);
  const Tensor N = randn({2, 3, 5, 5}, gen, DType::Float64);
  DgtEncoding enc;
  enc.foreground_weight = rand({2, 1, 5, 5}, gen, DType::Float64);
  enc.background = rand({2, 1, 5, 5}, gen, DType::Float64);
  double fore = 0, back = 0, mix = 0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < 5; ++i)
        for (int64_t j = 0; j < 5; ++j) {
          const double x = X.at({n, c, i, j}), d = D.at({n, c, i, j}), v = N.at({n, c, i, j});
          const double f = enc.foreground_weight.at({n, 0, i, j}), b = enc.background.at({n, 0, i, j});
          fore += std::abs(f * (x - d));
          back += std::abs((1 - f) * (x - v));
          mix += std::abs(x - ((d * f + v * (1 - f)) * (1 - b) + v * b));
        }
  const DgtLosses loss = dgt_losses(X, D, N, enc);
  expect_close(loss.fore, {fore / 150}, 1e-12, 1e-12, "L_fore");
  expect_close(loss.back, {back / 150}, 1e-12, 1e-12, "L_back");
  expect_close(loss.mix, {mix / 150}, 1e-12, 1e-12, "L_mix");
}

}  // namespace
}  // namespace loom::models
