// golden_main.cpp: the golden runner (CTest test golden_ops). It runs every
// *.safetensors case of a directory of PyTorch reference cases through loom and
// prints one line per case: the file name, PASS / FAIL / LATER, and the worst
// relative error ||out - ref|| / ||ref|| with the tensor it was found in.
//
// Where the cases are: the first command-line argument, else the environment
// variable LOOM_GOLDEN_DIR, else ../shared/golden relative to the project root
// (LOOM_SOURCE_DIR, set at compile time).
// LOOM_GOLDEN_DTYPE=float64 runs the inputs in float64 instead of float32 (a
// diagnostic: it separates wrong semantics from float32 rounding).
// `--device cuda` (or cuda:N, or the environment variable LOOM_GOLDEN_DEVICE)
// runs every case on that GPU: the inputs, gradient seeds and extra file
// tensors are moved there, every result must come back on that device, and it
// is compared (moved to the CPU) with the same tolerances. The default is cpu.
//
// Usage: loom_golden [--device cpu|cuda|cuda:N] [case directory]
//
// For each case: the inputs listed by the metadata key "inputs" become leaves
// (floating ones in the run dtype, requiring grad), the op named by "op" runs
// (golden_ops.cpp), its result is compared with "output", backward is seeded
// with "grad_output", and each "grad_<input>" is compared with that input's
// gradient; batch norm's running statistics are compared too. A case fails
// when any comparison exceeds the op's tolerance (NaN never passes), when the op
// is unknown (named), when an attribute or a reference tensor of the file is
// left unused, or when anything throws. Cases of ops that later issues check
// (optimizers, the DCGAN iteration, detection metrics) are listed as LATER with
// the test that covers them and do not count as failures.
// Exit status: 0 when every other case passes; 1 when one fails, or when the
// directory is missing or holds no case, or on a bad argument; 77
// (kSkipExitCode, CTest's SKIP_RETURN_CODE) when a CUDA device was asked for
// and this build or machine has none (the reason is printed).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

#include "autograd/functions.h"
#include "golden.h"
#include "tensor/cuda_runtime.h"

#ifndef LOOM_SOURCE_DIR
#error "LOOM_SOURCE_DIR must be defined (the project root, for ../shared/golden)"
#endif

namespace fs = std::filesystem;
using namespace loom;
using namespace loom::golden;

namespace {

enum class Status { Pass, Fail, Later };

constexpr int kSkipExitCode = 77;  // --device cuda without a CUDA device

struct Outcome {
  Status status = Status::Fail;
  std::string detail;
};

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

std::string sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2e", v);
  return buf;
}

// ||got - ref|| / ||ref|| over all elements, in double (the absolute norm of
// the difference when the reference is all zeros). NaN or inf anywhere gives
// NaN or inf, which fails every tolerance.
double relative_error(const Tensor& got, const Tensor& ref) {
  LOOM_CHECK(got.shape() == ref.shape(), "shape ", shape_str(got.shape()), " but the reference has ",
             shape_str(ref.shape()));
  const std::vector<double> g = got.to_vector<double>(), r = ref.to_vector<double>();
  double diff2 = 0, ref2 = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const double d = g[i] - r[i];
    diff2 += d * d;
    ref2 += r[i] * r[i];
  }
  if (!std::isfinite(diff2) || !std::isfinite(ref2)) return std::numeric_limits<double>::quiet_NaN();
  return ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
}

