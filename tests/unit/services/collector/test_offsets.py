from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.collector.adapters.offset_store import JsonOffsetStore
from services.collector.adapters.tailer import FileTailer
from services.collector.domain.offsets import Cursor, FileChange, FileId, detect_change, resume_offset

F, G = FileId(1, 10), FileId(1, 11)


@pytest.mark.parametrize(
    ("saved", "current", "size", "offset"),
    [
        (None, F, 500, 0),
        (Cursor(F, 120), F, 500, 120),
        (Cursor(F, 120), F, 120, 120),
        (Cursor(F, 120), F, 100, 0),  # truncated while we were away
        (Cursor(F, 120), G, 500, 0),  # rotated while we were away
    ],
)
def test_resume_offset(saved: Cursor | None, current: FileId, size: int, offset: int) -> None:
    assert resume_offset(saved, current, size) == offset


@pytest.mark.parametrize(
    ("at_path", "size", "change"),
    [
        (F, 200, FileChange.NONE),
        (F, 50, FileChange.TRUNCATED),
        (G, 900, FileChange.ROTATED),
        (None, 0, FileChange.MISSING),
    ],
)
def test_detect_change(at_path: FileId | None, size: int, change: FileChange) -> None:
    assert detect_change(F, 100, at_path, size) is change


def test_offset_store_round_trips_and_ignores_a_corrupt_file(tmp_path: Path) -> None:
    store = JsonOffsetStore(tmp_path)
    store.save(Path("/var/log/a.log"), Cursor(F, 42))
    assert JsonOffsetStore(tmp_path).get(Path("/var/log/a.log")) == Cursor(F, 42)
    (tmp_path / "log-offsets.json").write_text("{not json")
    assert JsonOffsetStore(tmp_path).get(Path("/var/log/a.log")) is None


def texts(tailer: FileTailer) -> list[str]:
    return [line.text for chunk in tailer.read() for line in chunk.lines]


def test_tailer_waits_for_complete_lines(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"one\ntw")
    tailer = FileTailer(log)
    assert texts(tailer) == ["one"]
    with log.open("ab") as fh:
        fh.write(b"o\r\nthree\n")
    assert texts(tailer) == ["two", "three"]
    assert texts(tailer) == []


def test_tailer_resumes_from_saved_cursor(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"one\ntwo\n")
    st = os.stat(log)
    tailer = FileTailer(log, Cursor(FileId(st.st_dev, st.st_ino), 4))
    assert texts(tailer) == ["two"]


def test_tailer_follows_rotation_without_losing_the_old_tail(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"one\n")
    tailer = FileTailer(log)
    assert texts(tailer) == ["one"]
    with log.open("ab") as fh:
        fh.write(b"two\nlast-without-newline")
    log.rename(tmp_path / "app.log.1")
    log.write_bytes(b"fresh\n")
    chunks = tailer.read()
    assert [[ln.text for ln in c.lines] for c in chunks] == [["two"], ["last-without-newline"], ["fresh"]]
    assert [c.finished for c in chunks] == [False, True, False]
    assert chunks[-1].lines[0].start == 0 and chunks[-1].file != chunks[0].file


def test_tailer_rereads_a_truncated_file(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"a long first line\n")
    tailer = FileTailer(log)
    assert texts(tailer) == ["a long first line"]
    log.write_bytes(b"new\n")  # truncate + write (copytruncate rotation)
    assert texts(tailer) == []  # truncation noticed: position reset
    assert texts(tailer) == ["new"]


def test_tailer_waits_for_a_missing_file(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    tailer = FileTailer(log)
    assert tailer.read() == []
    log.write_bytes(b"hello\n")
    assert texts(tailer) == ["hello"]
