"""PostgreSQL executors: promote a standby (psycopg), restore a ``pg_dump -Fc`` archive (``pg_restore``).

The DSN comes from an environment variable named in the catalog; its password reaches ``pg_restore``
only through ``PGPASSWORD`` in that child's environment, never its argv, and no detail quotes the DSN.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from services.recovery.domain.backups import (
    BackupFile,
    archive_copy_rows,
    archive_tables,
    backup_candidates,
    missing_tables,
    rows_verdict,
    verification_verdict,
)
from services.recovery.domain.catalog import PromoteStandby, RecoveryError, RestoreBackup
from shared.procenv import basic_env


class PostgresActionError(RecoveryError):
    """A PostgreSQL action could not run (missing DSN variable, pg_restore refused...)."""


class Database(Protocol):
    """What the PostgreSQL actions need of one database server."""

    async def in_recovery(self) -> bool:
        """``pg_is_in_recovery()``."""
        ...

    async def promote(self, wait_s: int) -> bool:
        """``pg_promote(true, wait_s)``: True once promoted."""
        ...

    async def scalar(self, query: str) -> object:
        """The first column of the first row of ``query`` (None without rows)."""
        ...

    async def archive_valid(self, path: Path, require_tables: tuple[str, ...] = ()) -> tuple[bool, str]:
        """Whether ``path`` is a readable archive (``pg_restore --list``) holding those tables' rows, and why."""
        ...

    async def restore(self, path: Path) -> None:
        """Restore ``path`` into the database (clean first, one transaction)."""
        ...

    async def archived_rows(self, path: Path, table: str) -> list[str]:
        """The rows of ``table`` in the archive, as COPY text lines."""
        ...

    async def table_rows(self, table: str) -> list[str]:
        """The rows of ``table`` in the database now, as COPY text lines."""
        ...


def dsn_from_env(variable: str, environ: Mapping[str, str] | None = None) -> str:
    """The DSN held by environment variable ``variable``; `PostgresActionError` when unset."""
    value = (os.environ if environ is None else environ).get(variable)
    if not value:
        raise PostgresActionError(f"environment variable {variable} (the DSN) is not set")
    return value


class LocalPostgres:
    """A database reached by ``dsn`` with psycopg, and ``pg_restore`` run as a child (argv list, no shell)."""

    def __init__(self, dsn: str, *, pg_restore: str = "pg_restore", timeout_s: float = 600.0) -> None:
        self._dsn, self._pg_restore, self.timeout_s = dsn, pg_restore, timeout_s

    async def _query(self, query: str, *, autocommit: bool = True) -> object:
        async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=autocommit) as conn:
            cursor = await conn.execute(query.encode())
            row = await cursor.fetchone()
            return None if row is None else row[0]

    async def in_recovery(self) -> bool:
        """``pg_is_in_recovery()``."""
        return bool(await self._query("SELECT pg_is_in_recovery()"))

    async def promote(self, wait_s: int) -> bool:
        """``pg_promote(true, wait_s)``."""
        return bool(await self._query(f"SELECT pg_promote(true, {int(wait_s)})"))

    async def scalar(self, query: str) -> object:
        """The declared verification query's first value (read only)."""
        async with await psycopg.AsyncConnection.connect(self._dsn) as conn:
            await conn.set_read_only(True)
            cursor = await conn.execute(query.encode())
            row = await cursor.fetchone()
            return None if row is None else row[0]

    async def archive_valid(self, path: Path, require_tables: tuple[str, ...] = ()) -> tuple[bool, str]:
        """``pg_restore --list``: a readable custom-format archive with a table of contents and those tables."""
        code, out = await self._run("--list", str(path), with_db=False)
        if code != 0:
            return False, out.strip().splitlines()[-1] if out.strip() else f"pg_restore --list exited {code}"
        entries = [line for line in out.splitlines() if line and not line.startswith(";")]
        if not entries:
            return False, "empty archive"
        missing = missing_tables(archive_tables(out), require_tables)
        if missing:
            return False, f"no rows of {', '.join(missing)}"
        return True, f"{len(entries)} entries"

    async def restore(self, path: Path) -> None:
        """``pg_restore --clean --if-exists --single-transaction --exit-on-error --no-owner``."""
        code, out = await self._run(
            "--clean", "--if-exists", "--single-transaction", "--exit-on-error", "--no-owner", str(path), with_db=True
        )
        if code != 0:
            last = out.strip().splitlines()[-1] if out.strip() else ""
            raise PostgresActionError(f"pg_restore exited {code}: {last}")

    async def archived_rows(self, path: Path, table: str) -> list[str]:
        """``pg_restore --data-only --table=T -f -``: the archive's COPY rows of the table."""
        schema, _, name = table.rpartition(".")
        scope = ("--schema", schema) if schema else ()
        code, out = await self._run("--data-only", *scope, "--table", name, "-f", "-", str(path), with_db=False)
        if code != 0:
            raise PostgresActionError(f"pg_restore --data-only exited {code}")
        return archive_copy_rows(out)

    async def table_rows(self, table: str) -> list[str]:
        """``COPY table TO STDOUT`` (text format, the same the archive holds)."""
        ident = sql.Identifier(*table.split("."))
        chunks: list[bytes] = []
        async with await psycopg.AsyncConnection.connect(self._dsn) as conn:
            await conn.set_read_only(True)
            async with conn.cursor().copy(sql.SQL("COPY {} TO STDOUT").format(ident)) as copy:
                async for chunk in copy:
                    chunks.append(bytes(chunk))
        return b"".join(chunks).decode().splitlines()

    async def _run(self, *args: str, with_db: bool) -> tuple[int, str]:
        env = basic_env(os.environ)
        argv = [self._pg_restore]
        if with_db:
            params = conninfo_to_dict(self._dsn)
            password = params.pop("password", None)
            if password is not None:
                env["PGPASSWORD"] = str(password)
            argv.append(f"--dbname={make_conninfo('', **params)}")
        proc = await asyncio.create_subprocess_exec(
            *argv, *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, env=env,
        )  # fmt: skip
        try:
            async with asyncio.timeout(self.timeout_s):
                out, _ = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise PostgresActionError(f"pg_restore ran past {self.timeout_s:g}s: killed") from None
        return proc.returncode or 0, out.decode(errors="replace")


