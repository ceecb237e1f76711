// bench_train_steps.cpp: wall time of one whole training step (forward,
// backward, optimizer steps) of each of loom's five models at its default size
// (bench/train_steps.h), on all CPU cores, and on CUDA when loom is built with
// it and a GPU is present. The PyTorch peer is bench/peer_train_steps.py;
// bench/run_train_bench.sh runs both and writes bench/results/cpu_train_steps.md.
//
// Benchmarks are named train_step/<model>/<device> ("train_step/dcgan/cpu").
// Each is built once, warmed up with 2 steps (first allocations), then every
// repetition times ONE step (Iterations(1)); the "median" aggregate is the
// median step time over --reps repetitions. Counters: images_per_s, batch and
// params (trainable elements, which the run script checks against PyTorch's).
//
//   bench_train_steps [--quick] [--reps=N] [--models=dcgan,wae] [benchmark flags]
//     --quick   batch 8 (dcgan, cgan_gram, wae) or 2 (fusion, unet), 3 repetitions:
//               a check that everything runs, not a measurement
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

#include "tensor/cuda_runtime.h"
#include "train_steps.h"

using namespace loom;

namespace {

struct Settings {
  bool quick = false;
  int reps = 5;
  std::vector<std::string> models = bench::train_step_models();
  std::string device = "auto";  // cpu, cuda or auto
};

std::string device_name(const Device& device) { return device.is_cpu() ? "cpu" : "cuda"; }

int64_t batch_for(const std::string& model, bool quick) {
  if (!quick) return bench::default_batch(model);
  return bench::default_batch(model) >= 64 ? 8 : 2;
}

// Built on first use and kept for the repetitions (warm-up happens once; a model
// that fails to build is tried again, and fails again, in each repetition).
bench::StepBench& cached_step(const std::string& model, int64_t batch, Device device) {
  static std::map<std::string, bench::StepBench> cache;
  const std::string key = model + "/" + device_name(device);
  auto it = cache.find(key);
  if (it == cache.end()) {
    it = cache.emplace(key, bench::make_train_step(model, batch, device)).first;
    for (int i = 0; i < 2; ++i) it->second.step();  // warm-up
  }
  return it->second;
}

// Waits for everything queued on a CUDA device (nothing to wait for on the CPU).
void wait_for(const Device& device) {
  if (device.is_cuda()) cuda_rt::synchronize(device.index);
}

// One repetition: builds (first time) and times one step from a quiet device to a quiet device.
void run_one_step(benchmark::State& state, const std::string& model, int64_t batch, Device device) {
  bench::StepBench* b = nullptr;
  try {
    b = &cached_step(model, batch, device);
  } catch (const std::exception& e) {
    state.SkipWithError(("building " + model + " on " + device_name(device) + ": " + e.what()).c_str());
    return;
  }
  for (auto _ : state) {
    try {
      wait_for(device);
      const auto start = std::chrono::steady_clock::now();
      double loss = b->step();
      wait_for(device);
      const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
      benchmark::DoNotOptimize(loss);
      state.SetIterationTime(seconds.count());
    } catch (const std::exception& e) {
      state.SkipWithError(("step of " + model + " on " + device_name(device) + ": " + e.what()).c_str());
      break;
    }
  }
  state.counters["images_per_s"] =
      benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["batch"] = static_cast<double>(batch);
  state.counters["params"] = static_cast<double>(b->parameters);
  state.SetLabel(b->size);
}

void register_model(const std::string& model, Device device, const Settings& settings) {
  const int64_t batch = batch_for(model, settings.quick);
  const std::string name = "train_step/" + model + "/" + device_name(device);
  benchmark::RegisterBenchmark(name.c_str(), [model, batch, device](benchmark::State& state) {
    run_one_step(state, model, batch, device);
  })
      ->Unit(benchmark::kMillisecond)
      ->UseManualTime()
      ->Iterations(1)
      ->Repetitions(settings.reps);
}

bool cuda_usable() { return cuda_rt::built_with_cuda() && cuda_rt::device_count() > 0; }

// Why --device=cuda cannot run here (the bench_cuda_* wording), or "" when it can.
std::string why_no_cuda() {
  if (!cuda_rt::built_with_cuda()) return "loom was built without CUDA: nothing to measure";
  if (cuda_rt::device_count() == 0) return "no CUDA device on this machine: nothing to measure";
  return "";
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

// Takes our own flags out of argv (Google Benchmark rejects unknown ones).
Settings parse_settings(int& argc, char** argv) {
  Settings s;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      s.quick = true;
      s.reps = 3;
    } else if (arg.rfind("--reps=", 0) == 0) {
      s.reps = std::stoi(arg.substr(7));
    } else if (arg.rfind("--models=", 0) == 0) {
      s.models = split(arg.substr(9));
    } else if (arg.rfind("--device=", 0) == 0) {
      s.device = arg.substr(9);
      if (s.device != "cpu" && s.device != "cuda" && s.device != "auto")
        throw std::invalid_argument("--device must be cpu, cuda or auto, got '" + s.device + "'");
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  try {
    settings = parse_settings(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train_steps: bad flag: %s\n", e.what());
    return 2;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  std::vector<Device> devices;
  if (settings.device == "cuda") {
    if (const std::string why = why_no_cuda(); !why.empty()) {
      std::fprintf(stderr, "bench_train_steps: %s\n", why.c_str());
      return 2;
    }
    devices.push_back(Device::cuda(0));
  } else {
    devices.push_back(Device::cpu());
    if (settings.device == "auto" && cuda_usable()) devices.push_back(Device::cuda(0));
  }
  for (const Device& device : devices)
    for (const std::string& model : settings.models) register_model(model, device, settings);
  try {
    benchmark::RunSpecifiedBenchmarks();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train_steps: %s\n", e.what());
    return 1;
  }
  benchmark::Shutdown();
  return 0;
}