Outcome run_case(const fs::path& file, DType run_dtype, Device device) {
  SafeTensors data;
  try {
    data = load_safetensors(file.string());
  } catch (const Error& e) {
    return {Status::Fail, one_line(e.what())};
  }
  Case c(file.filename().string(), std::move(data));
  c.run_dtype = run_dtype;
  c.device = device;
  if (!c.attrs.has("op")) return {Status::Fail, "the metadata has no 'op'"};
  const std::string op = c.attrs.str("op");
  if (auto later = later_ops().find(op); later != later_ops().end())
    return {Status::Later, "op '" + op + "' is checked by " + later->second + " (not counted here)"};
  auto spec = op_table().find(op);
  if (spec == op_table().end()) return {Status::Fail, "unknown op '" + op + "': the golden runner has no mapping for it"};

  std::vector<std::string> problems;
  double worst = -1;  // none compared yet
  std::string worst_name = "nothing compared";
  auto compare = [&](const std::string& ref_name, const Tensor& got) {
    const Tensor& ref = c.data.tensors.at(ref_name);
    double err = 0;
    try {
      LOOM_CHECK(!got.defined() || got.device() == c.device, "the result is on ",
                 got.defined() ? got.device().str() : "", ", the case runs on ", c.device.str());
      err = relative_error(got.to(Device::cpu()), ref);
    } catch (const Error& e) {
      problems.push_back(ref_name + ": " + one_line(e.what()));
      return;
    }
    if (std::isnan(err) || (!std::isnan(worst) && err > worst)) {  // a NaN stays the worst
      worst = err;
      worst_name = ref_name;
    }
    if (!(err <= spec->second.tolerance))
      problems.push_back(ref_name + " rel err " + sci(err) + " > tol " + sci(spec->second.tolerance));
  };

  std::set<std::string> checked;  // file tensors accounted for
  try {
    c.input_names = c.attrs.has("inputs") ? c.attrs.strings("inputs") : std::vector<std::string>{};
    for (const std::string& name : c.input_names) {
      auto it = c.data.tensors.find(name);
      LOOM_CHECK(it != c.data.tensors.end(), "input '", name, "' is listed in 'inputs' but not in the file");
      Tensor leaf = it->second;
      if (is_floating(leaf.dtype())) {
        leaf = leaf.to(run_dtype).to(device).clone();
        leaf.requires_grad_();
      } else {
        leaf = leaf.to(device);
      }
      c.inputs[name] = leaf;
      checked.insert(name);
    }

    Tensor out = spec->second.run(c);
    if (out.defined()) {
      LOOM_CHECK(c.data.tensors.count("output"), "the op returned an output but the file has no 'output'");
      compare("output", out);
      checked.insert("output");
      if (c.data.tensors.count("grad_output")) {
        checked.insert("grad_output");
        if (out.requires_grad())
          out.backward(c.data.tensors.at("grad_output").to(out.dtype()).to(out.device()));
      }
    } else {
      LOOM_CHECK(!c.data.tensors.count("output"), "the file has an 'output' but the op computed none");
    }
    for (const std::string& name : c.input_names) {
      const std::string grad_name = "grad_" + name;
      if (!c.data.tensors.count(grad_name)) continue;
      checked.insert(grad_name);
      Tensor grad = c.inputs.at(name).grad();
      if (!grad.defined())
        problems.push_back(grad_name + ": no gradient was computed");
      else
        compare(grad_name, grad);
    }
    for (const auto& [name, got] : c.extra_results) {
      compare(name, got);
      checked.insert(name);
    }
  } catch (const Error& e) {
    problems.push_back(one_line(e.what()));
  }

  // Nothing in the file may be silently ignored.
  for (const auto& [name, t] : c.data.tensors)
    if (!checked.count(name) && !c.consumed.count(name)) problems.push_back("tensor '" + name + "' was not checked");
  c.attrs.ignore("op");
  c.attrs.ignore("inputs");
  for (const std::string& key : c.attrs.unused())
    problems.push_back("attribute '" + key + "' was not understood");

  std::string summary = "worst rel err " + (worst < 0 ? std::string("-") : sci(worst)) + " (" + worst_name +
                        "), tol " + sci(spec->second.tolerance);
  if (problems.empty()) return {Status::Pass, summary};
  std::string detail = summary;
  for (const std::string& p : problems) detail += "; " + p;
  return {Status::Fail, detail};
}

