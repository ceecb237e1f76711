#!/usr/bin/env bash
# run_conv_bench.sh: CPU conv2d / conv_transpose2d at the DCGAN 64x64 layer
# shapes (batch 64, float32, 2 threads), loom (bench_conv, median of
# repetitions) and PyTorch (peer_conv.py, median of repeats) in the same run,
# then one comparison table (markdown) of milliseconds, GFLOP/s and the ratio.
# Needs a build with benches (BUILD_DIR, default build/) and Debian's
# python3-torch with libopenblas0-pthread.
#   bench/run_conv_bench.sh                  # whole run (about 2-3 minutes)
#   BUILD_DIR=build-conv REPS=3 bench/run_conv_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
REPS="${REPS:-5}"
PY="${PYTHON:-/usr/bin/python3}"  # Debian's python, where python3-torch is
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; commit $(git rev-parse --short HEAD); $(date -u '+%F %H:%M UTC')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD_DIR/bench/bench_conv" --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.2 --benchmark_out="$tmp/loom.json" --benchmark_out_format=json >/dev/null
"$PY" bench/peer_conv.py --json "$tmp/torch.json" >/dev/null
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$tmp/loom.json" "$tmp/torch.json" <<'EOF'
import json, sys
loom = json.load(open(sys.argv[1]))
torch = json.load(open(sys.argv[2]))
lm = {}
for b in loom["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    name = b["run_name"].removesuffix("/real_time")
    ms = b["real_time"] * {"ms": 1, "us": 1e-3, "ns": 1e-6, "s": 1e3}[b["time_unit"]]
    lm[name] = (ms, b["GFLOP/s"])  # the counter is already in GFLOP/s
print(f"\nloom: median of {loom['benchmarks'][0].get('repetitions', '?')} repetitions; "
      f"PyTorch {torch['torch']} ({torch['threads']} threads): median of repeats\n")
print("| op | layer | pass | loom ms | loom GFLOP/s | PyTorch ms | PyTorch GFLOP/s | PyTorch time / loom time |")
print("|---|---|---|---:|---:|---:|---:|---:|")
tot = {}
for r in torch["results"]:
    op, layer, p = r["name"].split("/")
    ms, gf = lm[r["name"]]
    print(f"| {op} | {layer} | {p} | {ms:.2f} | {gf:.1f} | {r['ms']:.2f} | {r['gflops']:.1f} | {r['ms'] / ms:.2f}x |")
    t = tot.setdefault(op, [0.0, 0.0])
    t[0] += ms
    t[1] += r["ms"]
print()
for op, (a, b) in tot.items():
    print(f"all {op} layers, fwd + dx + dW: loom {a:.1f} ms, PyTorch {b:.1f} ms, ratio {b / a:.2f}x")
EOF
