#!/usr/bin/env bash
# Create .venv (if needed) and install linkedonnx with its test tools and OpenVINO.
# Tests and CI pin the torch 2.13.0 CPU wheel; the package itself declares a range.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.linkedonnx-setup
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[test,openvino]"
  touch "$stamp"
fi
