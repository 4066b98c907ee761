"""Where to read a log file from: resume after a restart, follow rotation and truncation."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class FileId:
    """Identity of a file independent of its name (device and inode)."""

    device: int
    inode: int


@dataclass(frozen=True, slots=True)
class Cursor:
    """How far a file was shipped: every byte before ``offset`` is in Elasticsearch."""

    file: FileId
    offset: int


class FileChange(StrEnum):
    """What happened to the file behind a path since it was opened."""

    NONE = "none"
    TRUNCATED = "truncated"
    ROTATED = "rotated"
    MISSING = "missing"


def resume_offset(saved: Cursor | None, current: FileId, size: int) -> int:
    """Return the offset to start reading ``current`` from after a (re)start.

    The saved cursor applies only to the same file: a different inode means the file was rotated
    while the collector was away, and a file now shorter than the cursor was truncated; both are
    read from the start. A file never seen before is read from its start too, so nothing the
    service logged before the collector came up is lost.
    """
    if saved is None or saved.file != current or size < saved.offset:
        return 0
    return saved.offset


def detect_change(opened: FileId, position: int, at_path: FileId | None, size_at_path: int) -> FileChange:
    """Compare the open file with what the path names now.

    ``position`` is how far the open file was read. A new inode at the path is a rotation (finish
    the old file, then read the new one from the start); the same inode but smaller than what was
    read is a truncation (copytruncate rotation: read again from the start).
    """
    if at_path is None:
        return FileChange.MISSING
    if at_path != opened:
        return FileChange.ROTATED
    if size_at_path < position:
        return FileChange.TRUNCATED
    return FileChange.NONE
