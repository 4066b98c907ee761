"""The estate's faults on real PostgreSQL and HAProxy, cured by the demo's own emergency actions.

``primary-down`` kills the primary: HAProxy's health frontend refuses (a new and a kept-alive
connection), backups go on from the standby, and promote + failover (the recovery catalog the demo
stack declares, run by the real executors) bring writes back through HAProxy to the former standby.
``data-loss`` drops the orders table: the demo reports 0 rows, and the restore skips the dump taken
after the drop and restores the last one that holds the table.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from incidentctl.demo_config import RECOVERY_DSN_ENV, RECOVERY_STANDBY_DSN_ENV, estate_recovery
from incidentctl.demo_estate import BACKUP_STATUS_ENV, DSN_ENV
from incidentctl.estate import faults, runner
from incidentctl.estate.scheduler import read_status
from incidentctl.fault_checks import rows_restored, traffic_via_standby
from incidentctl.procs import free_port, spawn, terminate, wait_for_port
from services.recovery.adapters.runner import LocalRunner
from services.recovery.app import build_catalog
from services.recovery.settings import RecoverySettings
from tests.integration.test_estate import REPO, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(runner.unavailable() is not None, reason=f"estate programs missing: {runner.unavailable()}"),
]


@pytest.fixture
def estate(tmp_path: Path) -> Iterator[runner.EstateState]:
    state = runner.start(tmp_path / "stack", backup_interval_s=1.0, keep=3)
    try:
        yield state
    finally:
        runner.stop(state)


def add_orders(state: runner.EstateState, count: int) -> None:
    with psycopg.connect(state.dsn(), autocommit=True) as conn:
        conn.execute("INSERT INTO orders (token) SELECT 'o' || i FROM generate_series(1, %s) i", (count,))


def catalog_of(state: runner.EstateState, monkeypatch: pytest.MonkeyPatch) -> RecoverySettings:
    monkeypatch.setenv(RECOVERY_DSN_ENV, state.dsn())
    monkeypatch.setenv(RECOVERY_STANDBY_DSN_ENV, state.superuser_dsn(state.standby_port))
    return RecoverySettings.model_validate(estate_recovery(state))


def backup_after(state: runner.EstateState, since: float, what: str) -> None:
    """Wait for a good backup finished after ``since``."""
    wait_for(lambda: (s := read_status(state.status_file)) and s.last_ok_at and s.last_ok_at > since, what)


def health(client: httpx.Client, url: str) -> int | None:
    try:
        return client.get(url, timeout=2.0).status_code
    except httpx.HTTPError:
        return None


async def test_primary_down_is_seen_as_down_and_promote_plus_failover_move_writes_to_the_standby(
    estate: runner.EstateState, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_orders(estate, 10)
    with httpx.Client() as kept_alive:
        assert health(kept_alive, estate.health_url) == 200
        detail = faults.inject("primary-down", estate)
        assert "SIGKILL" in detail
        wait_for(lambda: health(kept_alive, estate.health_url) is None or None, "the kept-alive health check refused")
    assert health(httpx.Client(), estate.health_url) is None  # a new connection too
    killed_at = time.time()
    backup_after(estate, killed_at, "a backup from the standby")
    ok, before = traffic_via_standby(estate)
    assert not ok and "error" in before

    catalog = build_catalog(catalog_of(estate, monkeypatch))
    local = LocalRunner()
    for name in ("promote_standby:db", "failover:db"):
        outcome = await local.run(catalog.resolve(name, "demo-db"))
        assert outcome.ok, outcome.detail
    wait_for(lambda: health(httpx.Client(), estate.health_url) == 200, "the health frontend answers again")
    ok, after = traffic_via_standby(estate)
    assert ok, after
    assert after["server_port"] == estate.standby_port and after["in_recovery"] is False


async def test_data_loss_is_seen_as_zero_rows_and_the_restore_skips_the_dump_without_the_table(
    estate: runner.EstateState, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "incidentctl.demo_service",
        "--port",
        str(port),
        "--log-file",
        str(tmp_path / "d.log"),
    ]
    demo = spawn(argv, log_file=tmp_path / "demo.stdout", cwd=REPO,
                 env={DSN_ENV: estate.dsn(), BACKUP_STATUS_ENV: str(estate.status_file)})  # fmt: skip
    try:
        wait_for_port(port, proc=demo)
        add_orders(estate, 25)
        added_at = time.time()
        backup_after(estate, added_at, "a backup with the rows")
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert "estate_orders_rows 25.0" in metrics

        assert "(25 rows)" in faults.inject("data-loss", estate)
        dropped_at = time.time()
        backup_after(estate, dropped_at + 0.5, "a backup after the drop")
        assert "estate_orders_rows 0.0" in httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert rows_restored(estate)[0] is False

        catalog = build_catalog(catalog_of(estate, monkeypatch))
        outcome = await LocalRunner().run(catalog.resolve("restore_backup:orders", "demo"))
        assert outcome.ok, outcome.detail
        assert "skipped" in outcome.detail and "verification 25 >= 1" in outcome.detail
        assert "orders: all 25 archived rows back (checksum " in outcome.detail
        ok, detail = rows_restored(estate)
        assert ok and detail["orders_rows"] == 25, detail
        wait_for(lambda: "estate_orders_rows 25.0" in httpx.get(f"http://127.0.0.1:{port}/metrics").text, "rows seen")
    finally:
        terminate(demo.pid)
        demo.wait(timeout=5)


def test_an_estate_fault_without_an_estate_says_what_to_do() -> None:
    with pytest.raises(faults.EstateFaultError, match="needs the demo estate"):
        faults.inject("data-loss", None)
