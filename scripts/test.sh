#!/usr/bin/env bash
# Set up, then run every test tier (unit, integration on a real broker, end-to-end fault scenarios).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! { command -v chromium && command -v chromedriver; } >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  # Headless Chromium checks the console and the HTML incident report.
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
    || echo "warning: could not install chromium; browser checks will be skipped" >&2
fi
if ! command -v prometheus-node-exporter >/dev/null && [ ! -x /usr/bin/prometheus-node-exporter ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  # A real node-exporter feeds the collector in tests/integration/test_collector_exposition.py.
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-node-exporter >/dev/null) \
    || echo "warning: could not install prometheus-node-exporter; its integration test will be skipped" >&2
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check . >/dev/null || { echo "ruff format would change files: run .venv/bin/ruff format ." >&2; exit 1; }
.venv/bin/mypy shared services incidentctl tests/component
exec .venv/bin/python -m pytest "$@"
