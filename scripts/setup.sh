#!/usr/bin/env bash
# Create .venv (or $VGAN_VENV) and install the project into it. Idempotent.
# Where there is no NVIDIA GPU the CPU build of torch is installed first, since an
# unpinned torch would pull a multi-GB CUDA build; GPU users install their own torch.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VGAN_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
if ! python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1; then
    echo "GPU found: install a CUDA build of torch into $VENV first (https://pytorch.org), then re-run." >&2
    exit 1
  fi
  pip install -q "torch==2.13.0"
fi
pip install -q -e ".[test]"
# Data Docs' styles and scripts from the npm registry, at the versions GX's pages name, so the
# validation reports render with no network (pipelines/release/docs_assets.py copies them beside the pages).
ASSETS="$VENV/share/vgan-docs-assets"
PACKAGES="$(python -c 'from pipelines.release.docs_assets import NPM_PACKAGES; print(" ".join(NPM_PACKAGES))')"
if [ "$(cat "$ASSETS/.packages" 2>/dev/null)" != "$PACKAGES" ]; then
  if command -v npm >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    npm install -s --prefix "$ASSETS" --no-audit --no-fund --no-package-lock --legacy-peer-deps --ignore-scripts $PACKAGES
    echo "$PACKAGES" > "$ASSETS/.packages"
  else
    echo "npm not found: Data Docs will load their styles and scripts from CDNs (a blank index offline)" >&2
  fi
fi
