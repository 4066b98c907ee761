"""``incidentctl approve / deny`` against the real API app: commands only while a recovery step awaits approval."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from incidentctl.__main__ import main
from incidentctl.procs import free_port
from services.responder.api import ApiSettings, build_api
from services.responder.api.deps import ApiDeps
from services.responder.api.projection import Projection
from shared import events as ev
from shared import models as m
from tests.unit.services.responder.api.builders import at, incident, transition
from tests.unit.services.responder.api.test_routes import TOKEN, Recorder


def requested(incident_id: str) -> ev.RecoveryApprovalRequested:
    step = m.RecoveryStep(index=0, action="restart_process", target="demo")
    data = m.RecoveryApproval(
        plan_id="plan-1", incident_id=incident_id, target="demo", step=step, severity=m.Severity.CRITICAL,
        timeout_s=300, default=m.ApprovalDefault.DENY,
    )  # fmt: skip
    return ev.RecoveryApprovalRequested.create(
        data, source="/t", id_parts=(incident_id,), time=at(5), correlationid=incident_id
    )


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Recorder, Projection]]:
    projection = Projection()
    for e in [
        transition(ev.IncidentOpened, incident(), t=2, reason="down"),
        transition(ev.IncidentOpened, incident("inc-2", target="web"), t=3, reason="web"),
        requested("inc-1"),
    ]:
        projection.apply(e)
    recorder = Recorder()
    deps = ApiDeps(
        settings=ApiSettings(token=SecretStr(TOKEN)), projection=projection, publish=recorder,
        registry=CollectorRegistry(), clock=lambda: at(100),
    )  # fmt: skip
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_api(deps), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(500):
        try:
            httpx.get(f"{base}/api/incidents", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.02)
    yield base, recorder, projection
    server.should_exit = True
    thread.join(10)


def run(served: tuple[str, Recorder, Projection], monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setenv("IR_API_TOKEN", TOKEN)
    monkeypatch.setenv("IR_LANG", "en")
    try:
        return main(["--api", served[0], *argv])
    except SystemExit as exc:  # argparse's usage errors
        return int(exc.code or 0)


def test_the_console_and_api_show_the_step_awaiting_approval(served: tuple[str, Recorder, Projection]) -> None:
    detail = httpx.get(f"{served[0]}/api/incidents/inc-1", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert detail["summary"]["awaiting_approval"] == "restart_process on demo (no decision within 300s: deny)"
    assert "approval" in detail["timeline"][-1]["summary"]


@pytest.mark.parametrize(
    ("argv", "cls", "text"),
    [
        (["approve", "inc-1"], ev.ApproveRequested, ""),
        (["approve", "inc-1", "--reason", "off-peak"], ev.ApproveRequested, "off-peak"),
        (["deny", "inc-1", "--reason", "peak traffic"], ev.DenyRequested, "peak traffic"),
    ],
)
def test_approve_and_deny_publish_the_command_with_who_and_why(
    served: tuple[str, Recorder, Projection],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    cls: type,
    text: str,
) -> None:
    assert run(served, monkeypatch, *argv, "--actor", "ann") == 0
    assert json.loads(capsys.readouterr().out)["event_type"] == cls.event_type
    command = served[1].events[-1][0]
    assert isinstance(command, cls) and (command.data.actor, command.data.text) == ("ann", text)


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["deny", "inc-1"], 2, "--reason"),
        (["approve", "inc-2"], 1, "no recovery step of inc-2 awaits approval"),
        (["approve", "inc-nope"], 3, "not found"),
    ],
)
def test_refusals_are_one_line(
    served: tuple[str, Recorder, Projection],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    words: str,
) -> None:
    rc = run(served, monkeypatch, *argv)
    err = capsys.readouterr().err
    assert rc == code and words in err and len(err.strip().splitlines()) == 1, err
