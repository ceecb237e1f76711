#!/usr/bin/env bash
# demo.sh: the main job. Sets up, builds, and runs `loom demo`: a small
# procedural fabric dataset, small DCGAN, WAE and U-Net models trained on it on
# the CPU (about five minutes), their sample sheets, the detectors' masks on the
# test split with pixel IoU/F1, and runs/demo/report.md. Extra arguments go to
# `loom demo` (for example --minutes 2, --seed 1, --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
./build/trainers/loom demo --out runs/demo "$@"
