// cuda_bench_util.h: what the GPU benchmarks (bench_cuda_*.cpp) share:
// CUDA-event timing on the current stream with warm-up and a median over many
// samples, the device's facts (name, L2 size, free memory), how many input sets
// to rotate through so the timed data does not sit in L2, the command-line
// flags they add to Google Benchmark's, and a guard that turns an exception
// into a benchmark error instead of ending the program.
//
// How one benchmark is timed (measure()):
//   1. warm-up: two calls, then a third timed alone to estimate one call's time t1
//      (module load, allocator growth and handle creation stay out of the numbers);
//   2. calls per sample c = ceil(min_sample / t1) (at least 1): a sample is
//      c calls back to back between two CUDA events, so launches of a few
//      microseconds are not lost in the events' resolution;
//   3. `samples` samples (fewer, but at least 3, when one call is slow: about
//      max_bench_s seconds of samples per benchmark), each giving (event time) / c;
//   4. the median of the samples is the result: it goes to Google Benchmark
//      as the manual iteration time (the benchmark has one iteration, so
//      "Time" in its table is the median per call) and as counter median_us.
// Every call receives its running index i, to pick input set i % sets.
#pragma once
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "tensor/cuda_runtime.h"

namespace loom::cuda_bench {

// Throws std::runtime_error naming the call and CUDA's error string.
#define LOOM_BENCH_CUDA_CHECK(call)                                                                   \
  do {                                                                                                \
    cudaError_t bench_err_ = (call);                                                                  \
    if (bench_err_ != cudaSuccess)                                                                    \
      throw std::runtime_error(std::string("CUDA error in " #call ": ") + cudaGetErrorString(bench_err_)); \
  } while (0)

// ---- flags (removed from argv before Google Benchmark reads it) ----
struct Flags {
  int samples = 20;             // --samples=N: timed samples per benchmark
  double min_sample_ms = 0.1;   // --min_sample_ms=X: GPU time of one sample (calls are repeated up to it)
  double max_bench_s = 2.0;     // --max_bench_s=X: cap on the timed samples of one benchmark
  bool list_shapes = false;     // --list_shapes: print the shapes as JSON and exit (no GPU needed)
};

inline Flags& flags() {
  static Flags f;
  return f;
}

// Reads and removes this file's flags from argv (Google Benchmark refuses unknown ones).
inline void parse_flags(int& argc, char** argv) {
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    auto value = [&](const char* name) -> const char* {
      const size_t n = std::strlen(name);
      return std::strncmp(a, name, n) == 0 && a[n] == '=' ? a + n + 1 : nullptr;
    };
    if (const char* v = value("--samples")) {
      flags().samples = std::max(1, std::atoi(v));
    } else if (const char* v = value("--min_sample_ms")) {
      flags().min_sample_ms = std::max(0.0, std::atof(v));
    } else if (const char* v = value("--max_bench_s")) {
      flags().max_bench_s = std::max(0.01, std::atof(v));
    } else if (std::strcmp(a, "--list_shapes") == 0) {
      flags().list_shapes = true;
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
}

inline const char* flags_help() {
  return "  --samples=N          timed samples per benchmark (median reported; default 20)\n"
         "  --min_sample_ms=X    GPU time of one sample: short calls are repeated up to it (default 0.1)\n"
         "  --max_bench_s=X      at most this many seconds of samples per benchmark (default 2)\n"
         "  --list_shapes        print the benchmarked shapes as JSON and exit (no GPU needed)\n";
}

// ---- the device ----
struct GpuInfo {
  int index = 0;
  std::string name;
  int sm_count = 0;
  int64_t l2_bytes = 0;
  int64_t free_bytes = 0, total_bytes = 0;
  int clock_khz = 0;  // SM clock (cudaDevAttrClockRate)
};

inline GpuInfo gpu_info(int index = 0) {
  GpuInfo g;
  g.index = index;
  g.name = cuda_rt::device_name(index);
  cuda_rt::set_device(index);
  int l2 = 0;
  LOOM_BENCH_CUDA_CHECK(cudaDeviceGetAttribute(&g.sm_count, cudaDevAttrMultiProcessorCount, index));
  LOOM_BENCH_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, index));
  LOOM_BENCH_CUDA_CHECK(cudaDeviceGetAttribute(&g.clock_khz, cudaDevAttrClockRate, index));
  g.l2_bytes = l2;
  size_t free_b = 0, total_b = 0;
  LOOM_BENCH_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  g.free_bytes = static_cast<int64_t>(free_b);
  g.total_bytes = static_cast<int64_t>(total_b);
  return g;
}

// Free device memory now, counting the loom allocator's cached blocks as free.
inline int64_t free_device_bytes(int index = 0) {
  cuda_rt::empty_cache(index);
  size_t free_b = 0, total_b = 0;
  LOOM_BENCH_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  return static_cast<int64_t>(free_b);
}

// How many input sets to rotate through: enough that the sets together are at
// least twice the L2 (so each call reads from device memory, not from L2),
// at most `cap`, and never more than `budget_bytes` of memory; 1 when one set
// already exceeds the L2.
inline int rotation_sets(double set_bytes, int64_t l2_bytes, int cap = 64, double budget_bytes = 1.0e9) {
  if (set_bytes <= 0 || set_bytes >= static_cast<double>(l2_bytes)) return 1;
  int sets = static_cast<int>(std::ceil(2.0 * static_cast<double>(l2_bytes) / set_bytes));
  sets = std::min(sets, cap);
  sets = std::min(sets, std::max(1, static_cast<int>(budget_bytes / set_bytes)));
  return std::max(sets, 1);
}

inline cudaStream_t current_stream(int index = 0) {
  return static_cast<cudaStream_t>(cuda_rt::current_stream(index));
}

// Two CUDA events on one stream; elapsed_s() waits for the second.
class EventPair {
 public:
  EventPair() {
    LOOM_BENCH_CUDA_CHECK(cudaEventCreate(&start_));
    LOOM_BENCH_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~EventPair() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  EventPair(const EventPair&) = delete;
  EventPair& operator=(const EventPair&) = delete;
  void start(cudaStream_t s) { LOOM_BENCH_CUDA_CHECK(cudaEventRecord(start_, s)); }
  void stop(cudaStream_t s) { LOOM_BENCH_CUDA_CHECK(cudaEventRecord(stop_, s)); }
  double elapsed_s() {
    LOOM_BENCH_CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0;
    LOOM_BENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return 1e-3 * ms;
  }

 private:
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

struct Timing {
  double median_s = 0, min_s = 0, max_s = 0;
  int samples = 0;
  int calls_per_sample = 0;
};

inline double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Times call(i) on the current stream as described in the header comment.
template <class Call>
Timing measure(Call&& call, int device = 0) {
  const cudaStream_t s = current_stream(device);
  EventPair ev;
  int64_t i = 0;
  call(i++);
  call(i++);
  ev.start(s);
  call(i++);
  ev.stop(s);
  const double one = std::max(ev.elapsed_s(), 1e-7);
  LOOM_BENCH_CUDA_CHECK(cudaGetLastError());

  const Flags& f = flags();
  const int per = static_cast<int>(std::clamp(std::ceil(1e-3 * f.min_sample_ms / one), 1.0, 100000.0));
  const double sample_s = one * per;
  const double most = static_cast<double>(f.samples), least = std::min(3.0, most);
  const int samples = static_cast<int>(std::clamp(std::floor(f.max_bench_s / sample_s), least, most));
  std::vector<double> per_call;
  per_call.reserve(samples);
  for (int k = 0; k < samples; ++k) {
    ev.start(s);
    for (int r = 0; r < per; ++r) call(i++);
    ev.stop(s);
    per_call.push_back(ev.elapsed_s() / per);
  }
  LOOM_BENCH_CUDA_CHECK(cudaGetLastError());
  Timing t;
  t.median_s = median_of(per_call);
  t.min_s = *std::min_element(per_call.begin(), per_call.end());
  t.max_s = *std::max_element(per_call.begin(), per_call.end());
  t.samples = samples;
  t.calls_per_sample = per;
  return t;
}

// The benchmark body: runs measure() once inside Google Benchmark's loop (one
// iteration, manual time = the median) and returns the timing; an exception
// becomes SkipWithError with its message (a sticky CUDA error then fails the
// benchmarks after it the same way, each saying so).
template <class Call>
bool run_timed(benchmark::State& state, Call&& call, Timing* out) {
  bool ok = true;
  for (auto _ : state) {
    try {
      const Timing t = measure(call);
      state.SetIterationTime(t.median_s);
      state.counters["median_us"] = 1e6 * t.median_s;
      state.counters["spread_pct"] = t.median_s > 0 ? 100.0 * (t.max_s - t.min_s) / t.median_s : 0;
      state.counters["samples"] = t.samples;
      state.counters["calls_per_sample"] = t.calls_per_sample;
      if (out) *out = t;
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      ok = false;
    }
  }
  return ok;
}

// Runs setup code (allocating inputs) with the same exception handling.
template <class Fn>
bool guarded(benchmark::State& state, Fn&& fn) {
  try {
    fn();
    return true;
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    for (auto _ : state) {
    }
    return false;
  }
}

// After a benchmark: wait for the device and give cached blocks back, so the
// next benchmark starts with the memory free.
inline void release_memory(int device = 0) {
  try {
    cuda_rt::synchronize(device);
    cuda_rt::empty_cache(device);
  } catch (const std::exception&) {
  }
}

// The common start of main(): flags, then a GPU or a clear message (exit code 2).
inline bool require_gpu(const char* program) {
  if (!cuda_rt::built_with_cuda()) {
    std::fprintf(stderr, "%s: loom was built without CUDA: nothing to measure\n", program);
    return false;
  }
  if (cuda_rt::device_count() == 0) {
    std::fprintf(stderr, "%s: no CUDA device on this machine: nothing to measure\n", program);
    return false;
  }
  return true;
}

// The start every bench_cuda_* main shares: the extra flags (and their --help
// text), --list_shapes (printed without a GPU), the no-GPU exit (2) and the
// GPU's description (exit 1 if it cannot be read), recorded as the "gpu"
// context. Returns the exit code to stop with, or -1 to go on with `gpu` filled.
inline int start_cuda_bench(int& argc, char** argv, const char* program, void (*list_shapes)(), GpuInfo& gpu) {
  parse_flags(argc, argv);
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--help") std::printf("%s extra flags:\n%s\n", program, flags_help());
  if (flags().list_shapes) {
    list_shapes();
    return 0;
  }
  if (!require_gpu(program)) return 2;
  try {
    gpu = gpu_info();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
  benchmark::AddCustomContext("gpu", gpu.name);
  return -1;
}

// JSON string escaping for --list_shapes output (names are plain ASCII here).
inline std::string json_str(const std::string& s) {
  std::string r = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') r += '\\';
    r += c;
  }
  return r + "\"";
}

}  // namespace loom::cuda_bench
