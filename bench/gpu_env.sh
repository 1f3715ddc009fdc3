# Sourced by the lent-GPU scripts (bench/gpu_session.sh, bench/gpu_recipe.sh): installs the carried wheels
# ($CARRY/whl: the project's dependencies that the device image lacks), puts them and the project on the path,
# and records the device. INSTALL=0 skips the install (a dry run on a machine with the project installed).
if [ "${INSTALL:-1}" = 1 ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    "$CARRY"/whl/*.whl || exit 1
fi
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$OUT/nvidia-smi.csv" 2>&1
python3 -c 'import torch, pydantic; print("torch", torch.__version__, "pydantic", pydantic.__version__)'
