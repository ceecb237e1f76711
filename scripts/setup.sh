#!/usr/bin/env bash
# setup.sh: installs, with apt-get, whatever loom needs that this Debian machine
# lacks. Idempotent: packages already present are left alone, and apt-get runs
# only when something is missing.
#   scripts/setup.sh           build and test dependencies (PyTorch is one: the
#                              checkpoint interop tests load loom's files into it)
#   scripts/setup.sh --bench   also OpenBLAS's threaded build, which the PyTorch peer of bench/ uses
set -euo pipefail

packages=(g++ cmake make libgtest-dev libbenchmark-dev libstb-dev nlohmann-json3-dev libcli11-dev
          python3 python3-numpy python3-torch)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(libopenblas0-pthread)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
