#!/usr/bin/env bash
# test.sh: sets up, builds (with CUDA when nvcc is present, so CUDA compile
# errors fail), and runs every test with CTest. CUDA tests report themselves
# skipped, with the reason, on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
# CTest runs several test processes at once, each with OpenMP threads: on a
# 2-core machine that oversubscribes the cores, and spinning OpenMP threads
# then wait on each other for whole time slices. Passive waiting avoids that.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
ctest --test-dir build --output-on-failure -j"$(nproc)"
