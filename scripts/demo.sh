#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the main job: the end-to-end linkedonnx journey.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/linkedonnx demo "$@"
