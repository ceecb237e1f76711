// test_checkpoint.cpp: state dicts, model files and training checkpoints.
//   - a model saved and loaded into a fresh model (other seed) gives
//     bit-identical outputs and state, through the layers' own handles;
//   - every corrupt or mismatching file is refused with a message that names
//     the problem (truncated, bad JSON, offsets past the end, unknown dtype,
//     wrong shape with both shapes, wrong dtype with both dtypes, missing and
//     unexpected keys listed), and after each refusal the model is unchanged;
//   - non-strict loading reports what it left out; num_batches_tracked may be
//     missing;
//   - a failed or crashed save leaves the previous checkpoint loadable;
//   - a training run interrupted, checkpointed and resumed in fresh objects
//     ends bit-identical to the uninterrupted run (SGD with momentum, Adam,
//     dropout and data drawn from Generators);
//   - training checkpoints refuse mismatches, damaged metadata and truncated
//     files, and leave models, optimizers and generators untouched when they do.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <functional>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "nn/adam.h"
#include "nn/checkpoint.h"
#include "nn/dropout.h"
#include "nn/nn.h"
#include "nn/sgd.h"
#include "tensor/safetensors.h"
#include "tests/nn/checkpoint_test_util.h"
#include "tests/nn/golden_support.h"

using namespace loom;
using namespace loom::testing;
namespace fs = std::filesystem;

