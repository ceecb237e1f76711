// backend.cpp: LOOM_BACKEND parsing and the run-time vendor switches (backend.h).
#include "kernels/vendor/backend.h"

#include <cstdlib>
#include <sstream>
#include <string>

#include "tensor/error.h"

namespace loom::vendor {

namespace {

struct Choice {
  bool cublas = false, cudnn = false;
};

Choice from_environment() {
  Choice c;
  const char* env = std::getenv("LOOM_BACKEND");
  if (env == nullptr) return c;
  std::stringstream list(env);
  std::string item;
  while (std::getline(list, item, ',')) {
    if (item == "cublas") c.cublas = true;
    else if (item == "cudnn") c.cudnn = true;
    else if (item.empty() || item == "loom") continue;
    else detail::throw_error("LOOM_BACKEND: unknown backend '", item, "' (known: cublas, cudnn, loom)");
  }
  LOOM_CHECK(!c.cublas || cublas_built(), "LOOM_BACKEND=cublas: loom was built without cuBLAS");
  LOOM_CHECK(!c.cudnn || cudnn_built(), "LOOM_BACKEND=cudnn: loom was built without cuDNN");
  return c;
}

Choice& choice() {
  static Choice c = from_environment();
  return c;
}

}  // namespace

bool cublas_built() {
#ifdef LOOM_WITH_CUBLAS
  return true;
#else
  return false;
#endif
}

bool cudnn_built() {
#ifdef LOOM_WITH_CUDNN
  return true;
#else
  return false;
#endif
}

bool use_cublas() { return choice().cublas; }
bool use_cudnn() { return choice().cudnn; }

void set_use_cublas(bool on) {
  LOOM_CHECK(!on || cublas_built(), "set_use_cublas: loom was built without cuBLAS");
  choice().cublas = on;
}

void set_use_cudnn(bool on) {
  LOOM_CHECK(!on || cudnn_built(), "set_use_cudnn: loom was built without cuDNN");
  choice().cudnn = on;
}

}  // namespace loom::vendor
