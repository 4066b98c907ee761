#!/usr/bin/env bash
# Set up, then run every test tier (unit, integration on a real broker, end-to-end fault scenarios).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/test_tools.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check . >/dev/null || { echo "ruff format would change files: run .venv/bin/ruff format ." >&2; exit 1; }
.venv/bin/mypy shared services incidentctl tests/component
exec .venv/bin/python -m pytest "$@"