namespace {

// conv -> batch norm -> leaky relu -> strided conv -> flatten -> linear:
// (N, 3, 8, 8) -> (N, 3). `classes` changes the last layer's shape.
std::shared_ptr<nn::Sequential> make_net(Generator& gen, int64_t classes = 3) {
  return nn::make<nn::Sequential>(
      nn::make<nn::Conv2d>({.in = 3, .out = 4, .kernel = 3, .padding = 1}, gen),
      nn::make<nn::BatchNorm2d>({.features = 4}), nn::make<nn::LeakyReLU>(0.2),
      nn::make<nn::Conv2d>({.in = 4, .out = 2, .kernel = 3, .stride = 2, .padding = 1, .bias = false}, gen),
      nn::make<nn::Flatten>(), nn::make<nn::Linear>({.in = 2 * 4 * 4, .out = classes}, gen));
}

// A net whose batch-norm statistics and counter have moved off their defaults.
std::shared_ptr<nn::Sequential> make_trained_net(uint64_t seed) {
  Generator gen(seed);
  auto net = make_net(gen);
  NoGradGuard no_grad;
  for (int i = 0; i < 2; ++i) (*net)(randn({4, 3, 8, 8}, gen));  // training mode: running stats update
  return net;
}

Tensor eval_output(nn::Module& net, const Tensor& x) {
  NoGradGuard no_grad;
  net.eval();
  Tensor y = net(x);
  net.train();
  return y;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// 8-byte little-endian header length + header + data, written by hand.
void write_safetensors_bytes(const std::string& path, const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  bytes += header + data;
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// ---------------------------------------------------------------- model files

TEST(ModelFile, RoundTripGivesBitIdenticalOutputsInAFreshModel) {
  TempDir dir;
  auto trained = make_trained_net(1);
  save_model(dir.file("net.safetensors"), *trained, {{"note", "test"}});

  Generator other(2);
  auto fresh = make_net(other);
  Generator input_gen(3);
  const Tensor x = randn({2, 3, 8, 8}, input_gen);
  ASSERT_FALSE(same_bits(eval_output(*trained, x), eval_output(*fresh, x))) << "different seeds, same net?";

  std::map<std::string, std::string> metadata;
  const nn::LoadReport report = nn::load_model(dir.file("net.safetensors"), *fresh, true, &metadata);
  EXPECT_TRUE(report.complete());
  EXPECT_EQ(metadata.at("note"), "test");
  expect_same_bits(eval_output(*fresh, x), eval_output(*trained, x), "eval output after load");
  for (const auto& [name, t] : trained->state_dict()) {
    SCOPED_TRACE(name);
    const auto loaded = fresh->state_dict();
    const auto it = std::find_if(loaded.begin(), loaded.end(), [&](const auto& e) { return e.first == name; });
    ASSERT_NE(it, loaded.end());
    expect_same_bits(it->second, t, name);
  }
  // Loaded in place: the layer's own member handle sees the values, and a
  // parameter is still a leaf that requires grad.
  auto conv = std::dynamic_pointer_cast<nn::Conv2d>((*fresh)[0]);
  expect_same_bits(conv->weight, std::dynamic_pointer_cast<nn::Conv2d>((*trained)[0])->weight, "conv weight handle");
  EXPECT_TRUE(conv->weight.requires_grad());
  EXPECT_TRUE(conv->weight.is_leaf());
  auto bn = std::dynamic_pointer_cast<nn::BatchNorm2d>((*fresh)[1]);
  EXPECT_EQ(bn->num_batches_tracked.item(), 2.0);
}

TEST(ModelFile, NamesAreExactlyPyTorchs) {
  TempDir dir;
  auto net = make_trained_net(1);
  save_model(dir.file("net.safetensors"), *net);
  const SafeTensors file = load_safetensors(dir.file("net.safetensors"));
  std::vector<std::string> names;
  for (const auto& [name, t] : file.tensors) names.push_back(name);
  // nn.Sequential(Conv2d, BatchNorm2d, LeakyReLU, Conv2d(bias=False), Flatten, Linear).state_dict().keys(), sorted
  const std::vector<std::string> expected = {"0.bias",         "0.weight",      "1.bias",   "1.num_batches_tracked",
                                             "1.running_mean", "1.running_var", "1.weight", "3.weight",
                                             "5.bias",         "5.weight"};
  EXPECT_EQ(names, expected);
  EXPECT_EQ(file.tensors.at("1.num_batches_tracked").dtype(), DType::Int64);
  EXPECT_EQ(file.tensors.at("1.num_batches_tracked").dim(), 0);
}

TEST(ModelFile, CorruptFilesAreRefusedAndNothingIsLoaded) {
  TempDir dir;
  Generator gen(5);
  auto net = make_net(gen);
  const auto before = snapshot(*net);
  const std::string good = dir.file("good.safetensors");
  save_model(good, *make_trained_net(1));

  struct Case {
    const char* what;
    std::function<void(const std::string&)> write;
    std::vector<std::string> needles;
  };
  const std::vector<Case> cases = {
      {"truncated",
       [&](const std::string& p) {
         fs::copy_file(good, p);
         fs::resize_file(p, fs::file_size(p) - 7);
       },
       {"truncated"}},
      {"invalid JSON header",
       [](const std::string& p) { write_safetensors_bytes(p, R"({"0.weight": {"dtype": "F32", "sha)", ""); },
       {"not valid JSON"}},
      {"offsets past the end",
       [](const std::string& p) {
         write_safetensors_bytes(p, R"({"0.bias": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})",
                                 std::string(8, '\0'));
       },
       {"truncated", "'0.bias'", "ends at data byte 16", "only 8 bytes"}},
      {"header length past the end",
       [](const std::string& p) {
         std::string bytes(8, '\0');
         bytes[0] = static_cast<char>(200);  // a 200-byte header, but only "{}" follows
         bytes += "{}";
         std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
       },
       {"truncated", "header claims 200 bytes"}},
      {"unknown dtype",
       [](const std::string& p) {
         write_safetensors_bytes(p, R"({"0.bias": {"dtype": "Q7", "shape": [4], "data_offsets": [0, 16]}})",
                                 std::string(16, '\0'));
       },
       {"'0.bias'", "unknown dtype 'Q7'"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string path = dir.file(std::string("bad_") + std::to_string(&c - cases.data()) + ".safetensors");
    c.write(path);
    const std::string message = error_message([&] { nn::load_model(path, *net); });
    EXPECT_TRUE(contains(message, path)) << message;
    for (const std::string& needle : c.needles) EXPECT_TRUE(contains(message, needle)) << message;
    expect_unchanged(*net, before, c.what);
  }
}

TEST(StateDict, WrongShapeNamesTheTensorAndBothShapes) {
  Generator gen(1);
  auto net = make_net(gen);
  const auto before = snapshot(*net);
  Generator gen5(2);
  auto wider = make_net(gen5, /*classes=*/5);
  const std::string message = error_message([&] { nn::load_state_dict(*net, nn::state_dict_map(*wider)); });
  EXPECT_TRUE(contains(message, "size mismatch for '5.weight'")) << message;
  EXPECT_TRUE(contains(message, "[5, 32]")) << message;
  EXPECT_TRUE(contains(message, "[3, 32]")) << message;
  EXPECT_TRUE(contains(message, "size mismatch for '5.bias'")) << message;
  EXPECT_TRUE(contains(message, "nothing was loaded")) << message;
  // The earlier layers fit and come first: still nothing may have changed.
  expect_unchanged(*net, before, "after a shape mismatch");
  // Shapes are checked in non-strict mode too.
  EXPECT_TRUE(contains(error_message([&] { nn::load_state_dict(*net, nn::state_dict_map(*wider), false); }),
                       "size mismatch for '5.weight'"));
  expect_unchanged(*net, before, "after a non-strict shape mismatch");
}

TEST(StateDict, WrongDtypeIsRefusedNamingBothDtypes) {
  TempDir dir;
  Generator gen(1);
  auto net = make_net(gen);
  const auto before = snapshot(*net);
  Generator gen2(2);
  auto doubled = make_net(gen2);
  doubled->to(DType::Float64);
  save_model(dir.file("f64.safetensors"), *doubled);
  const std::string message = error_message([&] { nn::load_model(dir.file("f64.safetensors"), *net); });
  EXPECT_TRUE(contains(message, "dtype mismatch for '0.weight'")) << message;
  EXPECT_TRUE(contains(message, "float64")) << message;
  EXPECT_TRUE(contains(message, "float32")) << message;
  expect_unchanged(*net, before, "after a dtype mismatch");
  // After converting the model the same file loads.
  net->to(DType::Float64);
  EXPECT_NO_THROW(nn::load_model(dir.file("f64.safetensors"), *net));
  expect_same_bits(net->state_dict().front().second, doubled->state_dict().front().second, "0.weight as float64");
}

TEST(StateDict, MissingAndUnexpectedKeysAreListed) {
  Generator gen(1);
  auto net = make_net(gen);
  const auto before = snapshot(*net);
  Generator gen2(2);
  std::map<std::string, Tensor> state = nn::state_dict_map(*make_net(gen2));
  state.erase("0.bias");
  state.erase("1.running_var");
  state["9.weight"] = Tensor::zeros({2});
  state["extra"] = Tensor::zeros({1});

  const std::string message = error_message([&] { nn::load_state_dict(*net, state); });
  EXPECT_TRUE(contains(message, "missing keys (2): '0.bias', '1.running_var'")) << message;
  EXPECT_TRUE(contains(message, "unexpected keys (2): '9.weight', 'extra'")) << message;
  EXPECT_TRUE(contains(message, "strict = false")) << message;
  expect_unchanged(*net, before, "after missing/unexpected keys");

  // Non-strict: the rest loads and the report lists both.
  const nn::LoadReport report = nn::load_state_dict(*net, state, /*strict=*/false);
  EXPECT_EQ(report.missing_keys, (std::vector<std::string>{"0.bias", "1.running_var"}));
  EXPECT_EQ(report.unexpected_keys, (std::vector<std::string>{"9.weight", "extra"}));
  const auto after = nn::state_dict_map(*net);
  expect_same_bits(after.at("0.weight"), state.at("0.weight"), "0.weight loaded");
  expect_same_bits(after.at("0.bias"), before.at("0.bias"), "0.bias kept");
  expect_same_bits(after.at("1.running_var"), before.at("1.running_var"), "1.running_var kept");
}

TEST(StateDict, LongKeyListsAreShortened) {
  Generator gen(1);
  auto big = nn::make<nn::Sequential>();
  for (int i = 0; i < 30; ++i) big->add(nn::make<nn::Linear>({.in = 2, .out = 2}, gen));
  const std::string message = error_message([&] { nn::load_state_dict(*big, {}); });
  EXPECT_TRUE(contains(message, "missing keys (60)")) << message;
  EXPECT_TRUE(contains(message, "... and 40 more")) << message;
}

TEST(StateDict, MissingBatchCounterIsToleratedAndKept) {
  auto net = make_trained_net(1);  // counter at 2
  Generator gen(2);
  auto source = make_net(gen);
  std::map<std::string, Tensor> state = nn::state_dict_map(*source);
  state.erase("1.num_batches_tracked");  // as in checkpoints from before PyTorch 0.4.1, and the golden files
  const nn::LoadReport report = nn::load_state_dict(*net, state);
  EXPECT_TRUE(report.complete());
  EXPECT_EQ(nn::state_dict_map(*net).at("1.num_batches_tracked").item(), 2.0);
  expect_same_bits(nn::state_dict_map(*net).at("1.running_mean"), state.at("1.running_mean"), "running_mean");
}

TEST(StateDict, LoadingOnesOwnStateIsANoOp) {
  auto net = make_trained_net(1);
  const auto before = snapshot(*net);
  nn::load_state_dict(*net, nn::state_dict_map(*net));
  expect_unchanged(*net, before, "self load");
}

// The DCGAN of shared/golden/100_dcgan_iteration (nz 8, ngf = ndf = 4, 32x32),
// whose PyTorch weights are stored there as "G.<name>" and "D.<name>" without
// num_batches_tracked, next to "<name>:after" results.
TEST(ModelFile, LoadsTheGoldenDcganWeightsByPrefix) {
  const std::string path = (golden_test::golden_dir() / "100_dcgan_iteration.safetensors").string();
  if (!fs::exists(path)) GTEST_SKIP() << path << " is not there";
  const SafeTensors file = load_safetensors(path);
  // The networks below are built for the public case's sizes; another set of
  // cases (LOOM_GOLDEN_DIR) may hold a case of other sizes under this name,
  // which test_golden_dcgan.cpp covers.
  const std::map<std::string, std::string> public_sizes = {{"nz", "8"}, {"ngf", "4"}, {"ndf", "4"}, {"nc", "3"},
                                                           {"image", "32"}};
  for (const auto& [key, value] : public_sizes)
    if (!file.metadata.count(key) || file.metadata.at(key) != value)
      GTEST_SKIP() << path << " is not the public case (nz 8, ngf 4, ndf 4, nc 3, image 32)";
  Generator gen(3);
  using nn::BatchNorm2d, nn::Conv2d, nn::ConvTranspose2d;
  auto g = nn::make<nn::Sequential>(
      nn::make<ConvTranspose2d>({.in = 8, .out = 16, .kernel = 4, .bias = false}, gen),
      nn::make<BatchNorm2d>({.features = 16}), nn::make<nn::ReLU>(),
      nn::make<ConvTranspose2d>({.in = 16, .out = 8, .kernel = 4, .stride = 2, .padding = 1, .bias = false}, gen),
      nn::make<BatchNorm2d>({.features = 8}), nn::make<nn::ReLU>(),
      nn::make<ConvTranspose2d>({.in = 8, .out = 4, .kernel = 4, .stride = 2, .padding = 1, .bias = false}, gen),
      nn::make<BatchNorm2d>({.features = 4}), nn::make<nn::ReLU>(),
      nn::make<ConvTranspose2d>({.in = 4, .out = 3, .kernel = 4, .stride = 2, .padding = 1, .bias = false}, gen),
      nn::make<nn::Tanh>());
  auto d = nn::make<nn::Sequential>(
      nn::make<Conv2d>({.in = 3, .out = 4, .kernel = 4, .stride = 2, .padding = 1, .bias = false}, gen),
      nn::make<nn::LeakyReLU>(0.2),
      nn::make<Conv2d>({.in = 4, .out = 8, .kernel = 4, .stride = 2, .padding = 1, .bias = false}, gen),
      nn::make<BatchNorm2d>({.features = 8}), nn::make<nn::LeakyReLU>(0.2),
      nn::make<Conv2d>({.in = 8, .out = 16, .kernel = 4, .stride = 2, .padding = 1, .bias = false}, gen),
      nn::make<BatchNorm2d>({.features = 16}), nn::make<nn::LeakyReLU>(0.2),
      nn::make<Conv2d>({.in = 16, .out = 1, .kernel = 4, .bias = false}, gen), nn::make<nn::Sigmoid>());

  for (const auto& entry : {std::pair<std::string, nn::Module*>{"G.", g.get()}, {"D.", d.get()}}) {
    const std::string& prefix = entry.first;
    nn::Module* model = entry.second;
    SCOPED_TRACE(prefix);
    // Strict: the "<name>:after" tensors are unexpected, and only they.
    const auto before = snapshot(*model);
    const std::string message = error_message([&] { nn::load_submodel(path, prefix, *model); });
    EXPECT_TRUE(contains(message, "unexpected keys")) << message;
    EXPECT_TRUE(contains(message, "'" + prefix + "0.weight:after'")) << message;
    EXPECT_FALSE(contains(message, "missing")) << message;  // num_batches_tracked is tolerated
    expect_unchanged(*model, before, "strict golden load");

    const nn::LoadReport report = nn::load_submodel(path, prefix, *model, /*strict=*/false);
    EXPECT_TRUE(report.missing_keys.empty());
    for (const std::string& key : report.unexpected_keys) EXPECT_TRUE(contains(key, ":after")) << key;
    for (const auto& [name, t] : model->state_dict())
      if (!contains(name, "num_batches_tracked")) expect_same_bits(t, file.tensors.at(prefix + name), prefix + name);
  }
}

// ---------------------------------------------------------- atomic writes

TEST(ModelFile, FailedSaveLeavesThePreviousCheckpointLoadable) {
  TempDir dir;
  const std::string path = dir.file("net.safetensors");
  auto trained = make_trained_net(1);
  save_model(path, *trained);
  const std::string old_bytes = read_bytes(path);
  auto other = make_trained_net(2);

  // (1) A tensor that cannot be saved: refused before anything is written.
  nn::TrainingCheckpoint bad;
  bad.extra_tensors["broken"] = Tensor();
  EXPECT_TRUE(contains(error_message([&] { save_checkpoint(path, bad); }), "undefined"));
  EXPECT_EQ(read_bytes(path), old_bytes);

  // (2) The disk fills up part-way (file-size limit, SIGXFSZ ignored: write
  // fails with EFBIG after the first 64 bytes).
  {
    struct rlimit old_limit {};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old_limit;
    small.rlim_cur = 64;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    const std::string message = error_message([&] { save_model(path, *other); });
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    std::signal(SIGXFSZ, old_handler);
    EXPECT_TRUE(contains(message, "unchanged")) << message;
  }
  EXPECT_EQ(read_bytes(path), old_bytes);

  // (3) A crash mid-write: a child process is killed by SIGXFSZ inside the
  // write. The temporary file it leaves behind is not the checkpoint.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    struct rlimit small {};
    ::getrlimit(RLIMIT_FSIZE, &small);
    small.rlim_cur = 64;
    ::setrlimit(RLIMIT_FSIZE, &small);
    std::signal(SIGXFSZ, SIG_DFL);
    try {
      save_model(path, *other);
    } catch (...) {
    }
    ::_exit(0);  // not reached when the signal kills the child
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ) << "status " << status;
  EXPECT_EQ(read_bytes(path), old_bytes);

  // (4) The target is a directory: refused, nothing else changes.
  fs::create_directory(dir.file("a_directory"));
  EXPECT_TRUE(contains(error_message([&] { save_model(dir.file("a_directory"), *other); }), "is a directory"));

  Generator gen(9);
  auto fresh = make_net(gen);
  nn::load_model(path, *fresh);
  Generator input_gen(3);
  const Tensor x = randn({2, 3, 8, 8}, input_gen);
  expect_same_bits(eval_output(*fresh, x), eval_output(*trained, x), "previous checkpoint after failed saves");
}

// ------------------------------------------------------ training checkpoints

// Two small models trained together: loss = mse(D(G(x)), sum(x)), x drawn
// from the "data" generator, G with dropout from the "dropout" generator; G
// steps with SGD (momentum), D with Adam.
struct TinyRun {
  Generator init{0}, data{0}, dropout{0};
  std::shared_ptr<nn::Sequential> g, d;
  std::unique_ptr<nn::SGD> opt_g;
  std::unique_ptr<nn::Adam> opt_d;
  int64_t step = 0;
  std::vector<double> losses;

  explicit TinyRun(uint64_t seed) : init(seed), data(seed + 100), dropout(seed + 200) {
    g = nn::make<nn::Sequential>(nn::make<nn::Linear>({.in = 5, .out = 6}, init), nn::make<nn::ReLU>(),
                                 nn::make<nn::Dropout>(0.3, dropout), nn::make<nn::Linear>({.in = 6, .out = 3}, init));
    d = nn::make<nn::Sequential>(nn::make<nn::Linear>({.in = 3, .out = 4}, init), nn::make<nn::Tanh>(),
                                 nn::make<nn::Linear>({.in = 4, .out = 1}, init));
    opt_g = std::make_unique<nn::SGD>(g->named_parameters(), 0.05, nn::SGDOptions{.momentum = 0.9});
    opt_d = std::make_unique<nn::Adam>(d->named_parameters(), nn::AdamOptions{.lr = 0.01});
  }
  TinyRun(const TinyRun&) = delete;  // the dropout layer points at this->dropout

  void train(int steps) {
    for (int i = 0; i < steps; ++i, ++step) {
      const Tensor x = randn({8, 5}, data);     // (B, 5)
      const Tensor target = sum(x, {1}, true);  // (B, 1)
      Tensor loss = mse_loss((*d)((*g)(x)), target);
      loss.backward();
      opt_g->step();
      opt_d->step();
      opt_g->zero_grad();
      opt_d->zero_grad();
      losses.push_back(loss.item());
    }
  }

  nn::TrainingCheckpoint checkpoint() {
    nn::TrainingCheckpoint c;
    c.models = {{"G", g.get()}, {"D", d.get()}};
    c.optimizers = {{"G", opt_g.get()}, {"D", opt_d.get()}};
    c.generators = {{"data", &data}, {"dropout", &dropout}};
    c.step = step;
    c.data_cursor = "batch=" + std::to_string(step);
    c.settings = R"({"lr_g": 0.05, "lr_d": 0.01, "batch": 8})";
    c.metadata = {{"run", "tiny"}};
    c.extra_tensors = {{"fixed_noise", Tensor::arange(6).reshape({2, 3})}};
    return c;
  }
};

// The same names, in the same order, with the same bits.
void expect_same_optimizer_state(const nn::NamedTensors& a, const nn::NamedTensors& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first) << what;
    expect_same_bits(a[i].second, b[i].second, what + " " + a[i].first);
  }
}

void expect_same_state(const nn::Module& a, const nn::Module& b, const std::string& what) {
  const auto sa = nn::state_dict_map(a), sb = nn::state_dict_map(b);
  ASSERT_EQ(sa.size(), sb.size()) << what;
  for (const auto& [name, t] : sa) expect_same_bits(t, sb.at(name), what + " " + name);
}

TEST(TrainingCheckpoint, ResumedRunIsBitIdenticalToTheUninterruptedRun) {
  TempDir dir;
  const std::string path = dir.file("run.safetensors");
  TinyRun uninterrupted(1);
  uninterrupted.train(6);

  TinyRun first(1);
  first.train(3);
  save_checkpoint(path, first.checkpoint());

  TinyRun resumed(77);  // other init, other generators, no optimizer state
  resumed.train(1);     // and some optimizer state of its own, to be replaced
  nn::TrainingCheckpoint c = resumed.checkpoint();
  c.metadata.clear();
  c.extra_tensors.clear();
  const nn::LoadReport report = load_checkpoint(path, c);
  EXPECT_TRUE(report.complete());
  EXPECT_EQ(c.step, 3);
  EXPECT_EQ(c.data_cursor, "batch=3");
  EXPECT_EQ(c.settings, R"({"lr_g": 0.05, "lr_d": 0.01, "batch": 8})");
  EXPECT_EQ(c.metadata, (std::map<std::string, std::string>{{"run", "tiny"}}));
  ASSERT_EQ(c.extra_tensors.count("fixed_noise"), 1u);
  expect_same_bits(c.extra_tensors.at("fixed_noise"), Tensor::arange(6).reshape({2, 3}), "extra tensor");
  EXPECT_EQ(resumed.data.state(), first.data.state());
  EXPECT_EQ(resumed.dropout.state(), first.dropout.state());
  resumed.step = c.step;
  resumed.losses.clear();
  resumed.train(3);

  expect_same_state(*resumed.g, *uninterrupted.g, "G");
  expect_same_state(*resumed.d, *uninterrupted.d, "D");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(resumed.losses[i], uninterrupted.losses[3 + i]) << "loss at step " << 3 + i;
  expect_same_optimizer_state(resumed.opt_g->state(), uninterrupted.opt_g->state(), "SGD state");
  expect_same_optimizer_state(resumed.opt_d->state(), uninterrupted.opt_d->state(), "Adam state");
}

TEST(TrainingCheckpoint, FileLayoutUsesModelAndOptimizerPrefixes) {
  TempDir dir;
  TinyRun run(1);
  run.train(2);
  save_checkpoint(dir.file("run.safetensors"), run.checkpoint());
  const SafeTensors file = load_safetensors(dir.file("run.safetensors"));
  for (const char* key :
       {"G.0.weight", "G.3.bias", "D.2.weight", "optim.G.0.weight.momentum_buffer", "optim.D.0.weight.exp_avg",
        "optim.D.2.bias.exp_avg_sq", "optim.D.0.weight.step", "extra.fixed_noise"})
    EXPECT_EQ(file.tensors.count(key), 1u) << key;
  const auto& m = file.metadata;
  EXPECT_EQ(m.at("format"), "loom.training_checkpoint");
  EXPECT_EQ(m.at("format_version"), "1");
  EXPECT_EQ(m.at("step"), "2");
  EXPECT_EQ(m.at("optim.G.type"), "SGD");
  EXPECT_EQ(m.at("optim.D.type"), "Adam");
  EXPECT_EQ(std::stod(m.at("optim.D.lr")), 0.01);
  EXPECT_EQ(m.at("rng.data.seed"), "101");
  EXPECT_EQ(m.at("rng.data.offset"), std::to_string(run.data.offset()));
  EXPECT_EQ(m.at("user.run"), "tiny");
  // A model file is not a training checkpoint and the other way round.
  EXPECT_TRUE(
      contains(error_message([&] { nn::load_model(dir.file("run.safetensors"), *run.g); }), "use load_checkpoint"));
  nn::save_model(dir.file("g.safetensors"), *run.g);
  nn::TrainingCheckpoint c = run.checkpoint();
  EXPECT_TRUE(
      contains(error_message([&] { load_checkpoint(dir.file("g.safetensors"), c); }), "metadata 'format' is missing"));
}

TEST(TrainingCheckpoint, MismatchesAreRefusedAndNothingChanges) {
  TempDir dir;
  const std::string path = dir.file("run.safetensors");
  TinyRun saved(1);
  saved.train(2);
  nn::TrainingCheckpoint only_g = saved.checkpoint();
  only_g.models.erase("D");
  only_g.optimizers.erase("D");
  save_checkpoint(path, only_g);

  TinyRun target(5);
  target.train(1);
  const auto g_before = snapshot(*target.g), d_before = snapshot(*target.d);
  const auto opt_g_before = target.opt_g->state();
  const auto data_before = target.data.state();
  auto expect_nothing_changed = [&](const char* what) {
    expect_unchanged(*target.g, g_before, what);
    expect_unchanged(*target.d, d_before, what);
    expect_same_optimizer_state(target.opt_g->state(), opt_g_before, std::string(what) + " optimizer state");
    EXPECT_EQ(target.data.state(), data_before) << what;
  };

  // D and its optimizer are not in the file: strict loading lists them.
  nn::TrainingCheckpoint c = target.checkpoint();
  std::string message = error_message([&] { load_checkpoint(path, c); });
  EXPECT_TRUE(contains(message, "missing (5): 'optim.D', 'D.0.weight', 'D.0.bias', 'D.2.weight', 'D.2.bias'"))
      << message;
  EXPECT_TRUE(contains(message, "nothing was loaded")) << message;
  expect_nothing_changed("missing model");
  EXPECT_EQ(c.step, target.step);

  // Unexpected: a generator and a model the caller did not name.
  nn::TrainingCheckpoint fewer = target.checkpoint();
  fewer.models = {{"D", target.d.get()}};
  fewer.optimizers.clear();
  fewer.generators = {{"data", &target.data}};
  message = error_message([&] { load_checkpoint(path, fewer); });
  EXPECT_TRUE(contains(message, "unexpected (")) << message;
  EXPECT_TRUE(contains(message, "'optim.G'")) << message;
  EXPECT_TRUE(contains(message, "'rng.dropout'")) << message;
  EXPECT_TRUE(contains(message, "'G.0.weight'")) << message;
  expect_nothing_changed("unexpected entries");

  // Non-strict: G, its optimizer and the generators load; D is reported.
  nn::TrainingCheckpoint loose = target.checkpoint();
  const nn::LoadReport report = load_checkpoint(path, loose, /*strict=*/false);
  EXPECT_EQ(report.missing_keys,
            (std::vector<std::string>{"optim.D", "D.0.weight", "D.0.bias", "D.2.weight", "D.2.bias"}));
  EXPECT_TRUE(report.unexpected_keys.empty());
  expect_same_state(*target.g, *saved.g, "G after a non-strict load");
  expect_unchanged(*target.d, d_before, "D after a non-strict load");
  EXPECT_EQ(target.data.state(), saved.data.state());
  EXPECT_EQ(loose.step, 2);
}

// The checkpoint of a TinyRun(1) after two steps, saved as dir/run.safetensors; returns the path.
std::string save_two_step_run(const TempDir& dir) {
  const std::string path = dir.file("run.safetensors");
  TinyRun saved(1);
  saved.train(2);
  save_checkpoint(path, saved.checkpoint());
  return path;
}

TEST(TrainingCheckpoint, OptimizerMismatchRollsBackTheOthers) {
  TempDir dir;
  const std::string path = save_two_step_run(dir);

  TinyRun target(5);
  target.train(1);
  const auto d_before = snapshot(*target.d);
  const auto adam_before = target.opt_d->state();

  // The wrong kind of optimizer for "G": refused before anything changes.
  nn::Adam adam_for_g(target.g->named_parameters());
  nn::TrainingCheckpoint c = target.checkpoint();
  c.optimizers["G"] = &adam_for_g;
  std::string message = error_message([&] { load_checkpoint(path, c); });
  EXPECT_TRUE(contains(message, "optimizer 'G' is SGD in the checkpoint but Adam here")) << message;

  // An SGD for "G" whose parameters have other names: its load_state refuses
  // after "D" (loaded first, in name order) already took its state; D's
  // optimizer must get its old state back, and no model may change.
  nn::NamedTensors renamed;
  for (auto& [name, p] : target.g->named_parameters()) renamed.emplace_back("renamed." + name, p);
  nn::SGD sgd_renamed(renamed, 0.05, {.momentum = 0.9});
  c.optimizers["G"] = &sgd_renamed;
  message = error_message([&] { load_checkpoint(path, c); });
  EXPECT_TRUE(contains(message, "optimizer 'G'")) << message;
  EXPECT_TRUE(contains(message, "unexpected '0.weight.momentum_buffer'")) << message;
  expect_unchanged(*target.d, d_before, "D after an optimizer refusal");
  expect_same_optimizer_state(target.opt_d->state(), adam_before, "Adam state after an optimizer refusal");
}

TEST(TrainingCheckpoint, DamagedMetadataIsRefused) {
  TempDir dir;
  TinyRun run(1);
  run.train(1);
  save_checkpoint(dir.file("run.safetensors"), run.checkpoint());
  const SafeTensors good = load_safetensors(dir.file("run.safetensors"));
  const auto g_before = snapshot(*run.g);
  const auto data_before = run.data.state();

  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> cases = {
      {{{"step", "12x"}}, "metadata 'step' = '12x' is not a valid int64"},
      {{{"format_version", "2"}}, "format_version 2 is not supported"},
      {{{"format", "something.else"}}, "metadata 'format' is 'something.else'"},
      {{{"rng.data.offset", "-1"}}, "metadata 'rng.data.offset' = '-1' is not a valid uint64"},
      {{{"optim.D.type", "AdamW"}}, "optimizer 'D' is AdamW in the checkpoint but Adam here"},
  };
  for (const auto& [changes, needle] : cases) {
    SCOPED_TRACE(needle);
    SafeTensors damaged = good;
    for (const auto& [key, value] : changes) damaged.metadata[key] = value;
    save_safetensors(dir.file("damaged.safetensors"), damaged);
    nn::TrainingCheckpoint c = run.checkpoint();
    const std::string message = error_message([&] { load_checkpoint(dir.file("damaged.safetensors"), c); });
    EXPECT_TRUE(contains(message, needle)) << message;
    expect_unchanged(*run.g, g_before, needle);
    EXPECT_EQ(run.data.state(), data_before);
  }
  SafeTensors no_step = good;
  no_step.metadata.erase("step");
  save_safetensors(dir.file("damaged.safetensors"), no_step);
  nn::TrainingCheckpoint c = run.checkpoint();
  EXPECT_TRUE(contains(error_message([&] { load_checkpoint(dir.file("damaged.safetensors"), c); }),
                       "metadata 'step' is missing"));
}

TEST(TrainingCheckpoint, TruncatedFileIsRefusedAndNothingChanges) {
  TempDir dir;
  const std::string path = save_two_step_run(dir);
  fs::resize_file(path, fs::file_size(path) - 5);  // the last tensor loses its tail

  TinyRun target(5);
  target.train(1);
  const auto g_before = snapshot(*target.g);
  const auto adam_before = target.opt_d->state();
  const auto dropout_before = target.dropout.state();
  nn::TrainingCheckpoint c = target.checkpoint();
  const std::string message = error_message([&] { load_checkpoint(path, c); });
  EXPECT_TRUE(contains(message, "truncated")) << message;
  EXPECT_TRUE(contains(message, path)) << message;
  expect_unchanged(*target.g, g_before, "G after a truncated checkpoint");
  expect_same_optimizer_state(target.opt_d->state(), adam_before, "Adam state after a truncated checkpoint");
  EXPECT_EQ(target.dropout.state(), dropout_before);
  EXPECT_EQ(c.step, target.step);
}

TEST(TrainingCheckpoint, SaveChecksNamesAndSettings) {
  TempDir dir;
  TinyRun run(1);
  nn::TrainingCheckpoint c = run.checkpoint();
  c.settings = "{not json";
  EXPECT_TRUE(contains(error_message([&] { save_checkpoint(dir.file("x.safetensors"), c); }), "settings"));
  c = run.checkpoint();
  c.models["optim"] = run.g.get();
  EXPECT_TRUE(contains(error_message([&] { save_checkpoint(dir.file("x.safetensors"), c); }), "'optim'"));
  c = run.checkpoint();
  c.generators["a.b"] = &run.data;
  EXPECT_TRUE(contains(error_message([&] { save_checkpoint(dir.file("x.safetensors"), c); }), "'a.b'"));
  EXPECT_FALSE(fs::exists(dir.file("x.safetensors")));
}

TEST(TrainingCheckpoint, CheckpointBeforeTheFirstStepRoundTrips) {
  TempDir dir;
  TinyRun run(1);  // optimizers without state
  save_checkpoint(dir.file("run.safetensors"), run.checkpoint());
  TinyRun other(2);
  other.train(1);  // has state: loading must clear it
  nn::TrainingCheckpoint c = other.checkpoint();
  load_checkpoint(dir.file("run.safetensors"), c);
  EXPECT_TRUE(other.opt_g->state().empty());
  EXPECT_TRUE(other.opt_d->state().empty());
  expect_same_state(*other.g, *run.g, "G");
}

}  // namespace
