#!/usr/bin/env bash
# device-check.sh: the one script a GPU machine runs. It builds loom with CUDA,
# runs every test (the GPU ones included), compute-sanitizer memcheck on the
# CUDA parity tests, the GPU benchmarks and the PyTorch peer, and ends with a
# short Markdown summary (printed last, and written to OUTDIR/summary.md).
#
#   scripts/device-check.sh [OUTDIR]   default: $OUT if set, else build-gpu/device-check
#   scripts/device-check.sh --fetch-deps
#       (on a Debian machine with network, before going to a GPU machine that has
#        none) downloads the build dependencies as .deb files, and copies the
#        golden cases, into .device-deps/ (git-ignored through .git/info/exclude);
#        carry that folder along and this script uses it there.
#
# Steps, each time-boxed (timeout) and recorded in logs/steps.tsv; a step that
# fails or times out is recorded and the script goes on:
#   env        nvidia-smi -L, driver and CUDA versions, compilers, date, commit;
#              no GPU: says so, writes the summary and stops (exit 3), unless
#              DEVICE_CHECK_ALLOW_NO_GPU=1 (then it builds and runs the tests anyway)
#   deps       unpacks .device-deps/debs/*.deb into BUILD_DIR/deps-root (never into /);
#              lists what is still missing and how to get it (apt-get only if root
#              and the network answers)
#   configure  cmake Release, LOOM_CUDA=ON, LOOM_BUILD_BENCH=ON (Ninja when present;
#              cuDNN from PyTorch's nvidia-cudnn wheel when the toolkit has none)
#   build_cuda the CUDA library, the GPU benchmarks and the loom_test_cuda_* tests first
#   build_all  everything else (keep going past a broken target)
#   ctest      the whole CTest suite, ctest -j (logs/ctest.log), and at the same time
#   sanitizer  compute-sanitizer --tool memcheck on every loom_test_cuda_* (logs/sanitizer_*.log),
#              SANITIZER_FILTER (a --gtest_filter, default '*') for a quick subset
#   bench_*    bench_cuda_bandwidth, bench_cuda_gemm, bench_cuda_conv -> OUTDIR/bench_cuda_*.json
#              (the train-step files stay in logs/: only 8 files come back from $OUT)
#   peer       bench/peer_cuda.py (PyTorch on the same shapes) -> OUTDIR/peer_cuda.json
#   train_steps bench_train_steps --device=cuda: one training step of each of the five
#              models at full batch, TRAIN_REPS timed steps, one process per model (a
#              model cut off by the box, or one whose fault breaks its CUDA context,
#              costs only itself) -> logs/train_steps_loom_<model>.json
#   peer_train bench/peer_train_steps.py --device cuda --tf32 (the same models in PyTorch,
#              TF32 off, then on) -> logs/train_steps_torch.json (rewritten after each model)
#   summary    scripts/summarize_device_check.py -> OUTDIR/summary.md (short) and tables.md (every row)
# At the end the logs are packed into OUTDIR/logs.tar.gz (and the loose logs
# removed when OUTDIR is $OUT, whose files come back only up to 8).
#
# Environment: BUILD_DIR (default build-gpu); DEVICE_CHECK_BUDGET_S (the whole
# script, default 560 s, so that it ends inside a 10-minute call); BENCH_SAMPLES
# (default 10); BENCH_MAX_S (seconds of samples per benchmark, default 0.3);
# BENCH_FILTER_BANDWIDTH / _GEMM / _CONV (a --benchmark_filter each);
# SANITIZER_FILTER; SANITIZER_EACH_S (seconds per test program, default 65);
# TRAIN_REPS (timed steps per model and side in train_steps / peer_train, default 3);
# CTEST_ARGS (more ctest arguments, e.g. -R for a subset); LOOM_COMMIT (the
# commit, when the copy has no .git); DEVICE_CHECK_ALLOW_NO_GPU=1; SKIP_BUILD=1
# (use BUILD_DIR as it is); LOOM_GOLDEN_DIR (else .device-deps/golden if carried).
set -uo pipefail

