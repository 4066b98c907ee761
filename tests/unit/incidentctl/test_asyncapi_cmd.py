"""``incidentctl asyncapi``: the generator of docs/asyncapi.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from incidentctl.__main__ import main
from shared.asyncapi import render


def test_writes_the_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "asyncapi.json"
    assert main(["asyncapi", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render()
    assert capsys.readouterr().out == f"wrote {out}\n"


def test_prints_the_document_without_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["asyncapi"]) == 0
    assert json.loads(capsys.readouterr().out)["asyncapi"] == "3.0.0"


def test_a_missing_folder_is_one_line_saying_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["asyncapi", "--out", str(tmp_path / "nope" / "asyncapi.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "create it or pick another --out" in err and "Traceback" not in err
