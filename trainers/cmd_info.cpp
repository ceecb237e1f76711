// cmd_info.cpp: `loom info`, what this build of loom can run on: the CUDA
// backend (built or not, and why a device is missing), each visible GPU with its
// allocator statistics, the vendor comparison backends, the GEMM versions and
// conv algorithms, and the environment variables that override kernel choices.
//
//   loom info
#include <cstdlib>
#include <iostream>
#include <string>

#include "tensor/cuda_runtime.h"
#include "tensor/error.h"
#include "trainers/command.h"
#include "trainers/run_dir.h"
#include "trainers/text.h"
#ifdef LOOM_WITH_CUDA
#include "kernels/cuda/conv_algo.h"
#include "kernels/cuda/gemm.h"
#include "kernels/vendor/backend.h"
#endif

namespace {

// The kernel-choice variables that are set, as "NAME=value" words.
std::string overrides() {
  std::vector<std::string> set;
  for (const char* name : {"LOOM_BACKEND", "LOOM_GEMM", "LOOM_CONV", "LOOM_CONV_PRECISION", "LOOM_REDUCE_VERSION",
                           "LOOM_SOFTMAX_VERSION", "LOOM_CUDA_OPTIM"})
    if (const char* v = std::getenv(name)) set.push_back(std::string(name) + "=" + v);
  return set.empty() ? "none" : loom::train::join(set, " ");
}

void print_cuda_kernels() {
#ifdef LOOM_WITH_CUDA
  namespace gemm = loom::cuda::gemm;
  std::vector<std::string> names;
  for (const gemm::VersionInfo& v : gemm::versions()) {
    std::vector<std::string> precisions;
    for (gemm::Precision p : v.precisions) precisions.push_back(gemm::precision_name(p));
    names.push_back(v.name + " (" + loom::train::join(precisions, "/") + ")");
  }
  std::cout << "GEMM versions:     " << loom::train::join(names, ", ") << "\n";
  std::cout << "conv algorithms:   auto, direct, im2col, implicit" << (loom::vendor::cudnn_built() ? ", cudnn" : "")
            << "\n";
  std::cout << "vendor backends:   cuBLAS " << (loom::vendor::cublas_built() ? "built" : "not built") << ", cuDNN "
            << (loom::vendor::cudnn_built() ? "built" : "not built") << " (comparison only; LOOM_BACKEND selects)\n";
#endif
}

void print_info() {
  namespace rt = loom::cuda_rt;
  std::cout << "loom at commit:    " << loom::train::git_commit() << "\n";
  if (!rt::built_with_cuda()) {
    std::cout << "CUDA backend:      not built (configure with -DLOOM_CUDA=ON where nvcc is installed)\n";
    std::cout << "CUDA devices:      0\n";
    return;
  }
  std::cout << "CUDA backend:      built (kernels written in kernels/cuda; see docs/cuda.md)\n";
  print_cuda_kernels();
  std::cout << "kernel overrides:  " << overrides() << "\n";
  const int n = rt::device_count();
  std::cout << "CUDA devices:      " << n << (n == 0 ? " (no CUDA device on this machine)" : "") << "\n";
  for (int i = 0; i < n; ++i)
    std::cout << "  cuda:" << i << "  " << rt::device_name(i) << "; memory: " << rt::memory_stats_str(i) << "\n";
}

loom::cli::CommandRegistration registration{"info", [](CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "what this build runs on: CUDA, GPUs, kernel versions, vendor backends");
  cmd->callback([] { print_info(); });
}};

}  // namespace
