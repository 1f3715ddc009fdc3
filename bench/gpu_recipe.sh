#!/usr/bin/env bash
# Issue 17's next measurement on a lent GPU, in one command (docs/augmentation-gain.md#the-next-gpu-run):
# the 32-channel generator trained longer than the recorded rounds' 2000 steps, at every k, with the shipped
# recipe and with the judge's confidence as label smoothing.
#
# Carry .gpu/ (an ignored folder), made here first:
#   .gpu/whl/       wheels the device image lacks: pydantic, pydantic-core, annotated-types, typing-inspection
#                   (pip download, see bench/gpu_session.sh)
#   .gpu/real.npz   python -m bench.augmentation_gain_recipe --write-real-npz .gpu/real.npz
# Then: bash bench/gpu_recipe.sh [GENERATOR_STEPS]
# Four processes side by side on the one GPU (each is small and launch-bound), one regime of
# bench/augmentation_gain_recipe.py each, bf16 generators of 32 channels (the recorded rounds') with the demo's
# switches, seeds 0-4, the shipped recipe and the confidence as label smoothing, each with 64 and 256 synthetic
# clips per class: a5, a10, a25, a0 at k = 5, 10, 25 and all. (The demo's own 16-channel generator was measured
# on the CPU: docs/augmentation-gain.md.)
# Each writes its JSON after every seed, so a run stopped at LIMIT seconds keeps the seeds it finished.
# Merge here: python -m bench.augmentation_gain_recipe --merge a5.json a10.json a25.json a0.json --name ...
set -uo pipefail
STEPS=${1:-4000}
LIMIT=${LIMIT:-520}
CARRY=${CARRY:-.gpu}
OUT=${OUT:-/tmp/gpu-out}
DEVICE=${DEVICE:-cuda}
mkdir -p "$OUT"
source bench/gpu_env.sh
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}  # four processes share the 16 cores
W=$(mktemp -d)
SWITCHES='"critic_frame_diffs": true, "mask_l1": 0.15'
run() {  # name k generator-json
  timeout "$LIMIT" python3 -m bench.augmentation_gain_recipe --real-npz "$CARRY/real.npz" --device "$DEVICE" \
    --precision bf16 --generator-steps "$STEPS" --generator "$3" --regimes "$2" --seeds 0 1 2 3 4 \
    --candidates conf_f05 smooth_f05 --synthetic-per-class 64 256 \
    --workdir "$W/$1" --out "$OUT/$1.json" >"$OUT/$1.log" 2>&1 &
}
for k in 5 10 25 0; do run a$k $k "{$SWITCHES}"; done
wait
tail -n 3 "$OUT"/*.log
(cd "$OUT" && tar -cf logs.tar $(ls *.log *.png *.csv 2>/dev/null) && rm -f *.log *.png *.csv)  # 8 files come back at most
ls -la "$OUT"
