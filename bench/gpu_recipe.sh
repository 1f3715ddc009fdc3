#!/usr/bin/env bash
# Issue 17's measurement on a lent GPU, in one command (docs/augmentation-gain.md#longer-trained-generators-on-a-gpu):
# does a generator trained longer than the recorded rounds' 2000 steps lift the gain at k = 5?
#
# Carry .gpu/ (an ignored folder), made here first:
#   .gpu/whl/       wheels the device image lacks: pydantic, pydantic-core, annotated-types, typing-inspection
#                   (pip download, see bench/gpu_session.sh)
#   .gpu/real.npz   python -m bench.augmentation_gain_recipe --write-real-npz .gpu/real.npz
# Then: bash bench/gpu_recipe.sh [GENERATOR_STEPS]
# Four processes side by side on the one GPU (each is small and launch-bound), one regime of
# bench/augmentation_gain_recipe.py each, bf16 generators, seeds 0-4, the unweighted mix and the shipped
# recipe with 64 synthetic clips per class and the shipped recipe with 256:
#   a5, a10, a25: k = 5, 10, 25 with the 32-channel generator of the recorded rounds plus the demo's switches;
#   b5: k = 5 with the demo's own 16-channel generator.
# Each writes its JSON after every seed, so a run stopped at LIMIT seconds keeps the seeds it finished.
# Merge here: python -m bench.augmentation_gain_recipe --merge a5.json a10.json a25.json --name ...
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
    --candidates plain conf_f05 --synthetic-per-class 64 256 --skip "plain x256" \
    --workdir "$W/$1" --out "$OUT/$1.json" >"$OUT/$1.log" 2>&1 &
}
run a5 5 "{$SWITCHES}"
run a10 10 "{$SWITCHES}"
run a25 25 "{$SWITCHES}"
run b5 5 "{\"model\": {\"channels\": 16}, $SWITCHES}"
wait
tail -n 3 "$OUT"/*.log
tar -cf "$OUT/logs.tar" -C "$OUT" a5.log a10.log a25.log b5.log nvidia-smi.csv && rm -f "$OUT"/*.log "$OUT"/*.csv  # 8 files come back at most
ls -la "$OUT"
