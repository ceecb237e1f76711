#!/usr/bin/env bash
# build.sh: configures and builds loom in ./build (Release: -O3, native SIMD,
# OpenMP). The CUDA backend is built too when nvcc is found (LOOM_CUDA=AUTO);
# pass e.g. -DLOOM_CUDA=OFF to change that. Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j"$(nproc)"
