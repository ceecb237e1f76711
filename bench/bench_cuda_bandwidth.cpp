// bench_cuda_bandwidth.cpp: achieved memory bandwidth of loom's memory-bound
// CUDA ops (elementwise, reductions, softmax, batch norm, the fused Adam
// update), float32, at tensor sizes 1 MB, 16 MB, 256 MB and 1 GB (the size of
// the op's main input; a size that does not fit in free device memory is
// reported as an error "does not fit"), each as GB/s and as a percentage of the
// device-to-device copy bandwidth measured at the start of the same run.
//
// Minimal bytes per call (S = bytes of the main input = 4 n; each input read
// once, each output written once; the counter `bytes` holds the number):
//   copy          cudaMemcpyAsync device to device        2 S  (read + write)
//   add           a + b, same shape (n)                   3 S
//   relu          relu(x)                                  2 S
//   mul_scalar    x * 2.5                                  2 S
//   sum_all       sum(x) -> scalar                         S
//   sum_rows      x (n/1024, 1024), sum over dim 1         S + S/1024
//   sum_cols      x (1024, n/1024), sum over dim 0         S + S/1024
//   softmax_1024  x (n/1024, 1024), softmax over dim 1     2 S
//   softmax_32768 x (n/32768, 32768), softmax over dim 1   2 S
//   batch_norm    train forward, x (n/65536, 64, 32, 32)   2 S  (+ 64-element weights and statistics;
//                 a two-pass kernel, statistics then normalise, reads x twice: 3 S, so <= 67% here)
//   adam          ops::adam_update of one n-element parameter: reads p, g, m, v, writes p, m, v: 7 S
// GB/s = bytes / median time (1 GB = 1e9 bytes); pct_copy = GB/s / the
// reference copy bandwidth (the median of a copy of 1 GB, or 256 MB when 1 GB
// does not fit, printed at start and in the JSON context as copy_reference_GBps).
// At 1 MB a call moves a few MB in about a microsecond, so launch and
// allocation overheads dominate: those rows measure the framework's per-call
// cost, not the kernel's bandwidth.
//
// Inputs are fresh uniform [0, 1) numbers (loom's Philox on the device), with
// several input sets rotated when one set fits in L2 (bench/cuda_bench_util.h);
// outputs rotate too (each call's result is kept until its set comes round).
// Name: bw/<op>/<size>, e.g. bw/softmax_1024/256MB.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "bench/cuda_bench_util.h"
#include "kernels/ops.h"
#include "tensor/random.h"

