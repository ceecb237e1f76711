// test_runtime.cpp: what can be checked of CUDA on any machine (the
// "no CUDA device" errors) and, where a GPU exists, CPU/CUDA parity of the
// Philox stream and of copies. Without a GPU the GPU tests report SKIPPED with
// the reason.
#include <gtest/gtest.h>

#include "tensor/cuda_runtime.h"
#include "tensor/random.h"

using namespace loom;

namespace {
bool have_gpu() { return cuda_rt::device_count() > 0; }
#define REQUIRE_GPU()                                                                                 \
  if (!have_gpu())                                                                                    \
  GTEST_SKIP() << (cuda_rt::built_with_cuda() ? "no CUDA device on this machine"                      \
                                              : "loom was built without CUDA (LOOM_CUDA=OFF or no nvcc)")
}  // namespace

TEST(CudaRuntime, MissingDeviceIsAClearError) {
  if (have_gpu()) {
    EXPECT_THROW(Tensor::zeros({2}, DType::Float32, Device::cuda(cuda_rt::device_count())), Error);
    return;
  }
  try {
    Tensor::zeros({2}, DType::Float32, Device::cuda(0));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
  }
}

TEST(CudaRuntime, CopiesRoundTrip) {
  REQUIRE_GPU();
  Generator g(5);
  Tensor x = randn({3, 7, 5}, g);
  Tensor back = x.to(Device::cuda(0)).to(Device::cpu());
  EXPECT_EQ(back.to_vector<float>(), x.to_vector<float>());
}

TEST(CudaRuntime, PhiloxStreamIsBitIdenticalOnCpuAndCuda) {
  REQUIRE_GPU();
  for (DType dt : {DType::Float32, DType::Float64}) {
    Generator gc(99), gg(99);
    // An odd count, and a second draw so the offsets advance identically.
    for (int round = 0; round < 2; ++round) {
      Tensor uc = rand({1001}, gc, dt), ug = rand({1001}, gg, dt, Device::cuda(0));
      EXPECT_EQ(uc.to_vector<double>(), ug.to(Device::cpu()).to_vector<double>()) << dtype_name(dt);
      Tensor nc = randn({999}, gc, dt), ng = randn({999}, gg, dt, Device::cuda(0));
      EXPECT_EQ(nc.to_vector<double>(), ng.to(Device::cpu()).to_vector<double>()) << dtype_name(dt);
      Tensor bc = bernoulli({333}, 0.25, gc, dt), bg = bernoulli({333}, 0.25, gg, dt, Device::cuda(0));
      EXPECT_EQ(bc.to_vector<double>(), bg.to(Device::cpu()).to_vector<double>()) << dtype_name(dt);
    }
    EXPECT_EQ(gc.state(), gg.state());
  }
}
