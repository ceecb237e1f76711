#!/usr/bin/env bash
# demo.sh: the main job. Sets up, builds, and trains a small network on the
# CPU with the built-in data, printing the falling loss.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
./build/trainers/loom_mlp_demo "$@"