CALLER_DIR="$PWD"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DEPS_PACKAGES=(libgtest-dev libbenchmark-dev libbenchmark1debian nlohmann-json3-dev libcli11-dev libstb-dev)

if [[ "${1:-}" == "--fetch-deps" ]]; then
  dest="$ROOT/.device-deps"
  mkdir -p "$dest/debs"
  (cd "$dest/debs" && apt-get download "${DEPS_PACKAGES[@]}") || { echo "device-check: apt-get download failed" >&2; exit 1; }
  if [[ -d "$ROOT/../shared/golden" ]]; then
    rm -rf "$dest/golden" && cp -r "$ROOT/../shared/golden" "$dest/golden"
  fi
  mkdir -p "$ROOT/.git/info" 2>/dev/null
  if [[ -d "$ROOT/.git" ]] && ! grep -qx '/.device-deps/' "$ROOT/.git/info/exclude" 2>/dev/null; then
    echo '/.device-deps/' >>"$ROOT/.git/info/exclude"
  fi
  du -sh "$dest"
  echo "device-check: dependencies in .device-deps/ (carry it: carry [\".device-deps\"])"
  exit 0
fi

OUTDIR="${1:-${OUT:-build-gpu/device-check}}"
[[ -n "${1:-}" && "$OUTDIR" != /* ]] && OUTDIR="$CALLER_DIR/$OUTDIR"  # an argument is relative to the caller
BUILD_DIR="${BUILD_DIR:-build-gpu}"
BUDGET_S="${DEVICE_CHECK_BUDGET_S:-560}"
BENCH_SAMPLES="${BENCH_SAMPLES:-10}"
BENCH_MAX_S="${BENCH_MAX_S:-0.3}"
TRAIN_REPS="${TRAIN_REPS:-3}"
SANITIZER_FILTER="${SANITIZER_FILTER:-*}"
JOBS="$(nproc 2>/dev/null || echo 4)"
mkdir -p "$OUTDIR" "$BUILD_DIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
BUILD_DIR="$(cd "$BUILD_DIR" && pwd)"
LOGS="$OUTDIR/logs"
mkdir -p "$LOGS"
STEPS="$LOGS/steps.tsv"
printf 'step\tstatus\tseconds\tnote\n' >"$STEPS"
START=$(date +%s)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"

remaining() { echo $((BUDGET_S - ($(date +%s) - START))); }

# record NAME STATUS SECONDS NOTE
record() {
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$STEPS"
  echo "== device-check: $1: $2 (${3}s)${4:+ - $4}"
}

# step NAME BOX_S RESERVE_S COMMAND: runs the bash COMMAND for at most BOX_S
# seconds, and never into the last RESERVE_S seconds of the budget (kept for
# the steps after it); output to logs/NAME.log. Returns the command's status.
step() {
  local name=$1 box=$2 reserve=$3 cmd=$4
  local left=$(($(remaining) - reserve))
  ((box > left)) && box=$left
  if ((box < 5)); then
    record "$name" skipped 0 "no time left in the ${BUDGET_S}s budget"
    return 99
  fi
  local t0 rc status note=""
  t0=$(date +%s)
  timeout -k 10 "$box" bash -c "$cmd" >"$LOGS/$name.log" 2>&1
  rc=$?
  case $rc in
    0) status=ok ;;
    124 | 137) status=timeout; note="stopped after ${box}s" ;;
    *) status=failed
       note="exit code $rc: $(grep -v '^\s*$' "$LOGS/$name.log" | tail -n 1 | tr '|\t' '/ ' | cut -c1-160)" ;;
  esac
  record "$name" "$status" $(($(date +%s) - t0)) "$note"
  return $rc
}

summarize() {
  python3 "$ROOT/scripts/summarize_device_check.py" "$OUTDIR" >"$LOGS/summary.log" 2>&1 ||
    echo "device-check: the summary failed: $(tail -n 5 "$LOGS/summary.log")"
}

finish() {
  local code=$1
  summarize
  tar -czf "$OUTDIR/logs.tar.gz" -C "$OUTDIR" logs 2>/dev/null
  if [[ -n "${OUT:-}" && "$OUTDIR" == "$(cd "$OUT" 2>/dev/null && pwd)" ]]; then
    rm -rf "$LOGS"  # only 8 files come back from $OUT: the logs travel packed
  fi
  echo
  [[ -f "$OUTDIR/summary.md" ]] && cat "$OUTDIR/summary.md"
  exit "$code"
}

# ---- env ----
ENV_TXT="$LOGS/env.txt"
{
  echo "date_utc: $(date -u '+%Y-%m-%d %H:%M UTC')"
  commit="${LOOM_COMMIT:-}"
  if [[ -z "$commit" ]]; then commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || true)"; fi
  if [[ -n "$commit" ]] && [[ -z "${LOOM_COMMIT:-}" ]] && [[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    commit="$commit (with uncommitted changes)"
  fi
  echo "commit: ${commit:-unknown (no .git here; pass LOOM_COMMIT=...)}"
  echo "host: $(hostname 2>/dev/null) $(uname -srm)"
  echo "cpus: $JOBS"
} >"$ENV_TXT"

GPU_LIST=""
if command -v nvidia-smi >/dev/null 2>&1; then
  GPU_LIST="$(timeout 30 nvidia-smi -L 2>&1 | grep -E '^GPU [0-9]+:' || true)"
  {
    echo "nvidia_smi_L:"
    timeout 30 nvidia-smi -L 2>&1 | sed 's/^/  /'
    echo "gpu_query: $(timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1 | head -n 1)"
    echo "driver_cuda: $(timeout 30 nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | head -n 1)"
  } >>"$ENV_TXT"
else
  echo "nvidia_smi_L: nvidia-smi not found" >>"$ENV_TXT"
fi
NVCC="$(command -v nvcc || { [[ -x /usr/local/cuda/bin/nvcc ]] && echo /usr/local/cuda/bin/nvcc; } || true)"
{
  echo "nvcc: ${NVCC:-not found} $([[ -n "$NVCC" ]] && "$NVCC" --version | grep -o 'release [0-9.]*, V[0-9.]*')"
  echo "cxx: $(c++ --version 2>/dev/null | head -n 1 || echo 'not found')"
  echo "cmake: $(cmake --version 2>/dev/null | head -n 1 || echo 'not found')"
  echo "ninja: $(ninja --version 2>/dev/null || echo 'not found')"
  echo "compute_sanitizer: $(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || echo 'not found')"
  echo "python3: $(python3 -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo 'not found')"
  echo "torch: $(timeout 60 python3 -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>/dev/null || echo 'not importable')"
} >>"$ENV_TXT"
cat "$ENV_TXT"
record env ok $(($(date +%s) - START)) ""

if [[ -z "$GPU_LIST" ]]; then
  echo "device-check: no GPU on this machine ($(command -v nvidia-smi >/dev/null && echo 'nvidia-smi -L lists none' || echo 'nvidia-smi not found'))"
  if [[ "${DEVICE_CHECK_ALLOW_NO_GPU:-0}" != "1" ]]; then
    echo "no_gpu: yes" >>"$ENV_TXT"
    record gpu failed 0 "no GPU: nothing to check (DEVICE_CHECK_ALLOW_NO_GPU=1 builds and runs the CPU tests anyway)"
    finish 3
  fi
  echo "no_gpu: yes" >>"$ENV_TXT"
  record gpu failed 0 "no GPU; going on (DEVICE_CHECK_ALLOW_NO_GPU=1): GPU tests skip, no benchmarks"
fi

# ---- deps ----
DEPS_ROOT="$BUILD_DIR/deps-root"
CMAKE_EXTRA=()
deps_step() {
  local missing=() t0
  t0=$(date +%s)
  if compgen -G "$ROOT/.device-deps/debs/*.deb" >/dev/null; then
    mkdir -p "$DEPS_ROOT"
    for deb in "$ROOT"/.device-deps/debs/*.deb; do dpkg-deb -x "$deb" "$DEPS_ROOT" || echo "device-check: could not unpack $deb"; done
    echo "device-check: unpacked $(ls "$ROOT"/.device-deps/debs/*.deb | wc -l) packages from .device-deps into $DEPS_ROOT"
  fi
  if [[ -d "$ROOT/.device-deps/golden" && -z "${LOOM_GOLDEN_DIR:-}" ]]; then export LOOM_GOLDEN_DIR="$ROOT/.device-deps/golden"; fi
  have_header() { [[ -f "/usr/include/$1" || -f "/usr/local/include/$1" || -f "$DEPS_ROOT/usr/include/$1" ]]; }
  command -v cmake >/dev/null || missing+=("cmake (pip install cmake, or apt-get install cmake)")
  command -v c++ >/dev/null || missing+=("a C++ compiler (apt-get install g++)")
  [[ -n "$NVCC" ]] || missing+=("nvcc (the CUDA toolkit)")
  have_header gtest/gtest.h || missing+=("GoogleTest (apt-get install libgtest-dev)")
  have_header benchmark/benchmark.h || missing+=("Google Benchmark (apt-get install libbenchmark-dev)")
  have_header nlohmann/json.hpp || missing+=("nlohmann-json (apt-get install nlohmann-json3-dev)")
  have_header CLI/CLI.hpp || missing+=("CLI11 (apt-get install libcli11-dev)")
  have_header stb/stb_image.h || missing+=("stb (apt-get install libstb-dev)")
  if ((${#missing[@]})); then
    echo "device-check: missing: ${missing[*]}"
    echo "device-check: on a machine with network and apt, 'scripts/device-check.sh --fetch-deps' puts the"
    echo "              Debian packages into .device-deps/; carry that folder to the GPU machine."
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null && timeout 10 apt-get update -qq >/dev/null 2>&1; then
      echo "device-check: root and apt-get reaches its mirrors: installing"
      DEBIAN_FRONTEND=noninteractive timeout 120 apt-get install -y -qq --no-install-recommends \
        cmake g++ "${DEPS_PACKAGES[@]}" || echo "device-check: apt-get install failed"
    else
      echo "device-check: not root or no network: nothing installed"
    fi
  fi
  record deps "$( ((${#missing[@]})) && echo missing || echo ok)" $(($(date +%s) - t0)) "${missing[*]:-}"
}
deps_step | tee "$LOGS/deps.log"
if [[ -d "$ROOT/.device-deps/golden" && -z "${LOOM_GOLDEN_DIR:-}" ]]; then export LOOM_GOLDEN_DIR="$ROOT/.device-deps/golden"; fi
if [[ -d "$DEPS_ROOT/usr" ]]; then
  CMAKE_EXTRA+=("-DCMAKE_PREFIX_PATH=$DEPS_ROOT/usr;$DEPS_ROOT/usr/lib/x86_64-linux-gnu/cmake;$DEPS_ROOT/usr/share/cmake")
  # loom_data names /usr/include/stb; the unpacked stb lives under the prefix.
  CMAKE_EXTRA+=("-DCMAKE_CXX_FLAGS=-isystem $DEPS_ROOT/usr/include/stb")
  export LD_LIBRARY_PATH="$DEPS_ROOT/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# cuDNN: the toolkit's, else the one PyTorch's wheels bring (nvidia-cudnn-cu13).
if ! ls /usr/local/cuda/lib64/libcudnn.so* /usr/lib/x86_64-linux-gnu/libcudnn.so* >/dev/null 2>&1; then
  CUDNN_DIR="$(timeout 60 python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' 2>/dev/null || true)"
  CUDNN_LIB="$(ls "$CUDNN_DIR"/lib/libcudnn.so* 2>/dev/null | head -n 1)"
  if [[ -n "$CUDNN_LIB" && -f "$CUDNN_DIR/include/cudnn.h" ]]; then
    CMAKE_EXTRA+=("-DLOOM_CUDNN_LIBRARY=$CUDNN_LIB" "-DLOOM_CUDNN_INCLUDE=$CUDNN_DIR/include")
    export LD_LIBRARY_PATH="$CUDNN_DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "device-check: cuDNN from $CUDNN_DIR" | tee -a "$LOGS/deps.log"
  fi
fi
[[ -n "$NVCC" ]] && export PATH="$(dirname "$NVCC"):$PATH"

# ---- configure and build ----
CUDA_TESTS=()
for src in "$ROOT"/tests/cuda/test_*.cpp; do
  [[ -f "$src" ]] && { stem="$(basename "$src" .cpp)"; CUDA_TESTS+=("loom_test_cuda_${stem#test_}"); }
done
if [[ "${SKIP_BUILD:-0}" != "1" ]]; then
  GEN=()
  if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]] && command -v ninja >/dev/null; then GEN=(-G Ninja); fi
  CONFIGURE_CMD="cmake -S '$ROOT' -B '$BUILD_DIR' ${GEN[*]} -DCMAKE_BUILD_TYPE=Release -DLOOM_CUDA=ON \
    -DLOOM_BUILD_BENCH=ON -DLOOM_BUILD_TESTS=ON"
  for a in "${CMAKE_EXTRA[@]}"; do CONFIGURE_CMD+=" '$a'"; done
  step configure 120 420 "$CONFIGURE_CMD"
  KEEP_GOING="-k"
  grep -q 'CMAKE_GENERATOR:INTERNAL=Ninja' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null && KEEP_GOING="-k 0"
  # Only targets that exist (no benchmarks without Google Benchmark, say): one
  # unknown name would stop the whole invocation.
  KNOWN_TARGETS="$(cmake --build "$BUILD_DIR" --target help 2>/dev/null; ninja -C "$BUILD_DIR" -t targets all 2>/dev/null)"
  FIRST_TARGETS=()
  for t in loom_cuda bench_cuda_bandwidth bench_cuda_gemm bench_cuda_conv bench_train_steps "${CUDA_TESTS[@]}"; do
    grep -qw -- "$t" <<<"$KNOWN_TARGETS" && FIRST_TARGETS+=("$t")
  done
  step build_cuda 300 280 "cmake --build '$BUILD_DIR' -j $JOBS --target ${FIRST_TARGETS[*]:-all} -- $KEEP_GOING"
  step build_all 240 260 "cmake --build '$BUILD_DIR' -j $JOBS -- $KEEP_GOING"
else
  record configure skipped 0 "SKIP_BUILD=1"
fi

# ---- what the build sees: CUDA, the GPU, kernel versions, vendor backends ----
if [[ -x "$BUILD_DIR/trainers/loom" ]]; then
  timeout 30 "$BUILD_DIR/trainers/loom" info >"$LOGS/loom_info.txt" 2>&1 || true
  sed 's/^/  /' "$LOGS/loom_info.txt"
fi

# ---- tests ----
CTEST_CMD="ctest --test-dir '$BUILD_DIR' -j $JOBS --timeout 120 --output-on-failure ${CTEST_ARGS:-}"

SANITIZER="$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)"
# sanitize_one PROGRAM: memcheck of one CUDA test program -> logs/sanitizer_<program>.log
sanitize_one() {
  local exe
  exe="$(find "$BUILD_DIR" -name "$1" -type f -perm -u+x 2>/dev/null | head -n 1)"
  if [[ -z "$exe" ]]; then echo "$1: not built" | tee "$LOGS/sanitizer_$1.log"; return 0; fi
  timeout -k 5 "$SANITIZER_EACH_S" "$SANITIZER" --tool memcheck --error-exitcode 1 --log-file "$LOGS/sanitizer_$1.log" \
    "$exe" --gtest_filter="$SANITIZER_FILTER" >"$LOGS/sanitizer_$1.out" 2>&1
  echo "$1: exit $?"
}
export -f sanitize_one
SANITIZER_EACH_S="${SANITIZER_EACH_S:-65}"  # per program: 4 at a time, two rounds inside the step's box
export SANITIZER SANITIZER_FILTER SANITIZER_EACH_S BUILD_DIR LOGS
if [[ -z "$GPU_LIST" ]]; then
  record sanitizer skipped 0 "no GPU"
elif [[ -z "$SANITIZER" ]]; then
  record sanitizer skipped 0 "compute-sanitizer not found"
else
  # One memcheck per CUDA test program, 4 programs at a time.
  # (in the background, beside CTest: both only check correctness, so sharing the GPU costs nothing)
  step sanitizer 150 200 "printf '%s\\n' ${CUDA_TESTS[*]} | xargs -P 4 -I{} bash -c 'sanitize_one {}'" &
fi
step ctest 150 200 "$CTEST_CMD"
wait

# ---- benchmarks ----
BENCH_DIR="$(dirname "$(find "$BUILD_DIR" -name bench_cuda_gemm -type f 2>/dev/null | head -n 1)" 2>/dev/null)"
[[ -z "$BENCH_DIR" || "$BENCH_DIR" == "." ]] && BENCH_DIR="$BUILD_DIR/bench"
run_bench() {  # run_bench NAME BOX RESERVE FILTER
  local name=$1 box=$2 reserve=$3 filter=$4
  if [[ -z "$GPU_LIST" ]]; then record "$name" skipped 0 "no GPU"; return; fi
  if [[ ! -x "$BENCH_DIR/$name" ]]; then record "$name" skipped 0 "not built"; return; fi
  step "$name" "$box" "$reserve" "'$BENCH_DIR/$name' --benchmark_format=json --samples=$BENCH_SAMPLES \
    --max_bench_s=$BENCH_MAX_S ${filter:+--benchmark_filter='$filter'} > '$OUTDIR/$name.json'"
}
# Reserves: each step leaves the later ones at least bandwidth 50 s, gemm 40, conv 35,
# peer 20, train_steps 25, peer_train 20, and 10 s for the summary.
run_bench bench_cuda_bandwidth 60 150 "${BENCH_FILTER_BANDWIDTH:-}"
run_bench bench_cuda_gemm 120 110 "${BENCH_FILTER_GEMM:-}"
run_bench bench_cuda_conv 100 75 "${BENCH_FILTER_CONV:-}"

if [[ -z "$GPU_LIST" ]]; then
  record peer skipped 0 "no GPU"
else
  step peer 60 55 "PYTHONUNBUFFERED=1 python3 '$ROOT/bench/peer_cuda.py' --bench-dir '$BENCH_DIR' \
    --samples $BENCH_SAMPLES --out '$OUTDIR/peer_cuda.json'"
fi

# ---- one training step of each model: loom CUDA, then PyTorch CUDA ----
if [[ -z "$GPU_LIST" ]]; then
  record train_steps skipped 0 "no GPU"
  record peer_train skipped 0 "no GPU"
else
  if [[ ! -x "$BENCH_DIR/bench_train_steps" ]]; then
    record train_steps skipped 0 "not built"
  else
    # One process per model, so a cut-off or broken model costs only itself; the
    # step fails when any model's process does (its log says which).
    step train_steps 45 30 "rc=0; for m in dcgan cgan_gram fusion wae unet; do echo \"== \$m\"; \
      '$BENCH_DIR/bench_train_steps' --device=cuda --models=\$m --reps=$TRAIN_REPS --benchmark_format=json \
      > '$LOGS/train_steps_loom_'\$m.json || { echo \"\$m: exit \$?\"; rc=1; }; done; exit \$rc"
  fi
  step peer_train 30 10 "PYTHONUNBUFFERED=1 python3 '$ROOT/bench/peer_train_steps.py' --device cuda --tf32 \
    --reps $TRAIN_REPS --json '$LOGS/train_steps_torch.json'"
fi

finish 0
