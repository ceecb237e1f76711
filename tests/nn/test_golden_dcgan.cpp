// test_golden_dcgan.cpp: one whole DCGAN training iteration against PyTorch,
// on every golden case whose op is dcgan_iteration (../shared/golden, or
// $LOOM_GOLDEN_DIR; format in its README). It checks the nn layers, the BCE
// loss, autograd through two networks with detach, batch norm's running
// statistics and Adam together.
//
// The networks are the classic DCGAN for the metadata's nz, ngf, ndf, nc and
// image size S = 4 * 2^k (k >= 1), built from nn layers with PyTorch's
// nn.Sequential indices, so the stored G.* / D.* names load directly:
//   G: ConvT(nz, ngf 2^(k-1), 4, 1, 0) BN ReLU,
//      then for each halving: ConvT(c, c/2, 4, 2, 1) BN ReLU, down to ngf,
//      then ConvT(ngf, nc, 4, 2, 1) Tanh                       (N, nz, 1, 1) -> (N, nc, S, S)
//   D: Conv(nc, ndf, 4, 2, 1) LeakyReLU(0.2),
//      then for each doubling: Conv(c, 2c, 4, 2, 1) BN LeakyReLU(0.2), up to ndf 2^(k-1),
//      then Conv(ndf 2^(k-1), 1, 4, 1, 0) Sigmoid              (N, nc, S, S) -> (N, 1, 1, 1)
// No convolution has a bias. The files have no num_batches_tracked; as in
// PyTorch that is tolerated (nn/state_dict.h).
//
// The iteration (the metadata spells it out; each string is parsed and any
// text this test does not understand fails the case):
//   fake = G(z)                                          (G runs forward once)
//   errD = BCE(D(real), 1) + BCE(D(fake.detach()), 0);  errD.backward();  optD.step()
//   errG = BCE(D(fake), 1)  (through the updated D);     errG.backward();  optG.step()
// with Adam for both nets and batch norm in training mode, so D's running
// statistics see three batches.
//
// Compared: errD, errG, fake, and every parameter and running statistic after
// the iteration ("<name>:after"). Parameters moved by Adam are compared by their
// displacement, ||(out - p0) - (ref - p0)|| / ||ref - p0||: Adam's first step
// moves each element by about lr whatever its gradient's size, so the
// parameter itself would hide errors. Each case runs in float32 and in float64
// (the model converted after loading), one line per tensor class and dtype.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <regex>
#include <sstream>

#include "autograd/functions.h"
#include "nn/adam.h"
#include "nn/nn.h"
#include "nn/state_dict.h"
#include "tensor/cuda_runtime.h"
#include "tests/nn/golden_support.h"

using namespace loom;
using namespace loom::nn;
using namespace loom::golden_test;