namespace {

using namespace loom;
using namespace loom::cuda_bench;

// One benchmarked op at n float32 elements.
struct BandwidthOp {
  std::string name;
  std::function<Shape(int64_t n)> shape;  // the main input's shape
  double bytes_per_input_byte;            // minimal bytes moved / S
  int inputs;                             // tensors of that shape per input set (read and/or updated)
  int outputs;                            // outputs of that shape per call (0: small or in place)
};

const std::vector<BandwidthOp>& bandwidth_ops() {
  static const std::vector<BandwidthOp> ops_list = {
      {"copy", [](int64_t n) { return Shape{n}; }, 2.0, 1, 1},
      {"add", [](int64_t n) { return Shape{n}; }, 3.0, 2, 1},
      {"relu", [](int64_t n) { return Shape{n}; }, 2.0, 1, 1},
      {"mul_scalar", [](int64_t n) { return Shape{n}; }, 2.0, 1, 1},
      {"sum_all", [](int64_t n) { return Shape{n}; }, 1.0, 1, 0},
      {"sum_rows", [](int64_t n) { return Shape{n / 1024, 1024}; }, 1.0 + 1.0 / 1024, 1, 0},
      {"sum_cols", [](int64_t n) { return Shape{1024, n / 1024}; }, 1.0 + 1.0 / 1024, 1, 0},
      {"softmax_1024", [](int64_t n) { return Shape{n / 1024, 1024}; }, 2.0, 1, 1},
      {"softmax_32768", [](int64_t n) { return Shape{n / 32768, 32768}; }, 2.0, 1, 1},
      {"batch_norm", [](int64_t n) { return Shape{n / 65536, 64, 32, 32}; }, 2.0, 1, 1},
      {"adam", [](int64_t n) { return Shape{n}; }, 7.0, 4, 0},
  };
  return ops_list;
}

struct Size {
  std::string name;
  int64_t bytes;
};
const std::vector<Size> kSizes = {
    {"1MB", int64_t{1} << 20}, {"16MB", int64_t{1} << 24}, {"256MB", int64_t{1} << 28}, {"1GB", int64_t{1} << 30}};

double g_copy_reference_gbps = 0;  // measured in main() before the benchmarks

// One call of `op` on input set `in` (tensors of the op's shape); returns the
// result to keep alive (undefined for in-place ops).
Tensor call_op(const std::string& op, const std::vector<Tensor>& in, const Tensor& bn_weight,
               const Tensor& bn_bias) {
  if (op == "copy") {
    // in[0] is the source; the destination is a fresh block of the same size.
    Tensor dst = Tensor::empty(in[0].shape(), DType::Float32, in[0].device());
    LOOM_BENCH_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), in[0].raw_data(), 4 * static_cast<size_t>(in[0].numel()),
                                          cudaMemcpyDeviceToDevice, current_stream()));
    return dst;
  }
  if (op == "add") return ops::add(in[0], in[1]);
  if (op == "relu") return ops::relu(in[0]);
  if (op == "mul_scalar") return ops::mul_scalar(in[0], 2.5);
  if (op == "sum_all") return ops::sum(in[0], {}, false);
  if (op == "sum_rows") return ops::sum(in[0], {1}, false);
  if (op == "sum_cols") return ops::sum(in[0], {0}, false);
  if (op == "softmax_1024" || op == "softmax_32768") return ops::softmax(in[0], 1);
  if (op == "batch_norm") return ops::batch_norm_train(in[0], bn_weight, bn_bias, 1e-5).output;
  if (op == "adam") {
    AdamUpdateOptions opt;  // lr 1e-3, betas (0.9, 0.999), eps 1e-8
    ops::adam_update({in[0]}, {in[1]}, {in[2]}, {in[3]}, {}, {10}, opt);
    return Tensor();
  }
  throw std::runtime_error("bench_cuda_bandwidth: unknown op " + op);
}

// Times op at the given size; returns the median seconds per call (0 on error).
double bm_bandwidth(benchmark::State& state, const BandwidthOp& op, const Size& size, uint64_t seed) {
  const int64_t n = size.bytes / 4;
  const double set_bytes = static_cast<double>(size.bytes) * (op.inputs + op.outputs);
  std::vector<std::vector<Tensor>> sets;
  std::vector<Tensor> results;
  Tensor bn_weight, bn_bias;  // (64)
  const bool ready = guarded(state, [&] {
    const GpuInfo g = gpu_info();
    const int count = rotation_sets(set_bytes, g.l2_bytes);
    // Inputs of every set, plus one more output than sets (a new result is
    // allocated before the old one in its slot is freed).
    const double need = set_bytes * count + static_cast<double>(size.bytes) * op.outputs;
    const int64_t free_b = free_device_bytes();
    if (need > 0.9 * static_cast<double>(free_b))
      throw std::runtime_error("does not fit: needs " + std::to_string(need / 1e9) + " GB, " +
                               std::to_string(static_cast<double>(free_b) / 1e9) + " GB free");
    Generator gen(seed);
    const Shape shape = op.shape(n);
    for (int s = 0; s < count; ++s) {
      std::vector<Tensor> in;
      for (int k = 0; k < op.inputs; ++k) in.push_back(rand(shape, gen, DType::Float32, Device::cuda(0)));
      sets.push_back(std::move(in));
    }
    results.resize(sets.size());
    bn_weight = rand({64}, gen, DType::Float32, Device::cuda(0));
    bn_bias = rand({64}, gen, DType::Float32, Device::cuda(0));
  });
  if (!ready) {
    release_memory();
    return 0;
  }
  Timing t;
  const bool ok = run_timed(
      state,
      [&](int64_t i) {
        const size_t slot = static_cast<size_t>(i) % sets.size();
        results[slot] = call_op(op.name, sets[slot], bn_weight, bn_bias);
      },
      &t);
  double median = 0;
  if (ok && t.median_s > 0) {
    median = t.median_s;
    const double bytes = op.bytes_per_input_byte * static_cast<double>(size.bytes);
    const double gbps = bytes / t.median_s * 1e-9;
    state.counters["GB/s"] = gbps;
    state.counters["pct_copy"] = g_copy_reference_gbps > 0 ? 100.0 * gbps / g_copy_reference_gbps : 0;
    state.counters["bytes"] = bytes;
    state.counters["input_sets"] = static_cast<double>(sets.size());
  }
  results.clear();
  sets.clear();
  release_memory();
  return median;
}

