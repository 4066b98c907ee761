#!/usr/bin/env bash
# Set up on a fresh machine, then run the whole pipeline on the embedded stack until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/incidentctl up "$@"