namespace {

// ---- what the metadata says, parsed ----

struct DcganSpec {
  int64_t nz, ngf, ndf, nc, batch, image;
  int64_t stages;  // k: S = 4 * 2^k
  AdamOptions adam;
  double bn_momentum, bn_eps;
};

std::string normalize_space(const std::string& s) {
  std::istringstream in(s);
  std::string word, out;
  while (in >> word) out += (out.empty() ? "" : " ") + word;
  return out;
}

// "Adam lr=2e-4 betas=(0.5,0.999) eps=1e-8 for both nets": the name, then
// key=value settings (lr, betas, eps, weight_decay; any order), then "for both
// nets". Unset settings keep torch.optim.Adam's defaults.
AdamOptions parse_optimizer(const std::string& text) {
  std::istringstream in(normalize_space(text));
  std::string word, rest;
  in >> word;
  LOOM_CHECK(word == "Adam", "metadata 'optimizer': expected 'Adam ...', got '", text, "'");
  AdamOptions o;
  while (in >> word) {
    const size_t eq = word.find('=');
    if (eq == std::string::npos) {
      rest += (rest.empty() ? "" : " ") + word;
      continue;
    }
    LOOM_CHECK(rest.empty(), "metadata 'optimizer': setting '", word, "' after '", rest, "' in '", text, "'");
    const std::string key = word.substr(0, eq), value = word.substr(eq + 1);
    if (key == "lr") {
      o.lr = Metadata::parse_real("optimizer lr", value);
    } else if (key == "eps") {
      o.eps = Metadata::parse_real("optimizer eps", value);
    } else if (key == "weight_decay") {
      o.weight_decay = Metadata::parse_real("optimizer weight_decay", value);
    } else if (key == "betas") {
      std::smatch m;
      LOOM_CHECK(std::regex_match(value, m, std::regex(R"(\(([^,()]+),([^,()]+)\))")),
                 "metadata 'optimizer': betas '", value, "' is not (beta1,beta2)");
      o.beta1 = Metadata::parse_real("optimizer beta1", m[1]);
      o.beta2 = Metadata::parse_real("optimizer beta2", m[2]);
    } else {
      detail::throw_error("metadata 'optimizer': unknown setting '", key, "' in '", text, "'");
    }
  }
  LOOM_CHECK(rest == "for both nets", "metadata 'optimizer': expected the settings to end with 'for both nets', got '",
             rest, "' in '", text, "'");
  return o;
}

// The loss description is prose: the case is understood only when it says
// exactly what this test runs.
void check_loss(const std::string& text) {
  const std::string understood =
      "BCE on sigmoid outputs; errD = BCE(D(real),1) + BCE(D(G(z).detach()),0), one backward; errG = BCE(D(G(z)),1) "
      "through the updated D, on the same G(z) (G runs forward once)";
  LOOM_CHECK(normalize_space(text) == understood, "metadata 'loss' describes a loop this test does not run: '", text,
             "' (understood: '", understood, "')");
}

// "train mode, momentum 0.1, eps 1e-5; D's statistics are updated by each of its three forward passes"
void parse_batchnorm(const std::string& text, DcganSpec& spec) {
  std::smatch m;
  const std::string s = normalize_space(text);
  LOOM_CHECK(std::regex_match(s, m,
                              std::regex(R"(train mode, momentum (\S+), eps (\S+); D's statistics are updated by )"
                                         R"(each of its three forward passes)")),
             "metadata 'batchnorm' is not understood: '", text, "'");
  spec.bn_momentum = Metadata::parse_real("batchnorm momentum", m[1]);
  spec.bn_eps = Metadata::parse_real("batchnorm eps", m[2]);
}

DcganSpec parse_spec(Metadata& md) {
  DcganSpec spec{};
  spec.nz = md.integer("nz");
  spec.ngf = md.integer("ngf");
  spec.ndf = md.integer("ndf");
  spec.nc = md.integer("nc");
  spec.batch = md.integer("batch");
  spec.image = md.integer("image");
  LOOM_CHECK(spec.nz > 0 && spec.ngf > 0 && spec.ndf > 0 && spec.nc > 0 && spec.batch > 0,
             "metadata: nz, ngf, ndf, nc and batch must be positive");
  spec.stages = 0;
  for (int64_t s = spec.image; s > 4 && s % 2 == 0; s /= 2) ++spec.stages;
  LOOM_CHECK(spec.stages >= 1 && (int64_t{4} << spec.stages) == spec.image,
             "metadata 'image' = ", spec.image, " is not 4 * 2^k with k >= 1 (8, 16, 32, 64, ...)");
  spec.adam = parse_optimizer(md.str("optimizer"));
  check_loss(md.str("loss"));
  parse_batchnorm(md.str("batchnorm"), spec);
  return spec;
}

// ---- the networks ----

std::shared_ptr<BatchNorm2d> batch_norm(const DcganSpec& spec, int64_t features) {
  return make<BatchNorm2d>({.features = features, .eps = spec.bn_eps, .momentum = spec.bn_momentum});
}

std::shared_ptr<Sequential> make_generator(const DcganSpec& spec, Generator& gen) {
  auto g = make<Sequential>();
  int64_t channels = spec.ngf << (spec.stages - 1);  // ngf 2^(k-1)
  g->add(make<ConvTranspose2d>({.in = spec.nz, .out = channels, .kernel = 4, .stride = 1, .padding = 0, .bias = false}, gen));
  g->add(batch_norm(spec, channels));
  g->add(make<ReLU>());
  for (int64_t s = 1; s < spec.stages; ++s, channels /= 2) {  // 4 -> 8 -> ... -> S/2
    g->add(make<ConvTranspose2d>({.in = channels, .out = channels / 2, .kernel = 4, .stride = 2, .padding = 1, .bias = false}, gen));
    g->add(batch_norm(spec, channels / 2));
    g->add(make<ReLU>());
  }
  g->add(make<ConvTranspose2d>({.in = spec.ngf, .out = spec.nc, .kernel = 4, .stride = 2, .padding = 1, .bias = false}, gen));
  g->add(make<Tanh>());
  return g;
}

std::shared_ptr<Sequential> make_discriminator(const DcganSpec& spec, Generator& gen) {
  auto d = make<Sequential>();
  int64_t channels = spec.ndf;
  d->add(make<Conv2d>({.in = spec.nc, .out = channels, .kernel = 4, .stride = 2, .padding = 1, .bias = false}, gen));
  d->add(make<LeakyReLU>(0.2));
  for (int64_t s = 1; s < spec.stages; ++s, channels *= 2) {  // S/2 -> ... -> 4
    d->add(make<Conv2d>({.in = channels, .out = channels * 2, .kernel = 4, .stride = 2, .padding = 1, .bias = false}, gen));
    d->add(batch_norm(spec, channels * 2));
    d->add(make<LeakyReLU>(0.2));
  }
  d->add(make<Conv2d>({.in = channels, .out = 1, .kernel = 4, .stride = 1, .padding = 0, .bias = false}, gen));
  d->add(make<Sigmoid>());
  return d;
}

// The file's "<prefix>.<name>" tensors (initial state), converted to `dtype`.
std::map<std::string, Tensor> initial_state(const SafeTensors& data, const std::string& prefix, DType dtype) {
  std::map<std::string, Tensor> state;
  for (const auto& [name, t] : data.tensors)
    if (name.starts_with(prefix) && name.find(':') == std::string::npos)
      state[name.substr(prefix.size())] = t.to(dtype).clone();
  return state;
}

// ---- one case ----

struct Comparison {
  std::string group;  // "losses", "fake", "G params", ...
  double tolerance;
  double worst = 0;
  std::string worst_name = "-";
  void add(const std::string& name, double err) {
    if (std::isnan(worst)) return;  // a NaN stays the worst
    if (std::isnan(err) || err > worst || worst_name == "-") {
      worst = err;
      worst_name = name;
    }
  }
  bool pass() const { return worst <= tolerance; }  // NaN fails
};

struct Tolerances {
  double losses, fake, params, running_stats;
};

Tolerances tolerances(DType dtype) {
  if (dtype == DType::Float64) return {1e-12, 1e-12, 1e-12, 1e-12};
  return {1e-5, 1e-5, 1e-3, 1e-5};
}

void run_case(const GoldenCase& c, DType dtype, Device device) {
  Metadata md(c.data.metadata);
  ASSERT_EQ(md.str("op"), "dcgan_iteration");
  DcganSpec spec;
  try {
    spec = parse_spec(md);
  } catch (const Error& e) {
    FAIL() << c.name << ": " << e.what();
  }
  for (const std::string& key : md.unused()) ADD_FAILURE() << c.name << ": metadata key '" << key << "' is not understood";

  Generator gen(1);  // initial values, overwritten by the file's
  auto G = make_generator(spec, gen);
  auto D = make_discriminator(spec, gen);
  G->to(dtype);
  D->to(dtype);
  std::set<std::string> used;  // file tensors accounted for
  try {
    load_state_dict(*G, initial_state(c.data, "G.", dtype));
    load_state_dict(*D, initial_state(c.data, "D.", dtype));
  } catch (const Error& e) {
    FAIL() << c.name << ": the stored weights do not fit the DCGAN built from the metadata: " << e.what();
  }
  for (const auto& [name, t] : c.data.tensors)
    if ((name.starts_with("G.") || name.starts_with("D.")) && name.find(':') == std::string::npos) used.insert(name);
  G->to(device);  // before the optimizers: their moments follow the parameters
  D->to(device);
  G->train();
  D->train();

  const Tensor z = c.data.tensors.at("z").to(dtype).to(device);        // (N, nz, 1, 1)
  const Tensor real = c.data.tensors.at("real").to(dtype).to(device);  // (N, nc, S, S)
  used.insert({"z", "real"});
  ASSERT_EQ(z.shape(), (Shape{spec.batch, spec.nz, 1, 1})) << c.name << ": z";
  ASSERT_EQ(real.shape(), (Shape{spec.batch, spec.nc, spec.image, spec.image})) << c.name << ": real";

  // The parameters before the iteration, to measure displacements.
  std::map<std::string, Tensor> before;
  for (const auto& [net, model] : {std::pair{"G.", G}, std::pair{"D.", D}})
    for (const auto& [name, p] : model->named_parameters()) before[net + name] = p.detach().clone();

  Adam optG(G->named_parameters(), spec.adam), optD(D->named_parameters(), spec.adam);
  const Tensor ones = Tensor::ones({spec.batch, 1, 1, 1}, dtype, device),
               zeros = Tensor::zeros({spec.batch, 1, 1, 1}, dtype, device);

  const Tensor fake = (*G)(z);  // (N, nc, S, S)
  optD.zero_grad();
  // Two statements: D's running statistics must see the real batch first (the
  // operands of + are evaluated in an unspecified order).
  const Tensor errD_real = bce((*D)(real), ones);
  const Tensor errD = errD_real + bce((*D)(fake.detach()), zeros);
  errD.backward();
  optD.step();
  optG.zero_grad();
  const Tensor errG = bce((*D)(fake), ones);
  errG.backward();
  optG.step();

  const Tolerances tol = tolerances(dtype);
  Comparison losses{"losses", tol.losses}, fakes{"fake", tol.fake}, params{"parameters (displacement)", tol.params},
      stats{"running statistics", tol.running_stats};
  auto reference = [&](const std::string& name) -> const Tensor& {
    auto it = c.data.tensors.find(name);
    LOOM_CHECK(it != c.data.tensors.end(), "the file has no '", name, "'");
    used.insert(name);
    return it->second;
  };
  try {
    losses.add("errD", relative_error(errD.detach().reshape({1}), reference("errD")));
    losses.add("errG", relative_error(errG.detach().reshape({1}), reference("errG")));
    fakes.add("fake", relative_error(fake.detach(), reference("fake")));
    for (const auto& [net, model] : {std::pair{"G.", G}, std::pair{"D.", D}}) {
      for (const auto& [name, p] : model->named_parameters()) {
        const std::string full = net + name;
        const Tensor p0 = before.at(full).to(Device::cpu()).to(DType::Float64);
        const Tensor p1 = p.detach().to(Device::cpu()).to(DType::Float64);
        params.add(full, relative_error(p1 - p0, reference(full + ":after") - p0));
      }
      for (const auto& [name, b] : model->named_buffers()) {
        if (name.ends_with("num_batches_tracked")) continue;  // not in the files
        stats.add(net + name, relative_error(b, reference(net + name + ":after")));
      }
    }
  } catch (const Error& e) {
    ADD_FAILURE() << c.name << ": " << e.what();
  }
  for (const auto& [name, t] : c.data.tensors)
    if (!used.count(name)) ADD_FAILURE() << c.name << ": file tensor '" << name << "' was not checked";

  for (const Comparison* cmp : {&losses, &fakes, &params, &stats}) {
    std::ostringstream line;
    line << c.name << " " << dtype_name(dtype) << " " << device.str() << " " << cmp->group << (cmp->pass() ? " PASS" : " FAIL")
         << ": worst rel err " << sci(cmp->worst) << " (" << cmp->worst_name << "), tol " << sci(cmp->tolerance);
    std::cout << "[golden] " << line.str() << "\n";
    EXPECT_TRUE(cmp->pass()) << line.str();
  }
}

void run_all(DType dtype, Device device = Device::cpu()) {
  const std::vector<GoldenCase> cases = cases_with_op({"dcgan_iteration"});
  ASSERT_FALSE(cases.empty()) << "no dcgan_iteration case in " << golden_dir().string();
  for (const GoldenCase& c : cases) run_case(c, dtype, device);
}

TEST(GoldenDcgan, IterationFloat32) { run_all(DType::Float32); }
TEST(GoldenDcgan, IterationFloat64) { run_all(DType::Float64); }

// The same iteration with G, D, the batch and the Adam moments on cuda:0.
#define REQUIRE_GPU()                                                                            \
  if (cuda_rt::device_count() == 0)                                                              \
  GTEST_SKIP() << (cuda_rt::built_with_cuda() ? "no CUDA device on this machine"                 \
                                              : "loom was built without CUDA (LOOM_CUDA=OFF or no nvcc)")

TEST(GoldenDcgan, IterationCudaFloat32) {
  REQUIRE_GPU();
  run_all(DType::Float32, Device::cuda(0));
}
TEST(GoldenDcgan, IterationCudaFloat64) {
  REQUIRE_GPU();
  run_all(DType::Float64, Device::cuda(0));
}

}  // namespace
