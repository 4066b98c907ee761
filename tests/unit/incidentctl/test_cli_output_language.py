"""Every command's fixed words follow IR_LANG: Korean with ``ko``, English otherwise and then byte for byte as before.

``cli_en_golden.json`` holds the English output of each formatter for the inputs in ``cli_samples``, captured
from the code before the words moved into `incidentctl.exits.MESSAGES`; names, ids, targets and event text
stay as they are in both languages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from incidentctl import api_client, dlq_cmd, live, scenario, status_cmd, whatif_diff
from incidentctl.__main__ import build_parser
from incidentctl.exits import MESSAGES, say
from shared.topics import TABLE_WORDS, markdown_table
from tests.unit.incidentctl import cli_samples as s

HANGUL = re.compile(r"[\uac00-\ud7a3]")
GOLDEN: dict[str, str | list[str]] = json.loads((Path(__file__).parent / "cli_en_golden.json").read_text("utf-8"))
STATE = s.stack_state(Path("/tmp/stackx"))  # never created: the view only names its state.json

RENDER: dict[str, Callable[[str], str | list[str]]] = {
    "dlq_list": lambda lang: dlq_cmd.format_list(s.letters(), lang),
    "dlq_show": lambda lang: dlq_cmd.format_one(s.letters()["metrics.v1"][0], lang),
    "topics": lambda lang: markdown_table({k: say(f"topics_{k}", lang) for k in TABLE_WORDS}),
    "incidents": lambda lang: api_client.format_incident_table(s.incidents(), lang),
    "incidents_none": lambda lang: api_client.format_incident_table([], lang),
    "incident": lambda lang: api_client.format_timeline(s.timeline(), lang),
    "oncall": lambda lang: [api_client.format_oncall(body, lang) for body in s.ONCALL],
    "status": lambda lang: status_cmd.format_table(s.status_rows(), now=s.NOW, lang=lang),
    "scenario": lambda lang: scenario.format_result(s.SCENARIO, lang),
    "whatif": lambda lang: whatif_diff.format_diff(whatif_diff.diff(*s.outcomes()), lang=lang),
    "whatif_none": lambda lang: whatif_diff.format_diff([], lang=lang),
    "live": lambda lang: live.render_text(STATE, s.live_incidents(), lang=lang),
    "live_empty": lambda lang: live.render_text(STATE, [], lang=lang),
    "live_error": lambda lang: live.render_text(STATE, None, "connection refused", lang=lang),
}

# One-line messages printed by the commands themselves (chaos, dlq redrive, create-topics, actions --done, ...).
LINES: list[tuple[str, dict[str, object], str]] = [
    ("chaos_injected", {"fault": "crash", "at": "2026-05-01T13:03:04+00:00"},
     "injected crash at 2026-05-01T13:03:04+00:00"),
    ("dlq_redriven_one", {"line": "metrics.v1.dlq@3 -> metrics.v1"}, "re-driven metrics.v1.dlq@3 -> metrics.v1"),
    ("dlq_redriven", {"count": 2, "topic": "metrics.v1"}, "2 dead letter(s) re-driven to metrics.v1"),
    ("topics_created", {"count": 2, "names": "a, b"}, "created 2 topics: a, b"),
    ("topics_all_existed", {}, "(all existed)"),
    ("act_done", {"action": "act-1", "actor": "ann"}, "act-1: done (ann)"),
    ("act_none", {}, "no follow-up actions"),
    ("sc_injecting", {"fault": "crash", "target": "demo"}, "injecting fault crash into demo"),
    ("sc_starting", {"data": "/x/data"},
     "starting embedded Kafka + Elasticsearch (noida-db) in /x/data and the services, supervised"),
    ("sc_stopped", {"pid": 42}, "stopped the stack (supervisor pid 42)"),
    ("live_stopped", {}, "the stack was stopped (incidentctl down)"),
    ("detect_scored", {"rows": 5, "output": "out.csv"}, "scored 5 rows -> out.csv"),
    ("asyncapi_wrote", {"path": "docs/asyncapi.json"}, "wrote docs/asyncapi.json"),
    # the CLI's own error texts (what `explain` wraps in its one line)
    ("err_ratio", {}, "--ratio goes with error-burst, in (0, 1]: e.g. incidentctl chaos error-burst --ratio 0.01"),
    ("err_no_folder", {"folder": "nope", "name": "a.json"},
     "no folder nope to write a.json into; create it or pick another --out"),
    ("err_speed", {"speed": 0.0}, "--speed 0.0: give virtual seconds per wall second, above 0 and at most 1000"),
    ("err_into_topics", {}, "--into re-drives the recorded metrics of a window: give --from/--to, not topics"),
    ("err_config_dir", {"folder": "cfg"},
     "--config cfg: not a folder (it holds detector.yaml, responder.yaml, rca.yaml)"),
    ("err_no_stack", {"root": ".stack"}, "no stack runs under .stack: start one with 'incidentctl up' (or give --dir)"),
    ("err_unreadable", {"path": ".stack/state.json", "name": "JSONDecodeError"},
     ".stack/state.json is unreadable (JSONDecodeError): run 'incidentctl up' to start afresh"),
    ("err_not_running", {"root": ".stack"},
     "the stack under .stack is not running (its processes are gone, e.g. after a reboot): "
     "run 'incidentctl up' (it clears the stale state)"),
    ("err_time", {"text": "yesterday"},
     "cannot read the time 'yesterday': give an ISO time (2026-05-01T14:03:00Z) or a relative one (-30m, -2h)"),
    ("err_window", {"start": "b", "end": "a"}, "empty window: --from b is not before --to a"),
    ("err_topic", {"name": "nope", "known": "a, b"}, "unknown topic 'nope': 'incidentctl topics' lists them (a, b)"),
    ("err_no_action", {"action": "act-9"},
     "no follow-up action 'act-9'; list them with: incidentctl actions --state all"),
    ("err_dlq_topic", {"names": "nope", "known": "a, b"}, "no dead-letter topic for nope (known: a, b)"),
    ("err_dlq_offset", {"offsets": "3, 4"}, "no dead letter at offset(s) 3, 4"),
    ("err_into_name", {"into": "a/b"}, "--into 'a/b': use letters, digits, '.', '_' or '-' (e.g. --into whatif1.)"),
    ("err_into_own", {"into": "ir."},
     "--into 'ir.' is the recorded stack's own prefix: choose a new one (e.g. whatif1.)"),
    ("err_no_scrapes", {}, "no recorded scrapes in that window: widen --from/--to"),
    ("err_into_used", {"into": "w1."}, "--into 'w1.' already holds a replay: choose a new prefix"),
    ("err_no_report", {"incident": "inc-9"},
     "no events of incident 'inc-9' on the topics: see 'incidentctl incidents'"),
    ("wi_describe", {"scrapes": 3, "targets": 1, "logs": " (log analysis off)", "span": "a .. b", "into": "w.",
                     "config": "default config", "original": 1, "replay": 0},
     "replayed 3 scrapes of 1 target(s) (log analysis off) (a .. b) into 'w.' with default config: "
     "1 incident(s) originally, 0 in the replay"),
]  # fmt: skip


def _text(out: str | list[str]) -> str:
    return out if isinstance(out, str) else "\n".join(out)


def test_every_sample_has_a_golden_english_output() -> None:
    assert RENDER.keys() == GOLDEN.keys()


@pytest.mark.parametrize("name", sorted(RENDER))
def test_english_output_is_unchanged(name: str) -> None:
    # the topic table follows the topic registry: its English is the default table (the README's)
    expected = markdown_table() if name == "topics" else GOLDEN[name]
    assert RENDER[name]("en") == expected


@pytest.mark.parametrize("name", sorted(RENDER))
def test_korean_output_has_hangul_and_keeps_the_data(name: str) -> None:
    korean = _text(RENDER[name]("ko"))
    assert HANGUL.search(korean), korean
    for kept in (
        "inc-1",
        "demo is unhealthy",
        "metrics.v1",
        "bad json",
        "cpu_percent",
        "detector",
        "http://127.0.0.1:41234/",
    ):
        if kept in _text(GOLDEN[name]):
            assert kept in korean, (kept, korean)


@pytest.mark.parametrize(("key", "params", "english"), LINES, ids=[k for k, _, _ in LINES])
def test_each_command_line_in_both_languages(key: str, params: dict[str, object], english: str) -> None:
    assert say(key, "en", **params) == english
    korean = say(key, "ko", **params)
    assert HANGUL.search(korean), korean
    for value in params.values():
        if isinstance(value, str) and value and not value.startswith(" ") and value != "default config":
            assert value in korean, (value, korean)


def test_every_english_key_has_a_korean_line() -> None:
    assert set(MESSAGES["en"]) <= set(MESSAGES["ko"])
    assert set(MESSAGES["ko"]) == set(MESSAGES["en"])


def test_every_korean_line_but_the_connector_has_hangul() -> None:
    missing = [k for k, v in MESSAGES["ko"].items() if k != "where" and not HANGUL.search(v)]
    assert not missing


def test_korean_tables_align_by_terminal_cells() -> None:
    """Hangul takes two cells: the columns after a Korean heading start where the data's do."""
    lines = status_cmd.format_table(s.status_rows(), now=s.NOW, lang="ko").splitlines()
    ends = {cell_len(line[: line.index(" 0 ") + 2]) for line in lines if " 0 " in line}
    assert len(ends) == 1, lines
    head, *rows = api_client.format_incident_table(s.incidents(), "ko").splitlines()
    starts = {cell_len(line[: line.index("demo")]) for line in rows}
    assert starts == {cell_len(head[: head.index("대상")])}, [head, *rows]


