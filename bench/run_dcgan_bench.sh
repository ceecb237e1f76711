#!/usr/bin/env bash
# run_dcgan_bench.sh: one DCGAN iteration (batch 64, 32x32 and 64x64), loom and
# PyTorch in the same run. Needs a build with benches (scripts/build.sh) and
# scripts/setup.sh --bench.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; commit $(git rev-parse --short HEAD); $(date -u +%F)"
./build/bench/bench_dcgan_step --benchmark_format=console
"${PYTHON:-/usr/bin/python3}" bench/peer_dcgan.py  # Debian's python, where python3-torch is
