"""Backup decisions (pure): which dumps retention deletes, the status after a run, the metrics it yields."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Final, Literal

from shared import metric_names as mn

DUMP_NAME: Final = re.compile(r"(?P<db>[A-Za-z0-9_]+)-(?P<stamp>\d{8}T\d{6}Z)\.dump")
"""A dump file the scheduler wrote: ``<database>-<UTC time>.dump``; other files are never deleted."""

AGE_METRIC: Final = "estate_backup_age_seconds"
LAST_OK_METRIC: Final = "estate_backup_last_ok"
"""Names in the demo's Prometheus exposition; the collector relabels them to ``backup.age_s``/``backup.last_ok``."""

PROM_TO_SIGNAL: Final = {AGE_METRIC: mn.BACKUP_AGE, LAST_OK_METRIC: mn.BACKUP_LAST_OK}


def dump_name(database: str, at: float) -> str:
    """The file name of a dump of ``database`` taken at ``at`` (epoch seconds)."""
    return f"{database}-{datetime.fromtimestamp(at, UTC):%Y%m%dT%H%M%SZ}.dump"


def expired(names: Iterable[str], *, database: str, keep: int) -> list[str]:
    """The dumps of ``database`` that retention deletes: all but the newest ``keep`` (oldest first)."""
    ours = sorted(n for n in names if (m := DUMP_NAME.fullmatch(n)) and m["db"] == database)
    return ours[: max(0, len(ours) - max(keep, 0))]


@dataclass(frozen=True)
class BackupStatus:
    """What the scheduler last did: when a backup last succeeded, the last run's result and dump size."""

    last_run_at: float
    last_result: Literal["ok", "failed"]
    last_ok_at: float | None = None
    first_run_at: float = 0.0
    size_bytes: int = 0
    file: str = ""
    error: str = ""

    def to_json(self) -> str:
        """Serialise for the status file."""
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> BackupStatus:
        """Parse a status file (raises ``ValueError``/``TypeError`` when it is not one)."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("last_result") not in ("ok", "failed"):
            raise ValueError("not a backup status")
        return cls(**data)


def after_run(
    previous: BackupStatus | None, *, at: float, ok: bool, size_bytes: int = 0, file: str = "", error: str = ""
) -> BackupStatus:
    """The status after a run at ``at``: a failure keeps the time of the last good backup."""
    first = previous.first_run_at if previous is not None and previous.first_run_at else at
    if ok:
        return BackupStatus(at, "ok", last_ok_at=at, first_run_at=first, size_bytes=size_bytes, file=file)
    kept = previous.last_ok_at if previous is not None else None
    base = BackupStatus(at, "failed", last_ok_at=kept, first_run_at=first)
    if previous is not None:
        base = replace(base, size_bytes=previous.size_bytes, file=previous.file)
    return replace(base, error=error[:300])


def backup_metrics(status: BackupStatus, *, now: float) -> dict[str, float]:
    """``backup.age_s`` (since the last good backup, or the first run if none yet) and ``backup.last_ok``."""
    since = status.last_ok_at if status.last_ok_at is not None else status.first_run_at
    return {
        mn.BACKUP_AGE: max(0.0, now - since),
        mn.BACKUP_LAST_OK: 1.0 if status.last_result == "ok" else 0.0,
    }