async def promote_standby(db: Database, action: PromoteStandby) -> tuple[bool, str]:
    """Promote the standby; ok when it no longer is in recovery. A server not in recovery is left alone."""
    if not await db.in_recovery():
        return False, f"{action.action}: the server is not in recovery (not a standby): nothing promoted"
    promoted = await db.promote(max(1, int(action.timeout_s)))
    still = await db.in_recovery()
    ok = promoted and not still
    return ok, f"{action.action}: pg_promote -> {promoted}; in recovery: {still}"


def list_backups(directory: Path) -> list[BackupFile]:
    """The plain files of ``directory`` (symlinks and subdirectories are not backups)."""
    found = []
    for entry in os.scandir(directory):
        if entry.is_file(follow_symlinks=False):
            info = entry.stat(follow_symlinks=False)
            found.append(BackupFile(entry.name, info.st_size, info.st_mtime))
    return found


async def restore_backup(db: Database, action: RestoreBackup) -> tuple[bool, str]:
    """Validate candidates newest first (dry run), restore the first valid one, then run the verification."""
    directory = Path(action.backup_dir)
    candidates = backup_candidates(await asyncio.to_thread(list_backups, directory), suffix=action.suffix)
    if not candidates:
        return False, f"{action.action}: no backup *{action.suffix} in {directory}"
    rejected: list[str] = []
    for candidate in candidates:
        path = directory / candidate.name
        valid, why = await db.archive_valid(path, action.require_tables)
        if not valid:
            rejected.append(f"{candidate.name} ({why})")
            continue
        await db.restore(path)
        try:
            ok, verdict = verification_verdict(await db.scalar(action.verify_query), action.verify_min)
            if ok and action.checksum_table:
                archived = await db.archived_rows(path, action.checksum_table)
                ok, same = rows_verdict(archived, await db.table_rows(action.checksum_table))
                verdict = f"{verdict}; {action.checksum_table}: {same}"
        except psycopg.Error as exc:
            ok, verdict = False, f"verification query failed: {type(exc).__name__}: {str(exc).strip()[:200]}"
        skipped = f"; skipped {', '.join(rejected)}" if rejected else ""
        return ok, f"{action.action}: restored {candidate.name} ({why}); {verdict}{skipped}"
    return False, f"{action.action}: no valid backup: {', '.join(rejected)}; nothing restored"
