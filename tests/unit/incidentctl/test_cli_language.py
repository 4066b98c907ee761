"""The CLI's one-line errors and fixed status lines in Korean with ``IR_LANG=ko``; English by default."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from incidentctl.api_client import ApiError
from incidentctl.exits import MESSAGES, Exit, NoStack, cli_lang, explain, say
from shared.errors import ConfigurationError

HANGUL = re.compile(r"[\uac00-\ud7a3]")


class ConnectError(Exception):
    """Named like httpx's: `explain` goes by the class name."""


class NoBrokersAvailable(Exception):
    """Named like kafka-python's."""


FAILURES: list[tuple[BaseException, Exit]] = [
    (RuntimeError("the scenario did not finish"), Exit.FAILED),
    (ApiError(500, "boom"), Exit.FAILED),
    (KeyError("weird"), Exit.NOT_FOUND),
    (OSError("disk full"), Exit.FAILED),
    (ValueError("bad --from 'yesterday'"), Exit.USAGE),
    (ConfigurationError("rules.yaml line 3: threshold: not a number"), Exit.USAGE),
    (FileNotFoundError("no report inc-9"), Exit.NOT_FOUND),
    (ApiError(404, "no incident inc-9"), Exit.NOT_FOUND),
    (ApiError(401, "bad token"), Exit.AUTH),
    (NoStack("no stack runs under .stack"), Exit.NO_STACK),
    (ConnectError("refused"), Exit.UNREACHABLE),
    (NoBrokersAvailable(), Exit.UNREACHABLE),
]


def test_every_failing_exit_code_is_covered() -> None:
    assert {code for _, code in FAILURES} == set(Exit) - {Exit.OK, Exit.INTERRUPTED}


@pytest.mark.parametrize(("exc", "code"), FAILURES, ids=lambda v: type(v).__name__)
def test_each_error_in_korean_is_one_line_with_hangul(exc: BaseException, code: Exit) -> None:
    got, line = explain(exc, api_url="http://127.0.0.1:8080", bootstrap="127.0.0.1:9092", lang="ko")
    assert got == code
    assert HANGUL.search(line), line
    assert "\n" not in line
    english_code, english = explain(exc, api_url="http://127.0.0.1:8080", bootstrap="127.0.0.1:9092")
    assert english_code == code
    assert not HANGUL.search(english), english


def test_english_lines_stay_as_they_were() -> None:
    assert explain(ApiError(404, "x"))[1] == "not found (HTTP 404: x): list what exists with 'incidentctl incidents'"
    assert explain(ValueError("bad window"))[1] == "bad window"
    assert explain(ConnectError("refused"), api_url="http://h:1")[1].startswith("the API at http://h:1 does not")


def test_both_tables_have_the_same_keys_and_korean_lines_have_hangul() -> None:
    assert MESSAGES["ko"].keys() == MESSAGES["en"].keys()
    fixed = {k: v for k, v in MESSAGES["ko"].items() if k != "where"}
    assert all(HANGUL.search(v) for v in fixed.values()), [k for k, v in fixed.items() if not HANGUL.search(v)]


@pytest.mark.parametrize(
    ("env", "lang"),
    [
        ({}, "en"),
        ({"IR_LANG": "ko"}, "ko"),
        ({"LANG": "ko_KR.UTF-8"}, "ko"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"IR_LANG": "en", "LANG": "ko_KR.UTF-8"}, "en"),
        ({"IR_LANG": "KO"}, "ko"),
    ],
)
def test_the_language_comes_from_ir_lang_then_lang(env: dict[str, str], lang: str) -> None:
    assert cli_lang(env) == lang


def test_status_lines_in_korean() -> None:
    assert say("down_none", "ko", root="/x") == "/x에서 실행 중인 스택이 없습니다: 중지할 것이 없습니다"
    assert say("down_none", "en", root="/x") == "no stack runs under /x: nothing to stop"


def _cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("IR_LANG", "LANG", "LC_ALL", "IR_API_URL")}
    return subprocess.run(
        [sys.executable, "-m", "incidentctl", "--dir", str(cwd / "none"), *args],
        capture_output=True, text=True, env={**base, **env}, cwd=cwd, timeout=60,
    )  # fmt: skip


def test_an_error_and_a_status_line_in_korean_from_the_command(tmp_path: Path) -> None:
    failed = _cli("incidents", cwd=tmp_path, IR_LANG="ko")
    assert failed.returncode == Exit.NO_STACK, failed.stderr
    (line,) = failed.stderr.strip().splitlines()
    assert line.startswith("incidentctl: 실행 중인 스택이 없습니다: "), line
    assert "Traceback" not in failed.stderr
    down = _cli("down", cwd=tmp_path, IR_LANG="ko")
    assert down.returncode == 0
    assert down.stdout.strip() == f"{tmp_path / 'none'}에서 실행 중인 스택이 없습니다: 중지할 것이 없습니다"
    english = _cli("incidents", cwd=tmp_path)
    assert english.returncode == Exit.NO_STACK
    assert not HANGUL.search(english.stderr), english.stderr
