"""File names from event data stay in their folder; state and secret files are private to the owner."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from services.rca.report.publish import report_file, write_files
from shared.files import UnsafePath, confined, safe_stem, write_private
from tests.unit.services.rca.report.test_report import report

HOSTILE_IDS = ["../../../x", "/etc/passwd", "a/b", "..", ".hidden", "x\x00y", "a b", "", "x" * 300]


def test_write_private_creates_an_owner_only_file_atomically(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    old = os.umask(0o022)
    try:
        write_private(path, '{"api_token": "t"}')
        write_private(path, '{"api_token": "u"}')
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == '{"api_token": "u"}'
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary file left


@pytest.mark.parametrize("name", HOSTILE_IDS)
def test_unsafe_stems_are_refused(name: str) -> None:
    with pytest.raises(UnsafePath):
        safe_stem(name)


def test_confined_paths(tmp_path: Path) -> None:
    assert confined(tmp_path, "a.md") == (tmp_path / "a.md").resolve()
    (tmp_path / "link").symlink_to("/etc")
    for bad in ["../x.md", "/etc/passwd", str(tmp_path / ".." / "x"), "link/passwd"]:
        with pytest.raises(UnsafePath):
            confined(tmp_path, bad)


@pytest.mark.parametrize("incident_id", ["../../../x", "/tmp/evil-report"])
def test_reports_are_never_written_outside_the_reports_folder(tmp_path: Path, incident_id: str) -> None:
    out = tmp_path / "reports"
    before = set(tmp_path.rglob("*")) | set(Path("/tmp").glob("evil-report*"))
    with pytest.raises(UnsafePath):
        write_files(report(), out, formats=["md", "html"], lang="en", stem=incident_id)
    with pytest.raises(UnsafePath):
        report_file(out, incident_id, "md")
    assert set(tmp_path.rglob("*")) | set(Path("/tmp").glob("evil-report*")) == before
