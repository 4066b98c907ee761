"""Choose backup archives to restore and judge a restore's verification (pure)."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class BackupFile:
    """One entry of a backup directory listing."""

    name: str
    size: int
    mtime: float


def backup_candidates(listing: Iterable[BackupFile], *, suffix: str) -> list[BackupFile]:
    """Return the archives worth trying, newest first (name breaks ties, the later name first).

    Empty files, hidden or partial files (``.name``, ``*.partial``, ``*.tmp``) and names without
    ``suffix`` are never candidates: a backup still being written must not be restored.
    """
    usable = [
        f
        for f in listing
        if f.size > 0 and f.name.endswith(suffix) and not f.name.startswith(".") and "/" not in f.name
    ]
    return sorted(usable, key=lambda f: (f.mtime, f.name), reverse=True)


def verification_verdict(value: object, minimum: float) -> tuple[bool, str]:
    """Verdict of the verification query's first value: a number of at least ``minimum``."""
    if isinstance(value, bool) or value is None:
        return False, f"verification returned {value!r}, not a number"
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False, f"verification returned {value!r}, not a number"
    if math.isnan(number):
        return False, "verification returned NaN"
    if number >= minimum:
        return True, f"verification {number:g} >= {minimum:g}"
    return False, f"verification {number:g} < {minimum:g}"


def archive_tables(toc: str) -> frozenset[str]:
    """The tables whose rows an archive holds, as ``schema.table``, from ``pg_restore --list`` output.

    A data entry reads ``3312; 0 16390 TABLE DATA public orders demo``: the schema and the name follow
    ``TABLE DATA``. Comment lines (``;``) and other entries are ignored.
    """
    found = set()
    for line in toc.splitlines():
        if line.startswith(";"):
            continue
        words = line.split()
        for i in range(len(words) - 3):
            if words[i] == "TABLE" and words[i + 1] == "DATA":
                found.add(f"{words[i + 2]}.{words[i + 3]}")
                break
    return frozenset(found)


def missing_tables(held: frozenset[str], required: Iterable[str]) -> list[str]:
    """The ``required`` tables (``name`` means ``public.name``) an archive holding ``held`` lacks."""
    return [t for t in required if (t if "." in t else f"public.{t}") not in held]


def archive_copy_rows(script: str) -> list[str]:
    """The data rows of the one table in a ``pg_restore --data-only --table=T -f -`` script (COPY text lines)."""
    rows: list[str] = []
    inside = False
    for line in script.splitlines():
        if inside:
            if line == "\\.":
                inside = False
            else:
                rows.append(line)
        elif line.startswith("COPY ") and line.endswith("FROM stdin;"):
            inside = True
    return rows


def rows_verdict(archived: Iterable[str], current: Iterable[str]) -> tuple[bool, str]:
    """Whether every row of the archive is back, byte for byte, with an order-free checksum of them.

    Rows written after the restore may be there too; a row of the archive missing (or changed) fails.
    """
    wanted = sorted(archived)
    have = Counter(current)
    missing = 0
    for row in wanted:
        if have[row] > 0:
            have[row] -= 1
        else:
            missing += 1
    digest = hashlib.sha256("\n".join(wanted).encode()).hexdigest()[:16]
    if missing:
        return False, f"{missing} of {len(wanted)} archived rows not back (archive checksum {digest})"
    return True, f"all {len(wanted)} archived rows back (checksum {digest})"
