#!/usr/bin/env bash
# Set up, then run the augment-demo deployment on the built-in procedural set.
# Extra arguments go to `vgan run augment-demo`, e.g. --output-root /data/out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. "${VGAN_VENV:-.venv}/bin/activate"
export DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false GX_ANALYTICS_ENABLED=false
time vgan run augment-demo "$@"
