#!/usr/bin/env bash
# run_conv_bench.sh: CPU conv2d / conv_transpose2d at the DCGAN 64x64 layer
# shapes (batch 64, float32, 2 threads): loom (bench/bench_conv.cpp) and
# PyTorch (bench/peer_conv.py) in the same run, then one Markdown comparison
# table of milliseconds, GFLOP/s and the ratio (the table recorded in
# bench/results/cpu_conv.md).
#
#   bench/run_conv_bench.sh                       # builds into build-bench/
#   BUILD_DIR=build-conv REPS=3 bench/run_conv_bench.sh
#
# Rounds alternate loom and PyTorch, so a burst of load from other processes
# hits both sides alike; each figure is the median over the REPS rounds (each
# round's figure is itself a mean (loom) or median (PyTorch) of several calls).
# The load average is printed before and after: on a 2-core machine any other
# process lowers every number. Needs Debian's python3-torch (with
# libopenblas0-pthread) for the PyTorch column.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build-bench}"
REPS="${REPS:-5}"
PY="${PYTHON:-/usr/bin/python3}"  # Debian's python, where python3-torch is

echo "== build ($BUILD_DIR)" >&2
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DLOOM_CUDA=OFF -DLOOM_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" -j2 --target bench_conv >/dev/null

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
: >"$OUT/loom.jsonl"
: >"$OUT/torch.jsonl"
for ((i = 1; i <= REPS; ++i)); do
  echo "== round $i/$REPS: bench_conv, peer_conv.py" >&2
  "$BUILD_DIR/bench/bench_conv" --benchmark_min_time=0.2 --benchmark_format=json 2>/dev/null |
    python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["benchmarks"]))' >>"$OUT/loom.jsonl"
  "$PY" bench/peer_conv.py --json "$OUT/torch_round.json" >/dev/null
  python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$OUT/torch_round.json" >>"$OUT/torch.jsonl"
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$OUT" "$LOAD_BEFORE" "$LOAD_AFTER" "$REPS" <<'PYEOF'
import json, statistics, subprocess, sys
out, load_before, load_after, reps = sys.argv[1:5]
cpu = subprocess.run("lscpu | sed -n 's/^Model name: *//p'", shell=True, capture_output=True, text=True).stdout.strip()
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
date = subprocess.run(["date", "-u", "+%F %H:%M UTC"], capture_output=True, text=True).stdout.strip()
loom, torch, torch_version = {}, {}, "?"
for line in open(f"{out}/loom.jsonl"):
    for b in json.loads(line):
        name = b["run_name"].removesuffix("/real_time")
        ms = b["real_time"] * {"ms": 1, "us": 1e-3, "ns": 1e-6, "s": 1e3}[b["time_unit"]]
        loom.setdefault(name, []).append(ms)
flops = {}
for line in open(f"{out}/torch.jsonl"):
    d = json.loads(line)
    torch_version = d["torch"]
    for r in d["results"]:
        torch.setdefault(r["name"], []).append(r["ms"])
        flops[r["name"]] = r["gflops"] * r["ms"] * 1e-3  # GFLOP per call
print(f"CPU: {cpu}, 2 cores; commit {commit}; {date}; load average before {load_before}, after {load_after}")
print(f"loom vs PyTorch {torch_version} (2 threads), float32, batch 64; median of {reps} alternating rounds\n")
print("| op | layer | pass | loom ms | loom GFLOP/s | PyTorch ms | PyTorch GFLOP/s | PyTorch time / loom time |")
print("|---|---|---|---:|---:|---:|---:|---:|")
tot = {}
for name, tl in torch.items():
    op, layer, p = name.split("/")
    a, b = statistics.median(loom[name]), statistics.median(tl)
    print(f"| {op} | {layer} | {p} | {a:.2f} | {flops[name] / a * 1e3:.1f} | {b:.2f} | {flops[name] / b * 1e3:.1f} | {b / a:.2f}x |")
    t = tot.setdefault(op, [0.0, 0.0])
    t[0] += a
    t[1] += b
print()
for op, (a, b) in tot.items():
    print(f"- all {op} layers, fwd + dx + dW: loom {a:.1f} ms, PyTorch {b:.1f} ms: PyTorch takes {b / a:.2f}x loom's time")
PYEOF
