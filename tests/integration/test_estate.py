"""The demo estate on real PostgreSQL and HAProxy: replication, backups with retention, status, the demo's orders."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import psutil
import psycopg
import pytest

from incidentctl.demo_estate import BACKUP_STATUS_ENV, DSN_ENV
from incidentctl.estate import haproxy, postgres, runner
from incidentctl.estate.backup_policy import DUMP_NAME
from incidentctl.estate.scheduler import read_status
from incidentctl.procs import alive, free_port, spawn, terminate, wait_for_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(runner.unavailable() is not None, reason=f"estate programs missing: {runner.unavailable()}"),
]

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s: {what}")


def estate_processes(state: runner.EstateState) -> list[psutil.Process]:
    """Every process of this estate still running: its recorded pids and whatever runs on its private folder."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["pid"] in state.pids.values() or state.pg_dir in cmdline:
            found.append(proc)
    postmasters = {postgres.server_pid(d) for d in (state.primary_data, state.standby_data)} - {None}
    return found + [psutil.Process(p) for p in postmasters if p is not None and alive(p)]


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[runner.EstateState]:
    state = runner.start(tmp_path_factory.mktemp("estate"), backup_interval_s=1.0, keep=2)
    try:
        yield state
    finally:
        runner.stop(state)


def test_an_order_written_through_haproxy_lands_on_the_primary_and_replicates_to_the_standby(
    estate: runner.EstateState,
) -> None:
    with psycopg.connect(estate.dsn(), autocommit=True) as conn:
        conn.execute("INSERT INTO orders (token) VALUES ('through-haproxy')")
        row = conn.execute("SELECT inet_server_port(), pg_is_in_recovery()").fetchone()
    assert row == (estate.primary_port, False)
    standby = {"host": str(estate.socket_dir), "port": estate.standby_port, "user": postgres.SUPERUSER}
    with psycopg.connect(dbname=postgres.DATABASE, autocommit=True, **standby) as conn:  # type: ignore[arg-type]
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        wait_for(
            lambda: conn.execute("SELECT count(*) FROM orders WHERE token = 'through-haproxy'").fetchone() == (1,),
            "the order replicated to the standby",
        )


def test_the_password_stays_out_of_the_dsn_and_the_passfile_is_private(estate: runner.EstateState) -> None:
    password = estate.passfile.read_text().strip().rsplit(":", 1)[1]
    assert password not in estate.dsn()
    assert estate.passfile.stat().st_mode & 0o077 == 0
    bad = estate.dsn().replace(f"passfile={estate.passfile}", "password=wrong")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(bad).close()


def test_the_admin_socket_answers_and_lists_both_servers(estate: runner.EstateState) -> None:
    import socket

    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(estate.admin_socket))
        sock.sendall(b"show servers state pg\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    text = reply.decode()
    assert f" {haproxy.PRIMARY} " in text and f" {haproxy.STANDBY} " in text


def test_backups_appear_retention_keeps_the_newest_and_the_status_says_ok(estate: runner.EstateState) -> None:
    def dumps() -> list[str]:
        return sorted(p.name for p in estate.backups.iterdir() if DUMP_NAME.fullmatch(p.name))

    first = wait_for(dumps, "a first dump")[0]
    wait_for(lambda: first not in dumps(), "retention deleting the oldest dump", timeout=20.0)
    assert len(dumps()) == 2
    status = read_status(estate.status_file)
    assert status is not None and status.last_result == "ok" and status.size_bytes > 0
    assert status.file in dumps() and status.last_ok_at == status.last_run_at
    listing = subprocess.run(
        [str(Path(estate.pg_bin) / "pg_restore"), "--list", str(estate.backups / status.file)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "TABLE public orders" in listing.stdout


def test_the_demo_stores_orders_and_reports_the_backup_metrics(estate: runner.EstateState, tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "incidentctl.demo_service", "--port", str(port),
            "--log-file", str(tmp_path / "demo.log")]  # fmt: skip
    env = {DSN_ENV: estate.dsn(), BACKUP_STATUS_ENV: str(estate.status_file)}
    proc = spawn(argv, log_file=tmp_path / "demo.stdout", cwd=REPO, env=env)
    try:
        wait_for_port(port, proc=proc)
        with psycopg.connect(estate.dsn(), autocommit=True) as conn:
            before = conn.execute("SELECT count(*) FROM orders").fetchone()
            for _ in range(3):
                assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200
            after = conn.execute("SELECT count(*) FROM orders").fetchone()
        assert before is not None and after == (before[0] + 3,)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert "estate_backup_last_ok 1.0" in metrics
        age = float(next(line.split()[1] for line in metrics.splitlines() if line.startswith("estate_backup_age_s")))
        assert 0.0 <= age < 60.0
    finally:
        terminate(proc.pid)
        proc.wait(timeout=5)


def test_a_failing_backup_shows_result_0_the_demo_logs_an_error_and_stop_leaves_no_process(tmp_path: Path) -> None:
    state = runner.start(tmp_path / "stack", backup_interval_s=1.0, keep=3)
    port = free_port()
    log = tmp_path / "demo.log"
    argv = [sys.executable, "-m", "incidentctl.demo_service", "--port", str(port), "--log-file", str(log)]
    demo = spawn(argv, log_file=tmp_path / "demo.stdout", cwd=REPO,
                 env={DSN_ENV: state.dsn(), BACKUP_STATUS_ENV: str(state.status_file)})  # fmt: skip
    try:
        wait_for_port(port, proc=demo)
        wait_for(lambda: (s := read_status(state.status_file)) and s.last_result == "ok", "a good backup")
        assert estate_processes(state)
        for data in (state.standby_data, state.primary_data):  # the whole database gone: backups and writes fail
            postgres.stop_server(Path(state.pg_bin), data, log=tmp_path / "pg_ctl.log")
        failed = wait_for(
            lambda: (s := read_status(state.status_file)) and s.last_result == "failed" and s, "a failed backup"
        )
        assert failed.last_ok_at is not None and failed.last_ok_at < failed.last_run_at and failed.error
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert "estate_backup_last_ok 0.0" in metrics
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=20).status_code == 500
        assert " ERROR demo " in log.read_text() and "not stored" in log.read_text()
    finally:
        terminate(demo.pid)
        demo.wait(timeout=5)
        runner.stop(state)
    assert estate_processes(state) == []
    assert not Path(state.pg_dir).exists() and not (state.estate_dir / "estate.json").exists()


def test_a_failed_dump_leaves_no_file_keeps_the_old_dumps_and_says_why(tmp_path: Path) -> None:
    from incidentctl.estate.scheduler import BackupJob, run_once

    pg = postgres.bin_dir()
    assert pg is not None
    out = tmp_path / "backups"
    out.mkdir()
    old = [out / f"demo-2026010{d}T000000Z.dump" for d in range(1, 4)]
    for path in old:
        path.write_bytes(b"old")
    job = BackupJob(out, out / "status.json", pg / "pg_dump", str(tmp_path), (free_port(),), keep=1, timeout_s=20)
    status = run_once(job, now=1_800_000_000.0)
    assert status.last_result == "failed" and status.last_ok_at is None and status.error
    assert sorted(out.iterdir()) == sorted([*old, out / "status.json"])  # no partial file; retention not applied
    assert read_status(out / "status.json") == status