@pytest.mark.parametrize("incidents", [s.live_incidents(), [], None], ids=["incidents", "none", "api-down"])
def test_the_korean_live_view_fits_80_cells_with_url_and_token_hint(incidents: list[dict[str, Any]] | None) -> None:
    text = live.render_text(STATE, incidents, "" if incidents is not None else "connection refused", lang="ko")
    widest = max(cell_len(line) for line in text.splitlines())
    assert widest <= 80, text
    assert "http://127.0.0.1:41234/" in text
    assert live.token_hint(STATE, "ko") in text
    assert "s3cret-token" not in text
    assert HANGUL.search(live.token_hint(STATE, "ko"))


def test_the_korean_live_view_is_not_cut_short_at_wider_terminals() -> None:
    text = live.render_text(STATE, s.live_incidents(), lang="ko", width=120)
    assert max(cell_len(line) for line in text.splitlines()) <= 120
    assert "제목" in text and "장애 장애 장애 장애" in text


def test_the_whatif_table_is_cut_by_cells() -> None:
    text = whatif_diff.format_diff(whatif_diff.diff(*s.outcomes()), width=30, lang="ko")
    assert max(cell_len(line) for line in text.splitlines()) <= 30


def test_actions_lang_defaults_to_the_cli_language() -> None:
    parser = build_parser()
    assert parser.parse_args(["actions"]).lang is None  # cmd_actions then takes cli_lang()
    assert parser.parse_args(["actions", "--lang", "en"]).lang == "en"


