#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the whole test suite: ruff, then pytest on 2 workers
# (--dist loadgroup keeps each xdist_group, e.g. the shared journey run, on one worker).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -n 2 --dist loadgroup -q "$@"
