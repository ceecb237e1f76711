#!/usr/bin/env bash
# run_train_bench.sh: one training step of each of loom's five models on the
# CPU (bench/bench_train_steps.cpp, sizes in bench/train_steps.h) beside
# PyTorch's time for the same model, sizes, losses and optimizers on the same
# machine (bench/peer_train_steps.py), with the machine's measured fp32 FMA
# peak (bench_fma_peak), and writes the Markdown table to
# bench/results/cpu_train_steps.md.
#
#   bench/run_train_bench.sh                 # full sizes, 5 timed steps per model and side
#   bench/run_train_bench.sh --quick         # batch 8 / 2, 3 steps: checks the script works;
#                                            # writes build-bench/cpu_train_steps_quick.md instead
#   BUILD_DIR=build-x ROUNDS=3 MODELS=dcgan,wae bench/run_train_bench.sh --out /tmp/t.md
#
# Steps: scripts/setup.sh --bench (PyTorch and threaded OpenBLAS, via apt-get
# when missing), configure and build bench_train_steps and bench_fma_peak
# (Release, -march=native, OpenMP, no CUDA), run the FMA peak, then ROUNDS
# rounds (default 1) that alternate loom and PyTorch, so that a burst of load
# from other processes hits both sides alike. Each side's figure per round is
# the median of single timed steps after 2 warm-up steps; over several rounds
# the script reports the median of the round medians. The load average is
# recorded before and after: on a 2-core machine any other process slows both
# sides. OMP_WAIT_POLICY and OMP_NUM_THREADS are passed through to both sides
# (both use libgomp) and recorded.
#
# CUDA=1: configures with LOOM_CUDA=ON (use a BUILD_DIR of that kind);
# bench_train_steps then also times train_step/<model>/cuda when a GPU is
# present, the peer also runs with --device cuda (TF32 off), and the table gets
# "loom CUDA ms/step" and "PyTorch CUDA ms/step" columns. (scripts/device-check.sh
# runs the CUDA pair on a GPU machine by itself; see its train_steps step.)
# Without CUDA=1 loom runs --device=cpu only, whatever the build has.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build-bench}"
ROUNDS="${ROUNDS:-1}"
PY="${PYTHON:-/usr/bin/python3}"  # Debian's python, where python3-torch is
CUDA="${CUDA:-0}"
MODELS="${MODELS:-}"  # e.g. MODELS=dcgan,wae: a subset (both sides)
QUICK=""
RESULT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK="--quick" ;;
    --out) RESULT="$2"; shift ;;
    *) echo "run_train_bench.sh: unknown argument '$1' (--quick, --out FILE)" >&2; exit 2 ;;
  esac
  shift
done
if [[ -z "$RESULT" ]]; then
  if [[ -n "$QUICK" ]]; then RESULT="$BUILD_DIR/cpu_train_steps_quick.md"; else RESULT="bench/results/cpu_train_steps.md"; fi
fi

echo "== setup (scripts/setup.sh --bench)" >&2
scripts/setup.sh --bench >&2

echo "== build ($BUILD_DIR)" >&2
CUDA_FLAG="-DLOOM_CUDA=OFF"
[[ "$CUDA" == "1" ]] && CUDA_FLAG="-DLOOM_CUDA=ON"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "$CUDA_FLAG" -DLOOM_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" -j2 --target bench_train_steps bench_fma_peak >/dev/null

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "== load average before: $LOAD_BEFORE" >&2
echo "== bench_fma_peak (2 threads)" >&2
"$BUILD_DIR/bench/bench_fma_peak" --benchmark_filter='threads:2' --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true --benchmark_format=json 2>/dev/null >"$OUT/peak.json"
: >"$OUT/loom.jsonl"
: >"$OUT/torch.jsonl"
: >"$OUT/torch_cuda.jsonl"
LOOM_DEVICE="--device=cpu"
[[ "$CUDA" == "1" ]] && LOOM_DEVICE="--device=auto"
for ((i = 1; i <= ROUNDS; ++i)); do
  echo "== round $i/$ROUNDS: bench_train_steps $QUICK" >&2
  "$BUILD_DIR/bench/bench_train_steps" $QUICK $LOOM_DEVICE ${MODELS:+--models=$MODELS} --benchmark_format=json 2>/dev/null |
    python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["benchmarks"]))' >>"$OUT/loom.jsonl"
  echo "== round $i/$ROUNDS: peer_train_steps.py $QUICK" >&2
  "$PY" bench/peer_train_steps.py $QUICK ${MODELS:+--models=$MODELS} --json "$OUT/torch_round.json" >&2
  python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$OUT/torch_round.json" >>"$OUT/torch.jsonl"
  if [[ "$CUDA" == "1" ]]; then
    echo "== round $i/$ROUNDS: peer_train_steps.py --device cuda $QUICK" >&2
    "$PY" bench/peer_train_steps.py $QUICK --device cuda ${MODELS:+--models=$MODELS} --json "$OUT/torch_cuda_round.json" >&2
    python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$OUT/torch_cuda_round.json" >>"$OUT/torch_cuda.jsonl"
  fi
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

mkdir -p "$(dirname "$RESULT")"
python3 - "$OUT" "$LOAD_BEFORE" "$LOAD_AFTER" "$ROUNDS" "${QUICK:-full}" "$PY" >"$RESULT" <<'PYEOF'
import json, os, statistics, subprocess, sys
out, load_before, load_after, rounds, mode, py = sys.argv[1:7]

def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()

MS = {"ms": 1, "us": 1e-3, "ns": 1e-6, "s": 1e3}
peak = max((b["GFLOP/s"] for b in json.load(open(f"{out}/peak.json"))["benchmarks"]
            if b.get("aggregate_name") == "median"), default=float("nan"))