def test_the_language_comes_from_the_environment_when_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IR_LANG", "ko")
    assert HANGUL.search(status_cmd.format_table(s.status_rows(), now=s.NOW))
    assert HANGUL.search(api_client.format_incident_table(s.incidents()))
    monkeypatch.setenv("IR_LANG", "en")
    assert status_cmd.format_table(s.status_rows(), now=s.NOW) == GOLDEN["status"]


@pytest.mark.parametrize(("lang", "heading"), [("ko", "| 토픽 | 키 |"), ("en", "| topic | key |")])
def test_the_topics_command_prints_its_table_in_the_cli_language(
    lang: str, heading: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from incidentctl.__main__ import main

    monkeypatch.setenv("IR_LANG", lang)
    assert main(["topics"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(heading)
    if lang == "en":
        assert out == markdown_table() + "\n"


def test_the_whatif_header_line_in_both_languages() -> None:
    from datetime import UTC, datetime

    from incidentctl.replay_cmd import Window
    from incidentctl.whatif import WhatIf, describe

    original, replay = s.outcomes()
    result = WhatIf(scrapes=3, targets=1, original=original, replay=replay, log_records=12)
    window = Window(start=datetime(2026, 5, 1, 13, tzinfo=UTC))
    english = describe(result, into="w1.", window=window, config_dir=Path("cfg"), lang="en")
    assert english == (
        "replayed 3 scrapes of 1 target(s) and 12 log records (2026-05-01T13:00:00Z .. (open)) into 'w1.' with "
        "config cfg: 1 incident(s) originally, 2 in the replay"
    )
    off = WhatIf(scrapes=3, targets=1, original=original, replay=replay)
    assert describe(off, into="w1.", window=window, config_dir=None, lang="en").startswith(
        "replayed 3 scrapes of 1 target(s) (log analysis off) (2026-05-01T13:00:00Z .. (open)) into 'w1.' with "
        "default config:"
    )
    korean = describe(result, into="w1.", window=window, config_dir=Path("cfg"), lang="ko")
    assert HANGUL.search(korean) and "'w1.'" in korean and "2026-05-01T13:00:00Z" in korean and "cfg" in korean
