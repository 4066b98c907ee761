"""``incidentctl declare / escalate / reassign / severity / merge / split / ack --level`` against the real API app.

The API is served by uvicorn on a loopback port (no broker: its publisher records the commands),
so the CLI's HTTP requests, the API's validation and the CLI's one-line errors are all real.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from incidentctl.__main__ import build_parser, decision_fields, main
from incidentctl.procs import free_port
from services.responder.api import ApiSettings, build_api
from services.responder.api.deps import ApiDeps
from services.responder.api.projection import Projection
from shared import events as ev
from shared import models as m
from tests.unit.services.responder.api.builders import anomaly, at, incident, transition
from tests.unit.services.responder.api.test_routes import TOKEN, Recorder


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Recorder]]:
    projection = Projection()
    for e in [
        anomaly(t=1),
        transition(ev.IncidentOpened, incident(), t=2, reason="cpu"),
        transition(ev.IncidentOpened, incident("inc-2", target="web"), t=3, reason="web"),
    ]:
        projection.apply(e)
    recorder = Recorder()
    deps = ApiDeps(
        settings=ApiSettings(token=SecretStr(TOKEN)),
        projection=projection,
        publish=recorder,
        registry=CollectorRegistry(),
        clock=lambda: at(100),
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_api(deps), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(500):  # up to 10 s for the server to listen
        try:
            httpx.get(f"{base}/api/incidents", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.02)
    yield base, recorder
    server.should_exit = True
    thread.join(10)


def run(served: tuple[str, Recorder], monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setenv("IR_API_TOKEN", TOKEN)
    monkeypatch.setenv("IR_LANG", "en")
    return main(["--api", served[0], *argv])


def last(recorder: Recorder) -> Any:
    return recorder.events[-1][0]


def test_declare_prints_the_new_incident_and_publishes_the_command(
    served: tuple[str, Recorder], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["declare", "customer data exposed", "--severity", "critical", "--impact", "data_loss", "--actor", "carol"]
    assert run(served, monkeypatch, *argv, "--target", "billing") == 0
    out = json.loads(capsys.readouterr().out)
    command = last(served[1])
    assert isinstance(command, ev.DeclareRequested) and out["incident_id"] == command.data.incident_id
    assert (command.data.severity, command.data.impact, command.data.target, command.data.actor) == (
        m.Severity.CRITICAL, m.Impact.DATA_LOSS, "billing", "carol"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "cls", "field", "value"),
    [
        (["escalate", "inc-1", "--reason", "db corruption"], ev.EscalateRequested, "text", "db corruption"),
        (["escalate", "inc-1", "--to", "L3"], ev.EscalateRequested, "level", m.Team.L3),
        (["reassign", "inc-1", "--team", "L2"], ev.ReassignRequested, "team", m.Team.L2),
        (["reassign", "inc-1", "--person", "dave"], ev.ReassignRequested, "person", "dave"),
        (["severity", "inc-1", "minor", "--reason", "staging"], ev.SeverityRequested, "severity", m.Severity.MINOR),
        (["severity", "inc-1", "clear", "--reason", "rules"], ev.SeverityRequested, "severity", None),
        (["merge", "inc-2", "--into", "inc-1"], ev.MergeRequested, "other_incident_id", "inc-1"),
        (["ack", "inc-1", "--level", "L1"], ev.AcknowledgeRequested, "level", m.Team.L1),
    ],
)
def test_decisions_reach_the_api(
    served: tuple[str, Recorder],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    cls: type,
    field: str,
    value: Any,
) -> None:
    assert run(served, monkeypatch, *argv, "--actor", "ann") == 0
    assert json.loads(capsys.readouterr().out)["event_type"] == cls.event_type
    command = last(served[1])
    assert isinstance(command, cls) and getattr(command.data, field) == value and command.data.actor == "ann"


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["escalate", "inc-nope"], 3, "not found"),
        (["merge", "inc-1", "--into", "inc-1"], 1, "cannot merge into itself"),
        (["split", "inc-1", "an-elsewhere"], 1, "not anomalies of inc-1"),
        (["reassign", "inc-1"], 2, "give --team"),
        (["severity", "inc-1", "urgent", "--reason", "x"], 2, "invalid choice"),
        (["severity", "inc-1", "major"], 2, "--reason"),
    ],
)
def test_errors_are_one_line(
    served: tuple[str, Recorder],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    words: str,
) -> None:
    try:
        rc = run(served, monkeypatch, *argv)
    except SystemExit as exc:  # argparse's usage errors exit (one line, code 2)
        rc = int(exc.code or 0)
    err = capsys.readouterr().err
    assert rc == code and words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_decision_fields_parse() -> None:
    args = build_parser().parse_args(["split", "inc-1", "a1", "a2", "--title", "disk", "--reason", "two faults"])
    assert decision_fields(args) == ("split", {"anomaly_ids": ["a1", "a2"], "title": "disk", "text": "two faults"})
