"""The backup scheduler: ``pg_dump -Fc`` of the demo database every N seconds, retention, an atomic status file.

Run: ``python -m incidentctl.estate.scheduler --out DIR --status FILE --interval-s 30 --keep 5 --pg-dump BIN
--host SOCKET_DIR --port P [--port P2]``. The connection is the server's unix socket (trusted locally): no secret
is needed. With several ports the servers are tried in order, the first dump that succeeds counts: after a
failover the surviving server (a promoted standby, or a hot standby still in recovery) is backed up, not
the dead primary.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from incidentctl.estate.backup_policy import BackupStatus, after_run, dump_name, expired
from incidentctl.estate.postgres import DATABASE, SUPERUSER
from shared.files import write_private

log = logging.getLogger("backup")


@dataclass(frozen=True)
class BackupJob:
    """What one backup run dumps, where to, and how many dumps to keep."""

    out: Path
    status_file: Path
    pg_dump: Path
    host: str
    ports: tuple[int, ...]
    keep: int
    database: str = DATABASE
    timeout_s: float = 120.0


def read_status(path: Path) -> BackupStatus | None:
    """The status file's content, or None when there is none (or it is unreadable)."""
    try:
        return BackupStatus.from_json(path.read_text())
    except (OSError, ValueError, TypeError):
        return None


def dump(job: BackupJob, *, at: float) -> tuple[Path, str]:
    """Dump from the first server that answers; return the file and, when every server failed, their errors."""
    errors = []
    for port in job.ports:
        file, error = _dump_from(job, port, at=at)
        if not error:
            return file, ""
        errors.append(f"port {port}: {error}")
    return job.out / dump_name(job.database, at), "; ".join(errors)


def _dump_from(job: BackupJob, port: int, *, at: float) -> tuple[Path, str]:
    """Dump into a temporary file and rename it when pg_dump succeeded; return the file and pg_dump's error."""
    final = job.out / dump_name(job.database, at)
    partial = final.with_suffix(".partial")
    argv = [str(job.pg_dump), "-Fc", "-h", job.host, "-p", str(port), "-U", SUPERUSER, "-f", str(partial),
            job.database]  # fmt: skip
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=job.timeout_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        partial.unlink(missing_ok=True)
        return final, f"pg_dump timed out after {job.timeout_s:g}s"
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        return final, (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
    partial.replace(final)
    return final, ""


def run_once(job: BackupJob, *, now: float) -> BackupStatus:
    """Take one backup, apply retention after a good one, write and return the new status."""
    job.out.mkdir(parents=True, exist_ok=True)
    previous = read_status(job.status_file)
    file, error = dump(job, at=now)
    if error:
        status = after_run(previous, at=now, ok=False, error=error)
        log.error("backup of %s failed: %s", job.database, error)
    else:
        status = after_run(previous, at=now, ok=True, size_bytes=file.stat().st_size, file=file.name)
        log.info("backup of %s written: %s (%d bytes)", job.database, file.name, status.size_bytes)
        for name in expired((p.name for p in job.out.iterdir()), database=job.database, keep=job.keep):
            (job.out / name).unlink(missing_ok=True)
            log.info("retention deleted %s", name)
    write_private(job.status_file, status.to_json())
    return status


def main(argv: list[str] | None = None) -> None:
    """Back up every ``--interval-s`` seconds until killed (the first backup at once)."""
    parser = argparse.ArgumentParser(prog="python -m incidentctl.estate.scheduler", description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--status", type=Path, required=True)
    parser.add_argument("--pg-dump", type=Path, required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, action="append", required=True, help="a server; repeat: tried in order")
    parser.add_argument("--interval-s", type=float, default=30.0)
    parser.add_argument("--keep", type=int, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s backup %(message)s")
    job = BackupJob(args.out, args.status, args.pg_dump, args.host, tuple(args.port), args.keep)
    while True:
        started = time.monotonic()
        run_once(job, now=time.time())
        time.sleep(max(1.0, args.interval_s - (time.monotonic() - started)))


if __name__ == "__main__":
    main()
