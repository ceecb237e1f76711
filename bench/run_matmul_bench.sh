#!/usr/bin/env bash
# run_matmul_bench.sh: measures CPU float32 matmul for loom and for the PyTorch
# peer in one run, with the machine's measured FMA peak, and prints a Markdown
# table (the one recorded in bench/results/cpu_matmul.md).
#
#   bench/run_matmul_bench.sh                 # builds into build-bench/
#   BUILD_DIR=build-gemm bench/run_matmul_bench.sh
#   REPS=5 bench/run_matmul_bench.sh          # repetitions per benchmark (median)
#
# Steps: build bench_fma_peak and bench_matmul (Release, -march=native,
# OpenMP), run bench_fma_peak (AVX-512 / AVX2, 1 and 2 threads), BM_Matmul
# (n = 256, 512, 1024 on 2 threads and 1024 on 1), then bench/peer_matmul.py
# (torch.mm, 2 threads; Debian's python3-torch with OpenBLAS), alternating in
# REPS rounds; every figure is the median over the rounds (best in brackets).
# The load average is printed before and after: other processes on a 2-core
# machine lower every number.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build-bench}"
REPS="${REPS:-5}"
cd "$ROOT"

echo "== build ($BUILD_DIR)" >&2
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DLOOM_CUDA=OFF -DLOOM_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" -j2 --target bench_fma_peak bench_matmul >/dev/null

# The PyTorch peer needs the interpreter that has torch (Debian's /usr/bin/python3).
PEER_PY=""
for py in /usr/bin/python3 python3; do
  if command -v "$py" >/dev/null && "$py" -c "import torch" 2>/dev/null; then PEER_PY="$py"; break; fi
done

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "== load average before: $LOAD_BEFORE" >&2

# Rounds alternate loom and PyTorch, so a burst of load from other processes
# hits both sides alike; each figure is the median over the rounds.
echo "== bench_fma_peak" >&2
"$BUILD_DIR/bench/bench_fma_peak" --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true \
  --benchmark_format=json >"$OUT/peak.json"
: >"$OUT/matmul.jsonl"
: >"$OUT/peer.jsonl"
for ((i = 1; i <= REPS; ++i)); do
  echo "== round $i/$REPS: bench_matmul (BM_Matmul), peer_matmul.py" >&2
  # 10 repetitions of ~0.1 s each, reduced to their median: comparable to the
  # peer's median over single calls, and as robust to short bursts of load.
  "$BUILD_DIR/bench/bench_matmul" --benchmark_filter='BM_Matmul/' --benchmark_min_time=0.1 \
    --benchmark_repetitions=10 --benchmark_report_aggregates_only=true --benchmark_format=json |
    python3 -c 'import json,sys; print(json.dumps([b for b in json.load(sys.stdin)["benchmarks"]
                                                    if b.get("aggregate_name") == "median"]))' >>"$OUT/matmul.jsonl"
  if [[ -n "$PEER_PY" ]]; then
    "$PEER_PY" bench/peer_matmul.py --threads 2 --json | tail -n 1 >>"$OUT/peer.jsonl"
  fi
done
[[ -n "$PEER_PY" ]] || echo "== PyTorch not found: no peer column (apt-get install python3-torch libopenblas0-pthread)" >&2
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$OUT" "$LOAD_BEFORE" "$LOAD_AFTER" <<'EOF'
import json, statistics, subprocess, sys
out, load_before, load_after = sys.argv[1:4]

def medians(path):
    """name -> GFLOP/s of the median aggregate of each benchmark."""
    rows = json.load(open(path))["benchmarks"]
    return {r["run_name"]: r["GFLOP/s"] for r in rows if r.get("aggregate_name") == "median"}

peak = medians(f"{out}/peak.json")
matmul, peer = {}, {}
for line in open(f"{out}/matmul.jsonl"):
    for r in json.loads(line):
        matmul.setdefault(r["run_name"], []).append(r["GFLOP/s"])
for line in open(f"{out}/peer.jsonl"):
    if line.strip():
        for r in json.loads(line):
            peer.setdefault(r["n"], []).append(r["gflops"])
rounds = max((len(v) for v in matmul.values()), default=0)
matmul = {k: (statistics.median(v), max(v)) for k, v in matmul.items()}
peer = {n: (statistics.median(v), max(v)) for n, v in peer.items()}

def peak_for(threads):
    vals = [v for k, v in peak.items() if f"threads:{threads}" in k]
    return max(vals) if vals else float("nan")

cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
model = next((l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("Model name")), "?")
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
date = subprocess.run(["date", "-u", "+%Y-%m-%d %H:%M UTC"], capture_output=True, text=True).stdout.strip()

print(f"CPU: {model}, {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores; "
      f"date {date}; commit {commit}; load average before {load_before}, after {load_after}")
print()
print("| FMA peak (measured) | 1 thread | 2 threads |")
print("|---|---|---|")
for isa in ("512", "256"):
    one = next((v for k, v in peak.items() if f"isa:{isa}/threads:1" in k), float("nan"))
    two = next((v for k, v in peak.items() if f"isa:{isa}/threads:2" in k), float("nan"))
    print(f"| {'AVX-512' if isa == '512' else 'AVX2'} fp32 | {one:.1f} GFLOP/s | {two:.1f} GFLOP/s |")
print()
print(f"| matmul (float32), median of {rounds} rounds (best) | threads | loom GFLOP/s | PyTorch GFLOP/s | "
      "loom / PyTorch | loom % of measured peak |")
print("|---|---|---|---|---|---|")
for name, (g, g_best) in matmul.items():
    n = int(name.split("n:")[1].split("/")[0])
    threads = int(name.split("threads:")[1].split("/")[0])
    p, p_best = peer.get(n, (None, None)) if threads == 2 else (None, None)
    ratio = f"{g / p:.2f}" if p else "-"
    ptxt = f"{p:.1f} ({p_best:.1f})" if p else "-"
    print(f"| {n} x {n} x {n} | {threads} | {g:.1f} ({g_best:.1f}) | {ptxt} | {ratio} | "
          f"{100 * g / peak_for(threads):.0f}% |")
EOF
