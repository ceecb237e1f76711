#!/usr/bin/env bash
# run.sh: the detection experiment of docs/results.md. U-Nets trained on four
# kinds of synthetic defects, and the unsupervised WAE, all evaluated with
# `loom eval` on the same held-out target data:
#   (a) unet-cutpaste   --synth cutpaste,cutpaste-scar
#   (b) unet-draem      --synth draem            (Perlin masks, DRAEM)
#   (c) unet-bezier     --synth bezier-scar,bezier-clump,elastic
#   (d) unet-gan        the multistage GAN's samples (`loom pipeline`, stage 3)
#   (e) wae             WAE-MMD residual, threshold mean + k sigma on good images
# Targets (never seen with a defect by any detector):
#   fabric    procedural fabric of the weaves and colours the pipeline holds out
#             (its target categories; test defects: the 8 rendered fabric defects)
#   textures  real textures from Debian's gimp-data and python3-skimage
#             (prepare_textures.py), test defects from `loom synth --method
#             gradient,poisson`: methods none of (a)-(c) trains on.
# Thresholds: every detector's t is the best-F1 threshold on a seeded half of
# the target's test images (`loom eval --val-share 0.5`); rows report the rest.
# Every detector has the same budget: the U-Nets the same architecture and
# steps, trained on the target's train/good images (their only view of it).
#
# Usage: bench/experiment/run.sh [OUT [PART...]]   (default runs/experiment, every part)
# Settings by environment: SEED (0), STEPS (U-Net and WAE steps, 800),
# IMAGE (64), WIDTH (16), PIPELINE_ARGS (extra `loom pipeline` options).
# Writes OUT/<target>/<detector>/{run,eval}/ and OUT/summary.md (the table of
# docs/results.md); a finished step is skipped when run again.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/runs/experiment}")
SEED=${SEED:-0}
STEPS=${STEPS:-800}
IMAGE=${IMAGE:-64}
WIDTH=${WIDTH:-16}
PIPELINE_ARGS=${PIPELINE_ARGS:-}
LOOM=$ROOT/build/trainers/loom
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

# --- set-up: the texture packages, and loom itself -------------------------
need=()
[ -d /usr/share/gimp/2.0/patterns/Fabric ] || need+=(gimp-data)
/usr/bin/python3 -c "import skimage" 2>/dev/null || need+=(python3-skimage)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get install -y -q "${need[@]}"
fi
if [ ! -x "$LOOM" ]; then
  cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$ROOT/build" --target loom -j"$(nproc)"
fi
mkdir -p "$OUT"
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$OUT/experiment.log"; }
timed() {  # timed NAME CMD...: runs CMD once (skipped when NAME.done exists), records its seconds
  local name=$1; shift
  if [ -f "$OUT/$name.done" ]; then log "$name: done before, skipped"; return; fi
  log "$name: $*"
  local t0=$SECONDS
  "$@" > "$OUT/$name.log" 2>&1 || { log "$name FAILED (see $OUT/$name.log)"; tail -5 "$OUT/$name.log"; exit 1; }
  echo $((SECONDS - t0)) > "$OUT/$name.done"
  log "$name: $((SECONDS - t0)) s"
}

# --- the targets --------------------------------------------------------------
# The procedural target is the one `loom pipeline` writes (its held-out categories).
FABRIC_TARGET=$OUT/fabric/unet-gan/data/target
TEXTURES=$OUT/textures/data
target_data() { if [ "$1" = fabric ]; then echo "$FABRIC_TARGET"; else echo "$TEXTURES"; fi; }

