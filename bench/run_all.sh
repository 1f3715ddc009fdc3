#!/usr/bin/env bash
# Every benchmark, one after another; each prints its table and writes bench/results/<name>.json.
# About 25 minutes on 2 CPU cores (generation_memory, with 100,000 clips, takes 11). Run from anywhere: bash bench/run_all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ]; then . .venv/bin/activate; fi

python -m bench.encode_throughput
python -m bench.generator_throughput
python -m bench.generation_throughput
python -m bench.profile_generation        # says so and skips when py-spy is not installed
python -m bench.generation_memory
python -m bench.generation_dask
python -m bench.ingest_throughput
