"""Follow a log file: complete lines with their byte offsets, across rotation and truncation."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final

from services.collector.domain.loglines import LogLine
from services.collector.domain.offsets import Cursor, FileChange, FileId, detect_change, resume_offset

READ_CHUNK: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class Chunk:
    """Lines read from one file; ``finished`` when that file was rotated away and fully read."""

    file: FileId
    lines: list[LogLine] = field(default_factory=list)
    finished: bool = False


def _file_id(st: os.stat_result) -> FileId:
    return FileId(st.st_dev, st.st_ino)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def _split(data: bytes, base: int, *, take_partial: bool) -> tuple[list[LogLine], int]:
    """Return the lines in ``data`` (starting at file offset ``base``) and how many bytes they used."""
    cut = data.rfind(b"\n") + 1
    if take_partial or (cut == 0 and len(data) >= READ_CHUNK):
        cut = len(data)
    lines: list[LogLine] = []
    pos = 0
    while pos < cut:
        nl = data.find(b"\n", pos, cut)
        stop = cut if nl < 0 else nl + 1
        text = data[pos:stop].decode("utf-8", errors="replace").rstrip("\r\n")
        lines.append(LogLine(text, base + pos, base + stop))
        pos = stop
    return lines, cut


class FileTailer:
    """Reads what was appended to one path since the last call; ``saved`` is where shipping stopped last run."""

    def __init__(self, path: Path, saved: Cursor | None = None) -> None:
        self.path = path
        self._saved = saved
        self._fh: BinaryIO | None = None
        self._file: FileId | None = None
        self._position = 0

    @property
    def file(self) -> FileId | None:
        """The file currently followed."""
        return self._file

    def read(self) -> list[Chunk]:
        """Return the new complete lines, finishing a rotated file before starting its successor."""
        if self._fh is None and not self._open():
            return []
        assert self._fh is not None and self._file is not None
        chunks = [Chunk(self._file, self._read_available(take_partial=False))]
        st = _stat(self.path)
        change = detect_change(self._file, self._position, _file_id(st) if st else None, st.st_size if st else 0)
        if change is FileChange.TRUNCATED:
            self._position = 0
        elif change is FileChange.ROTATED:
            chunks.append(Chunk(self._file, self._read_available(take_partial=True), finished=True))
            self.close()
            self._saved = None
            if self._open():
                assert self._file is not None
                chunks.append(Chunk(self._file, self._read_available(take_partial=False)))
        return [c for c in chunks if c.lines or c.finished]

    def _open(self) -> bool:
        try:
            fh = self.path.open("rb")
        except OSError:
            return False
        file = _file_id(os.fstat(fh.fileno()))
        self._fh, self._file = fh, file
        self._position = resume_offset(self._saved, file, os.fstat(fh.fileno()).st_size)
        return True

    def _read_available(self, *, take_partial: bool) -> list[LogLine]:
        """Read up to one chunk of complete lines (everything, partial last line included, when draining)."""
        assert self._fh is not None
        out: list[LogLine] = []
        while True:
            self._fh.seek(self._position)
            data = self._fh.read(READ_CHUNK)
            if not data:
                return out
            lines, used = _split(data, self._position, take_partial=take_partial)
            out += lines
            self._position += used
            if not take_partial or used < len(data) or len(data) < READ_CHUNK:
                return out

    def close(self) -> None:
        """Close the open file."""
        if self._fh is not None:
            self._fh.close()
        self._fh, self._file = None, None
