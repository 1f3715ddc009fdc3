#!/usr/bin/env bash
# The measurements a lent GPU session makes, in one command (docs/generators.md#on-a-gpu).
#
# The lent machines have PyTorch but not this project's other dependencies, and reach no
# registry, so everything travels in one ignored folder (default .gpu/), made here first:
#   .gpu/whl/        wheels for Python 3.12: pydantic, pydantic-core, annotated-types,
#                    typing-inspection, typing-extensions, av (pip download, see the device docs)
#   .gpu/real-32/    the demo's real clips as its prepare step made them (OUT/<dataset>/.cache/real-<key>)
#   .gpu/real-64/    the same procedural set prepared at 64x64
#   .gpu/real-surv/  augment-surveillance's real clips
# Then, with the folder carried: bash bench/gpu_session.sh MINUTES
# It runs, all at once on the one GPU (each is small and launch-bound):
#   - bench/generator_quality.py at 32x32 and 64x64: the demo's configuration alone, with the scene
#     critic, and with the scene and matte critics, and the content/motion family with the scene critic,
#     MINUTES of training wall time per arm, bf16, gated by one judge per size;
#   - bench/train_generator.py: augment-surveillance's generator (fp32, as the deployment pins)
#     to 3000 steps, keeping checkpoints at 1000, 1400 (the deployment's) and 3000 for the flow to resume from here.
# Results go to $OUT (or /tmp/gpu-out): results.tar (bench/results files and logs) and the
# surveillance checkpoints.
set -uo pipefail
MINUTES=${1:-4}
CARRY=${CARRY:-.gpu}
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
DEVICE=${DEVICE:-cuda} PRECISION=${PRECISION:-bf16} KEEP=${KEEP:-1000 1400 3000}  # DEVICE=cpu PRECISION=fp32 INSTALL=0: a dry run here
source bench/gpu_env.sh
python3 -c 'import av; print("av", av.__version__)' || exit 1  # generator_quality encodes like the product

W=$(mktemp -d)
limit=$(python3 -c "print(int($MINUTES * 60 * 1.6 + 120))")  # training + evaluations + judge, then stop
ARMS=(vgan16+diffs+mask0.15 vgan16+diffs+mask0.15+scene vgan16+diffs+scene+matte cmgan+diffs+scene)
common=(--device "$DEVICE" --precision "$PRECISION" --minutes "$MINUTES" --evals 4 --chunk 200 --parallel)
timeout "$limit" python3 -m bench.generator_quality --size 32 "${common[@]}" --arms "${ARMS[@]}" \
  --real "$CARRY/real-32" --work "$W/32" --name generator_quality_32_gpu >"$OUT/gq32.log" 2>&1 &
timeout "$limit" python3 -m bench.generator_quality --size 64 "${common[@]}" --arms "${ARMS[@]}" \
  --real "$CARRY/real-64" --work "$W/64" --name generator_quality_64_gpu >"$OUT/gq64.log" 2>&1 &
timeout "$limit" python3 -m bench.train_generator train --deployment augment-surveillance \
  --real "$CARRY/real-surv" --keep $KEEP --device "$DEVICE" --out "$W/surv" >"$OUT/surv.log" 2>&1 &
wait
nvidia-smi >"$OUT/nvidia-smi-after.txt" 2>&1
cp "$W"/32/*.log "$W"/64/*.log "$OUT"/ 2>/dev/null
cp "$W"/surv/training.json "$OUT"/surveillance_training.json 2>/dev/null
cp "$W"/surv/generator-*.pt "$OUT"/ 2>/dev/null
tar -cf "$OUT/results.tar" bench/results/generator_quality_*_gpu* -C "$OUT" $(cd "$OUT" && ls *.log *.csv *.txt *.json 2>/dev/null)
rm -f "$OUT"/*.log "$OUT"/*.csv "$OUT"/*.txt "$OUT"/surveillance_training.json
ls -la "$OUT"
