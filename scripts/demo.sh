#!/usr/bin/env bash
# demo.sh: the main job. Sets up, builds, and runs `loom demo`: a small
# procedural fabric dataset, small DCGAN, WAE and U-Net models (and tiny cgan and
# fusion GANs of the multistage pipeline) trained on the
# CPU (about five minutes), their sample sheets, the detectors' masks on the
# test split with pixel IoU/F1, and runs/demo/report.md. Extra arguments go to
# `loom demo` (for example --minutes 2, --seed 1, --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
# OpenMP threads that spin while waiting steal time slices from each other
# when the 2 cores are shared (measured: DCGAN 3 it/s spinning vs 12 passive
# next to a compiler); passive waiting costs nothing on an idle machine.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
./build/trainers/loom demo --out runs/demo "$@"
