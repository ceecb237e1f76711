// backend.h: the run-time switch for the vendor comparison backends (cuBLAS,
// cuDNN). They are never required: a build without them, or with them switched
// off, runs loom's own kernels. LOOM_BACKEND=cublas,cudnn (a comma list; "" or
// "loom" = none) selects them for every matmul/conv; the set_* calls override it.
#pragma once

namespace loom::vendor {

bool cublas_built();  // compiled with LOOM_WITH_CUBLAS
bool cudnn_built();   // compiled with LOOM_WITH_CUDNN

bool use_cublas();  // selected now (LOOM_BACKEND, read once, or set_use_cublas)
bool use_cudnn();
// Throws "loom was built without cuBLAS" (cuDNN) when switching on an absent backend.
void set_use_cublas(bool on);
void set_use_cudnn(bool on);

}  // namespace loom::vendor
