#!/usr/bin/env bash
# Set up, then run every test tier (unit, integration on a real broker, end-to-end fault scenarios).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  # Headless Chromium checks the console and the HTML incident report.
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; browser checks will be skipped" >&2
fi
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
