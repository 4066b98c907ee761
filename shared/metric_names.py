"""Names of the metrics the collector publishes; detector, recovery and rca read the same names."""

from __future__ import annotations

from typing import Final

HOST_CPU: Final = "host.cpu_percent"
HOST_MEMORY: Final = "host.memory_percent"
HOST_DISK: Final = "host.disk_percent"
HOST_LOAD1: Final = "host.load1"
HOST_NET_SENT: Final = "host.net_sent_bytes_per_s"
HOST_NET_RECV: Final = "host.net_recv_bytes_per_s"
NET_SENT: Final = "net.sent_bytes_per_s"
"""A target's own outbound traffic (an application's egress counter), where ``host.*`` is the whole host's."""

PROCESS_UP: Final = "process.up"
PROCESS_CPU: Final = "process.cpu_percent"
PROCESS_RSS: Final = "process.rss_bytes"
PROCESS_THREADS: Final = "process.threads"
PROCESS_RESTARTS: Final = "process.restarts"

HTTP_UP: Final = "http.up"
HTTP_LATENCY_MEAN: Final = "http.latency_ms"
HTTP_LATENCY_P50: Final = "http.latency_p50_ms"
HTTP_LATENCY_P95: Final = "http.latency_p95_ms"
HTTP_LATENCY_P99: Final = "http.latency_p99_ms"
HTTP_ERROR_RATE: Final = "http.error_rate"
HTTP_THROUGHPUT: Final = "http.requests_per_s"

BACKUP_AGE: Final = "backup.age_s"
"""Seconds since the last good backup of a target's data (reported by the estate of issue 17, item 1)."""
BACKUP_LAST_OK: Final = "backup.last_ok"
"""1 when the last backup run succeeded, 0 when it failed."""
BACKUP_MAX_AGE_S: Final = 26 * 3600.0
"""The default backup policy: a daily backup, two hours of grace."""
DB_ROWS: Final = "db.rows"
"""Rows in a target's watched tables (a collapse is data loss)."""

HOST_TARGET_PREFIX: Final = "host:"
"""Host-level scrapes are published with ``target = "host:<hostname>"``."""

SCRAPE_UP: Final = "scrape.up"
"""1 when an exposition endpoint (label ``endpoint``) was fetched and parsed, else 0 (label ``error``: why)."""
SCRAPE_DURATION: Final = "scrape.duration_ms"
SCRAPE_SERIES: Final = "scrape.series"
SCRAPE_CUT: Final = "scrape.samples_cut"
"""Selected series left out of the event by the endpoint's ``max_samples``."""

AUTH_FAILURES: Final = "auth.failures_per_s"
"""Failed logins a second at a target (the security signal whose stop verifies a containment)."""