// "cpu", "cuda", "cuda:N" -> the device; nothing on a bad name.
std::optional<Device> parse_device(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  if (name == "cuda") return Device::cuda(0);
  if (name.rfind("cuda:", 0) == 0 && name.size() > 5 &&
      name.find_first_not_of("0123456789", 5) == std::string::npos && name.size() < 10)
    return Device::cuda(std::stoi(name.substr(5)));
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir;
  std::string device_name;
  if (const char* env = std::getenv("LOOM_GOLDEN_DEVICE"); env && *env) device_name = env;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--device") {
      if (i + 1 >= argc) {
        std::cerr << "golden: --device needs a value (cpu, cuda or cuda:N)\n";
        return 1;
      }
      device_name = argv[++i];
    } else if (arg.rfind("--device=", 0) == 0) {
      device_name = arg.substr(9);
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() > 1) {
    std::cerr << "golden: usage: loom_golden [--device cpu|cuda|cuda:N] [case directory]\n";
    return 1;
  }
  Device device = Device::cpu();
  if (!device_name.empty()) {
    const std::optional<Device> parsed = parse_device(device_name);
    if (!parsed) {
      std::cerr << "golden: the device must be cpu, cuda or cuda:N, got '" << device_name << "'\n";
      return 1;
    }
    device = *parsed;
  }
  if (device.is_cuda()) {
    if (!cuda_rt::built_with_cuda()) {
      std::cout << "golden: SKIPPED on " << device.str()
                << ": loom was built without CUDA (LOOM_CUDA=OFF or no nvcc)\n";
      return kSkipExitCode;
    }
    const int count = cuda_rt::device_count();
    if (device.index >= count) {
      std::cout << "golden: SKIPPED on " << device.str() << ": "
                << (count == 0 ? std::string("no CUDA device on this machine")
                               : "this machine has " + std::to_string(count) + " CUDA device(s)")
                << "\n";
      return kSkipExitCode;
    }
  }
  if (!positional.empty()) {
    dir = positional[0];
  } else if (const char* env = std::getenv("LOOM_GOLDEN_DIR"); env && *env) {
    dir = env;
  } else {
    dir = fs::path(LOOM_SOURCE_DIR) / ".." / "shared" / "golden";
  }
  DType run_dtype = DType::Float32;
  if (const char* env = std::getenv("LOOM_GOLDEN_DTYPE"); env && *env) {
    const std::string v = env;
    if (v == "float64") {
      run_dtype = DType::Float64;
    } else if (v != "float32") {
      std::cerr << "golden: LOOM_GOLDEN_DTYPE must be float32 or float64, got '" << v << "'\n";
      return 1;
    }
  }

  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::cerr << "golden: the case directory " << dir << " does not exist or is not a directory "
              << "(set LOOM_GOLDEN_DIR or pass the directory as the first argument)\n";
    return 1;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".safetensors") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::cerr << "golden: no *.safetensors case in " << dir << "\n";
    return 1;
  }

  std::cout << "golden: " << files.size() << " cases in " << fs::weakly_canonical(dir, ec).string() << ", run in "
            << dtype_name(run_dtype) << " on " << device.str() << "\n";
  int passed = 0, failed = 0, later = 0;
  for (const fs::path& f : files) {
    Outcome o = run_case(f, run_dtype, device);
    const char* tag = o.status == Status::Pass ? "PASS " : o.status == Status::Fail ? "FAIL " : "LATER";
    std::cout << f.filename().string() << "  " << tag << "  " << o.detail << std::endl;
    (o.status == Status::Pass ? passed : o.status == Status::Fail ? failed : later) += 1;
  }
  std::cout << "golden: " << passed << " passed, " << failed << " failed, " << later
            << " covered by later issues' golden tests\n";
  return failed == 0 ? 0 : 1;
}
