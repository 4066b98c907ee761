#!/usr/bin/env bash
# Install the real programs the tests run against (Debian packages), once, where apt-get and root allow.
# Where they cannot be installed, the tests that need them say so (browser checks fail under CI).
set -uo pipefail
missing=()
need() {  # need PACKAGE CHECK-COMMAND...: queue PACKAGE unless the check succeeds
  local package=$1
  shift
  "$@" >/dev/null 2>&1 || missing+=("$package")
}
need chromium command -v chromium                     # headless browser checks: console, reports
need chromium-driver command -v chromedriver
need fonts-noto-cjk sh -c 'fc-list :lang=ko | grep -q .'  # Hangul drawn, not boxes
need prometheus command -v promtool                   # compose Prometheus config and dashboard PromQL
need prometheus-node-exporter sh -c 'command -v prometheus-node-exporter || test -x /usr/bin/prometheus-node-exporter'  # collector scrapes a real exporter
need postgresql sh -c 'ls /usr/lib/postgresql/*/bin/pg_basebackup'  # the demo estate: primary, standby, pg_dump
need haproxy test -x /usr/sbin/haproxy                 # the demo estate's TCP proxy in front of PostgreSQL
need supervisor test -x /usr/bin/supervisord            # recovery supervisor_restart over XML-RPC
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "warning: cannot install ${missing[*]} (needs root and apt-get); tests that use them will skip or fail" >&2
  exit 0
fi
{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } \
  || echo "warning: could not install ${missing[*]}; tests that use them will skip or fail" >&2
