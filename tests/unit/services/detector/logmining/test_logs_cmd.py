from __future__ import annotations

import io
from pathlib import Path

from incidentctl.logs_cmd import parse_file


def test_parse_file_writes_final_template_per_line_in_order(tmp_path: Path) -> None:
    users = ["ann", "ben", "cat", "dan", "eve"]
    lines = [f"session opened for user {u}".encode() for u in users]
    lines += [b"disk \xff\xfe error on sda 3", b"job 7 done in 12 ms\r", b"job 8 done in 3 ms"]
    path = tmp_path / "app.log"
    path.write_bytes(b"\r\n".join(lines[:-1]) + b"\n" + lines[-1])

    out = io.StringIO()
    assert parse_file(path, out) == 8
    rows = [row.split("\t") for row in out.getvalue().splitlines()]
    assert len(rows) == 8
    # the first lines were mined before the merge, yet all carry the final template and one id
    assert {tuple(r) for r in rows[:5]} == {(rows[0][0], "session opened for user <*>")}
    assert rows[5][1] == "disk \ufffd\ufffd error on sda <*>"
    assert rows[6] == rows[7]
    assert rows[6][1] == "job <*> done in <*> ms"
    assert all(len(r[0]) == 16 for r in rows)


def test_parse_file_ids_are_stable_between_runs(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_text("worker 1 started\nworker 2 stopped\n")
    first, second = io.StringIO(), io.StringIO()
    parse_file(path, first)
    parse_file(path, second)
    assert first.getvalue() == second.getvalue()
