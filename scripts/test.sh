#!/usr/bin/env bash
# test.sh: sets up, builds (with CUDA when nvcc is present, so CUDA compile
# errors fail), and runs every test with CTest. CUDA tests report themselves
# skipped, with the reason, on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