textures_data() {
  local dir name
  [ -f "$OUT/textures_data.done" ] && return
  rm -rf "$TEXTURES" "$OUT/textures/pool"
  /usr/bin/python3 "$ROOT/bench/experiment/prepare_textures.py" --out "$TEXTURES" --pool "$OUT/textures/pool" \
    --size "$IMAGE" --seed "$SEED" --n-train 64 --n-test 16 --n-pool 32 | tee -a "$OUT/experiment.log"
  for dir in "$OUT"/textures/pool/*/; do
    name=$(basename "$dir")
    "$LOOM" synth --method gradient,poisson --in "$dir" --out "$TEXTURES" --category "$name" --n 16 \
      --size "$IMAGE" --seed "$SEED" --no-train-good > /dev/null
  done
  echo 0 > "$OUT/textures_data.done"
}

# Every detector's "at t" columns use a threshold chosen on a seeded half of
# the target's test images (best F1 there); the other half is reported.
EVAL=(--val-share 0.5 --seed "$SEED" --quiet)
evaluate() {  # evaluate TARGET DETECTOR RUN
  timed "${1}_${2}_eval" "$LOOM" eval "$3" --data "$(target_data "$1")" --out "$OUT/$1/$2/eval" "${EVAL[@]}"
}

# (d): stages 1 and 2 on the procedural source, stage 3 on the target; its
# U-Net has the same size, width, depth, batch and steps as (a)-(c).
PIPELINE=(--seed "$SEED" --quiet --image "$IMAGE" --unet-steps "$STEPS" --unet-width "$WIDTH" --unet-depth 4
          --unet-batch 8)
pipeline() {  # pipeline TARGET
  mkdir -p "$OUT/$1"
  if [ "$1" = fabric ]; then
    timed fabric_pipeline "$LOOM" pipeline --run-dir "$OUT/fabric/unet-gan" "${PIPELINE[@]}" $PIPELINE_ARGS
  else
    textures_data
    # Stages 1 and 2 are the fabric pipeline's (same source, seed and settings):
    # copied, they are resumed at their last step, so not trained again.
    if [ ! -d "$OUT/textures/unet-gan" ]; then
      [ -d "$OUT/fabric/unet-gan/stage2_fusion" ] || { log "run fabric_pipeline first"; exit 1; }
      mkdir -p "$OUT/textures/unet-gan"
      cp -r "$OUT/fabric/unet-gan/stage1_cgan" "$OUT/fabric/unet-gan/stage2_fusion" "$OUT/textures/unet-gan/"
    fi
    timed textures_pipeline "$LOOM" pipeline --run-dir "$OUT/textures/unet-gan" "${PIPELINE[@]}" \
      --source "$OUT/fabric/unet-gan/data/source" --target "$TEXTURES" $PIPELINE_ARGS
  fi
  evaluate "$1" unet-gan "$OUT/$1/unet-gan/stage3_unet"
}

# (a), (b), (c), (e)
UNET=(--steps "$STEPS" --image "$IMAGE" --width "$WIDTH" --batch 8 --seed "$SEED" --quiet)
baselines() {  # baselines TARGET
  local target=$1 data dir=$OUT/$1
  [ "$target" = textures ] && textures_data
  data=$(target_data "$target")
  [ -d "$data" ] || { log "no target dataset at $data (run the fabric pipeline first)"; exit 1; }
  timed "${target}_unet-cutpaste" "$LOOM" train unet "${UNET[@]}" --data "$data" --synth cutpaste,cutpaste-scar \
    --run-dir "$dir/unet-cutpaste/run"
  timed "${target}_unet-draem" "$LOOM" train unet "${UNET[@]}" --data "$data" --synth draem \
    --run-dir "$dir/unet-draem/run"
  timed "${target}_unet-bezier" "$LOOM" train unet "${UNET[@]}" --data "$data" \
    --synth bezier-scar,bezier-clump,elastic --run-dir "$dir/unet-bezier/run"
  timed "${target}_wae" "$LOOM" train wae --steps "$STEPS" --image "$IMAGE" --batch 16 --seed "$SEED" --quiet \
    --data "$data" --run-dir "$dir/wae/run"
  for detector in unet-cutpaste unet-draem unet-bezier wae; do
    evaluate "$target" "$detector" "$dir/$detector/run"
  done
}

# Parts, in this order unless named on the command line after OUT.
PARTS=("${@:2}")
[ ${#PARTS[@]} -gt 0 ] || PARTS=(fabric_pipeline fabric_baselines textures_baselines textures_pipeline)
for part in "${PARTS[@]}"; do
  case $part in
    fabric_pipeline) pipeline fabric ;;
    textures_pipeline) pipeline textures ;;
    fabric_baselines) baselines fabric ;;
    textures_baselines) baselines textures ;;
    *) echo "run.sh: unknown part '$part' (fabric_pipeline, fabric_baselines, textures_baselines, textures_pipeline)" >&2; exit 2 ;;
  esac
done

/usr/bin/python3 "$ROOT/bench/experiment/summarize.py" "$OUT" > "$OUT/summary.md"
log "summary: $OUT/summary.md"
cat "$OUT/summary.md"
