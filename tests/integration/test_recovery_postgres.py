"""PostgreSQL emergency actions against real servers: restore the latest good backup, promote a standby.

Clusters are made with initdb in a short /tmp directory (password auth, unix socket only) and run
with pg_ctl; as root the PostgreSQL programs run as the ``postgres`` user, as they must.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from incidentctl.procs import free_port
from services.recovery.adapters.runner import LocalRunner
from services.recovery.app import build_catalog
from services.recovery.settings import RecoverySettings

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not Path("/usr/lib/postgresql/15/bin/initdb").exists(), reason="postgresql 15 not installed (test_tools.sh)"
    ),
]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "s3cret-not-in-events"
AS_ROOT = os.geteuid() == 0


def pg(tool: str, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a PostgreSQL program (as ``postgres`` when we are root); return its output."""
    extra: dict[str, Any] = {"user": "postgres"} if AS_ROOT else {}
    done = subprocess.run(
        [str(PG_BIN / tool), *args], cwd=cwd, env={**os.environ, "PGPASSWORD": PASSWORD, **(env or {})},
        capture_output=True, text=True, timeout=120, check=False, **extra,
    )  # fmt: skip
    assert done.returncode == 0, f"{tool} {args}: {done.stdout}{done.stderr}"
    return done.stdout


@contextmanager
def pg_tmp() -> Iterator[Path]:
    """A short /tmp directory the PostgreSQL programs may write."""
    path = Path(tempfile.mkdtemp(prefix="ir-pg-", dir="/tmp"))
    if AS_ROOT:
        shutil.chown(path, "postgres", "postgres")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def running(tmp: Path, data: Path, port: int) -> Iterator[str]:
    """Start the cluster in ``data`` on ``port`` (socket in ``tmp``), yield its DSN, stop it (that cluster only)."""
    options = f"-p {port} -k {tmp} -c listen_addresses=''"
    pg("pg_ctl", "-D", str(data), "-o", options, "-l", str(tmp / f"pg-{port}.log"), "-w", "-t", "60", "start", cwd=tmp)
    try:
        yield f"host={tmp} port={port} user=postgres password={PASSWORD} dbname=postgres"
    finally:
        pg("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop", cwd=tmp)


def initdb(tmp: Path, data: Path) -> None:
    pwfile = tmp / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if AS_ROOT:
        shutil.chown(pwfile, "postgres", "postgres")
    pg("initdb", "-D", str(data), "-U", "postgres", "-A", "scram-sha-256", f"--pwfile={pwfile}", cwd=tmp)


def scalar(dsn: str, query: bytes) -> Any:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(query)
        row = cursor.fetchone() if cursor.description else None
        return None if row is None else row[0]


def restore_settings(backups: Path, verify_min: float) -> RecoverySettings:
    return RecoverySettings(
        restore_actions=[
            {"name": "app", "target": "db", "dsn_env": "IR_TEST_APP_DSN", "backup_dir": str(backups),
             "verify_query": "SELECT count(*) FROM items", "verify_min": verify_min,
             "pg_restore": str(PG_BIN / "pg_restore")},
        ]
    )  # fmt: skip


async def test_restore_backup_restores_the_newest_valid_archive(monkeypatch: pytest.MonkeyPatch) -> None:
    with pg_tmp() as tmp:
        data, backups = tmp / "data", tmp / "backups"
        initdb(tmp, data)
        backups.mkdir()
        if AS_ROOT:
            shutil.chown(backups, "postgres", "postgres")
        with running(tmp, data, free_port()) as admin:
            scalar(admin, b"CREATE DATABASE app")
            app = admin.replace("dbname=postgres", "dbname=app")
            scalar(app, b"CREATE TABLE items (id int PRIMARY KEY, name text)")
            scalar(app, b"INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 100) i")
            good = backups / "app-1.dump"
            pg("pg_dump", "-Fc", "-f", str(good), f"--dbname={app.replace(f' password={PASSWORD}', '')}", cwd=tmp)
            newer_but_broken = backups / "app-2.dump"
            newer_but_broken.write_bytes(b"PGDMP but not really an archive" * 10)
            (backups / "app-3.dump").write_bytes(b"")  # newest: still being written
            os.utime(good, (1_000_000, 1_000_000))
            os.utime(newer_but_broken, (2_000_000, 2_000_000))
            scalar(app, b"DROP TABLE items")
            monkeypatch.setenv("IR_TEST_APP_DSN", app)
            catalog = build_catalog(restore_settings(backups, verify_min=100))
            action = catalog.resolve("restore_backup:app", "db")
            assert catalog.rollback_of(action) is None

            outcome = await LocalRunner().run(action)

            assert outcome.ok, outcome.detail
            assert "restored app-1.dump" in outcome.detail and "skipped app-2.dump" in outcome.detail
            assert "verification 100 >= 100" in outcome.detail
            assert PASSWORD not in outcome.detail and PASSWORD not in str(catalog.describe(action))
            assert scalar(app, b"SELECT count(*) FROM items") == 100

            # the same restore judged against a minimum the data cannot meet fails the step
            strict = build_catalog(restore_settings(backups, verify_min=1000)).resolve("restore_backup:app", "db")
            outcome = await LocalRunner().run(strict)
            assert not outcome.ok and "verification 100 < 1000" in outcome.detail
            assert scalar(app, b"SELECT count(*) FROM items") == 100

            monkeypatch.delenv("IR_TEST_APP_DSN")
            outcome = await LocalRunner().run(action)
            assert not outcome.ok and "IR_TEST_APP_DSN" in outcome.detail and "not set" in outcome.detail


async def test_promote_standby_makes_a_streaming_standby_writable(monkeypatch: pytest.MonkeyPatch) -> None:
    with pg_tmp() as tmp:
        primary_data, standby_data = tmp / "primary", tmp / "standby"
        initdb(tmp, primary_data)
        primary_port, standby_port = free_port(), free_port()
        with running(tmp, primary_data, primary_port):
            pg("pg_basebackup", "-h", str(tmp), "-p", str(primary_port), "-U", "postgres", "-D", str(standby_data),
               "-R", "-X", "stream", cwd=tmp)  # fmt: skip
            with running(tmp, standby_data, standby_port) as standby:
                assert scalar(standby, b"SELECT pg_is_in_recovery()") is True
                monkeypatch.setenv("IR_TEST_STANDBY_DSN", standby)
                settings = RecoverySettings(
                    promote_actions=[{"name": "db", "target": "db", "dsn_env": "IR_TEST_STANDBY_DSN"}]
                )
                action = build_catalog(settings).resolve("promote_standby:db", "db")

                outcome = await LocalRunner().run(action)

                assert outcome.ok, outcome.detail
                assert scalar(standby, b"SELECT pg_is_in_recovery()") is False
                scalar(standby, b"CREATE TABLE written_after_promotion (id int)")
                again = await LocalRunner().run(action)
                assert not again.ok and "not in recovery" in again.detail