// The reference: a device-to-device copy of 1 GB (256 MB if 1 GB does not fit).
double measure_copy_reference() {
  const BandwidthOp& copy = bandwidth_ops().front();
  for (auto it = kSizes.rbegin(); it != kSizes.rend() && it->bytes >= (int64_t{1} << 28); ++it) {
    const int64_t n = it->bytes / 4;
    if (3.0 * static_cast<double>(it->bytes) > 0.9 * static_cast<double>(free_device_bytes())) continue;
    Generator gen(7);
    std::vector<Tensor> in = {rand(copy.shape(n), gen, DType::Float32, Device::cuda(0))};
    Tensor last;
    const Timing t = measure([&](int64_t) { last = call_op("copy", in, Tensor(), Tensor()); });
    last = Tensor();
    in.clear();
    release_memory();
    return copy.bytes_per_input_byte * static_cast<double>(it->bytes) / t.median_s * 1e-9;
  }
  return 0;
}

void list_shapes() {
  std::printf("{\"bandwidth\": [");
  bool first = true;
  for (const BandwidthOp& op : bandwidth_ops())
    for (const Size& s : kSizes) {
      const Shape shape = op.shape(s.bytes / 4);
      std::string dims;
      for (size_t d = 0; d < shape.size(); ++d) dims += (d ? ", " : "") + std::to_string(shape[d]);
      std::printf("%s\n  {\"name\": %s, \"op\": %s, \"size\": %s, \"shape\": [%s], \"bytes\": %.0f}",
                  first ? "" : ",", json_str("bw/" + op.name + "/" + s.name).c_str(), json_str(op.name).c_str(),
                  json_str(s.name).c_str(), dims.c_str(), op.bytes_per_input_byte * static_cast<double>(s.bytes));
      first = false;
    }
  std::printf("\n]}\n");
}

}  // namespace

int main(int argc, char** argv) {
  GpuInfo g;
  if (const int rc = start_cuda_bench(argc, argv, "bench_cuda_bandwidth", list_shapes, g); rc >= 0) return rc;
  try {
    g_copy_reference_gbps = measure_copy_reference();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda_bandwidth: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "bench_cuda_bandwidth: %s, L2 %lld MB, %.1f GB free; copy reference %.1f GB/s "
               "(read + write)\n",
               g.name.c_str(), static_cast<long long>(g.l2_bytes >> 20), static_cast<double>(g.free_bytes) / 1e9,
               g_copy_reference_gbps);
  benchmark::AddCustomContext("copy_reference_GBps", std::to_string(g_copy_reference_gbps));

  uint64_t seed = 100;
  for (const BandwidthOp& op : bandwidth_ops())
    for (const Size& s : kSizes) {
      const uint64_t bench_seed = seed++;
      benchmark::RegisterBenchmark(("bw/" + op.name + "/" + s.name).c_str(),
                                   [&op, &s, bench_seed](benchmark::State& st) { bm_bandwidth(st, op, s, bench_seed); })
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
