"""The demo service's part of the estate: orders stored in PostgreSQL, the backup status as Prometheus gauges.

Both are off unless the stack sets ``IR_DEMO_DSN`` (a libpq connection string through HAProxy whose
password comes from a ``passfile``) and ``IR_DEMO_BACKUP_STATUS`` (the backup scheduler's status file).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

import psycopg
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from incidentctl.estate.backup_policy import AGE_METRIC, LAST_OK_METRIC, BackupStatus, backup_metrics
from shared import metric_names as mn
from shared.errors import StorageError

DSN_ENV: Final = "IR_DEMO_DSN"
BACKUP_STATUS_ENV: Final = "IR_DEMO_BACKUP_STATUS"


class OrderNotStored(StorageError, RuntimeError):
    """Writing an order to the database failed (its cause: the driver's error)."""


class OrderStore:
    """One kept connection (re-opened after a failure) that inserts a row into ``orders`` per order."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._lock = threading.Lock()

    def _run(self, query: str, params: tuple[object, ...] = ()) -> tuple[object, ...] | None:
        """Run ``query`` on the kept connection (opened when needed, dropped after a failure); its first row."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self._dsn, autocommit=True)
            cursor = self._conn.execute(query.encode(), params)
            return cursor.fetchone() if cursor.description else None
        except psycopg.Error:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            raise

    def add(self, token: str) -> None:
        """Insert one order; raise ``OrderNotStored`` when the database cannot take it."""
        with self._lock:
            try:
                self._run("INSERT INTO orders (token) VALUES (%s)", (token,))
            except psycopg.Error as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise OrderNotStored(f"{type(exc).__name__}: {reason}") from exc

    def count(self) -> int | None:
        """Rows in ``orders`` now: 0 when the table is gone, None when the database cannot be asked."""
        with self._lock:
            try:
                row = self._run("SELECT count(*) FROM orders")
            except psycopg.errors.UndefinedTable:
                return 0  # the table was dropped: none of its rows can be read
            except psycopg.Error:
                return None
            count = None if row is None else row[0]
            return count if isinstance(count, int) else None

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None


ROWS_METRIC: Final = "estate_orders_rows"


class OrderRowsCollector(Collector):
    """The ``orders`` row count as ``estate_orders_rows`` at each scrape (none while the database is unreachable)."""

    def __init__(self, store: OrderStore) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Count the rows at each scrape."""
        rows = self.store.count()
        if rows is not None:
            yield GaugeMetricFamily(ROWS_METRIC, "Rows in the orders table (0 when it is gone)", value=rows)


class BackupStatusCollector(Collector):
    """The backup status file as ``estate_backup_age_seconds`` and ``estate_backup_last_ok`` (none while absent)."""

    def __init__(self, status_file: Path, clock: Callable[[], float] = time.time) -> None:
        self.status_file = status_file
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Read the status file at each scrape."""
        try:
            status = BackupStatus.from_json(self.status_file.read_text())
        except (OSError, ValueError, TypeError):
            return
        values = backup_metrics(status, now=self.clock())
        yield GaugeMetricFamily(AGE_METRIC, "Seconds since the last good backup", value=values[mn.BACKUP_AGE])
        yield GaugeMetricFamily(LAST_OK_METRIC, "1 if the last backup succeeded", value=values[mn.BACKUP_LAST_OK])