loom = {}  # (model, device) -> [round medians in ms], and counters
for line in open(f"{out}/loom.jsonl"):
    for b in json.loads(line):
        if b.get("aggregate_name") != "median":
            continue
        _, model, device = b["run_name"].split("/")[:3]
        r = loom.setdefault((model, device), {"ms": [], "params": b["params"], "batch": int(b["batch"]),
                                              "steps": b.get("repetitions", "?")})
        r["ms"].append(b["real_time"] * MS[b["time_unit"]])
torch, torch_version, torch_reps = {}, "?", "?"
for line in open(f"{out}/torch.jsonl"):
    d = json.loads(line)
    torch_version, torch_reps = d["torch"], d["reps"]
    for r in d["results"]:
        t = torch.setdefault(r["model"], {"ms": [], **{k: r[k] for k in ("size", "batch", "params", "gflop")}})
        t["ms"].append(r["ms"])
torch_cuda = {}  # model -> [round medians in ms] of the peer on the GPU (TF32 off)
for line in open(f"{out}/torch_cuda.jsonl"):
    for r in json.loads(line).get("results", []):
        torch_cuda.setdefault(r["model"], []).append(r["ms"])
has_cuda = any(dev == "cuda" for _, dev in loom) or bool(torch_cuda)

cpu = sh("lscpu | sed -n 's/^Model name: *//p'")
commit = sh("git rev-parse --short HEAD") + (" (with uncommitted changes)" if sh("git status --porcelain -- bench models nn autograd kernels tensor") else "")
quick = mode == "--quick"
print("# One training step of each model on the CPU: loom vs PyTorch" + (" (QUICK MODE: a check, not a measurement)" if quick else ""))
print()
if float(load_before.split()[0]) > 0.5:
    print(f"> **Measured under load**: the 1-minute load average was {load_before.split()[0]} on {os.cpu_count()} cores before "
          "the run, so other processes shared the cores and every figure here (the FMA peak included) is lower than the "
          "machine's; rerun on a quiet machine before quoting them.")
    print()
print("## Reproduce\n\n```\nbench/run_train_bench.sh" + (" --quick" if quick else "") + "\n```\n")
print("`bench_train_steps` (bench/bench_train_steps.cpp, bench/train_steps.h) builds each model from models/ and runs "
      "one training step as the trainers do: forward, backward and the optimizer step(s) "
      "(GANs: D step, then G step through the updated D; Adam). `bench/peer_train_steps.py` is the same model, sizes, "
      "losses and optimizers in PyTorch (trainable parameter counts are checked equal below). Both sides: float32, "
      "2 threads (loom OpenMP, `torch.set_num_threads(2)`), fixed random inputs, 2 warm-up steps, then the median wall "
      f"time of single steps ({torch_reps} per model and side)" + (f", median over {rounds} alternating rounds" if int(rounds) > 1 else "") + ".")
print("GFLOP/step counts convolution and linear layers only, by formula (2 flops per multiply-add; forward, plus the "
      "weight gradient and the input gradient where they are computed; counted with forward hooks in the peer), so "
      "GFLOP/s is a lower bound of the arithmetic rate; % of peak is against the fp32 FMA peak `bench_fma_peak` measured "
      "in the same run on 2 threads.")
print()
print("## Machine\n")
print(f"- CPU: {cpu}, {os.cpu_count()} cores; measured fp32 FMA peak {peak:.1f} GFLOP/s (2 threads)")
print(f"- {sh('g++ --version | head -1')}, `-O3 -march=native -fopenmp`; PyTorch {torch_version} (`{py}`)")
date = sh("date -u '+%Y-%m-%d %H:%M UTC'")
print(f"- {date}, commit {commit}")
print(f"- load average before {load_before}, after {load_after}; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}, "
      f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
print()
print("## Results\n")
head = "| model | size | batch | loom ms/step | PyTorch ms/step | PyTorch time / loom time | loom images/s | GFLOP/step | loom GFLOP/s | % of peak | PyTorch GFLOP/s |"
if has_cuda:
    head += " loom CUDA ms/step | PyTorch CUDA ms/step |"
print(head)
print("|" + "---|" * 3 + "---:|" * (head.count("|") - 4))
mismatch = []
for model, t in torch.items():
    l = loom.get((model, "cpu"))
    if l is None:
        continue
    a, b = statistics.median(l["ms"]), statistics.median(t["ms"])
    if int(l["params"]) != t["params"] or l["batch"] != t["batch"]:
        mismatch.append(f"{model}: loom {int(l['params'])} parameters, batch {l['batch']}; PyTorch {t['params']}, batch {t['batch']}")
    row = (f"| {model} | {t['size']} | {t['batch']} | {a:.0f} | {b:.0f} | {b / a:.2f}x | {t['batch'] / a * 1e3:.1f} | "
           f"{t['gflop']:.1f} | {t['gflop'] / a * 1e3:.1f} | {100 * t['gflop'] / a * 1e3 / peak:.0f}% | {t['gflop'] / b * 1e3:.1f} |")
    if has_cuda:
        c = loom.get((model, "cuda"))
        row += f" {statistics.median(c['ms']):.1f} |" if c else " |"
        tc = torch_cuda.get(model)
        row += f" {statistics.median(tc):.1f} |" if tc else " |"
    print(row)
print()
print("Parameter counts: " + ("loom and PyTorch agree for every model." if not mismatch else "MISMATCH: " + "; ".join(mismatch)))
PYEOF
cat "$RESULT"
echo "== wrote $RESULT" >&2
