"""Approval of critical recovery steps on the real broker: the recovery service and the responder API together.

A critical incident's restart waits for a person: approved through the API it runs once (a
replayed approval changes nothing); denied, the recovery fails and the responder escalates;
with nobody deciding, the declared default (deny) applies at the timeout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from incidentctl.procs import free_port
from services.recovery.adapters.runner import read_pid
from services.recovery.settings import RecoverySettings
from shared import events as ev
from shared import models as m
from shared import topics
from shared.replay import replay
from shared.topic_admin import ensure_topics
from tests.integration.test_api_responder import AUTH, running_api
from tests.integration.test_recovery_service import (
    SLEEPER,
    managed,
    opened,
    recovery_events,
    running,
    send,
    until,
)

pytestmark = pytest.mark.integration
__all__ = ["managed"]  # the fixture, used by name


def approval_settings(
    kafka_bootstrap: str, unique: str, pidfile: Path, tmp_path: Path, *, timeout_s: float = 120
) -> RecoverySettings:
    critical = {"severities": ["critical"], "timeout_s": timeout_s, "default": "deny"}
    return RecoverySettings(
        kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{unique}.", group_id=f"recovery-{unique}",
        http_port=free_port(), deadline_check_s=0.2,
        managed_processes=[{"name": "demo", "target": "demo", "command": SLEEPER, "pidfile": str(pidfile),
                            "log_file": str(tmp_path / "demo.out"), "stop_timeout_s": 5}],
        http_actions=[{"name": "reset", "target": "web", "url": "http://127.0.0.1:9/reset"}],
        targets={"demo": {"approval": {"restart_process": critical}},
                 "web": {"approval": {"http_post:reset": critical}, "remedies": {"down": ["http_post:reset"]}}},
        verification={"healthy_scrapes": 2, "timeout_s": 60},
    )  # fmt: skip


def of(found: list[ev.Envelope[Any]], cls: type[Any], incident_id: str = "inc-demo") -> list[Any]:
    return [e for e in found if isinstance(e, cls) and e.correlationid == incident_id]


async def awaiting(client: Any, incident_id: str) -> bool:
    body = (await client.get(f"/api/incidents/{incident_id}")).json()
    return bool(body.get("summary", {}).get("awaiting_approval"))


async def test_approved_through_the_api_the_restart_runs_once(
    kafka_bootstrap: str, unique: str, managed: Any, tmp_path: Path
) -> None:
    pidfile, proc, seen = managed
    settings = approval_settings(kafka_bootstrap, unique, pidfile, tmp_path)
    await ensure_topics(settings)
    async with running(settings), running_api(settings, runtime=True) as (_, client):
        await send(settings, opened("demo"), opened("web"))
        await until(lambda: awaiting(client, "inc-demo"), what="the approval request in the API")
        assert read_pid(pidfile) == proc.pid  # nothing ran yet
        body = {"actor": "ana", "text": "restart is safe now", "request_id": "approve-1"}
        accepted = await client.post("/api/incidents/inc-demo/approve", headers=AUTH, json=body)
        assert accepted.status_code == 202, accepted.text

        async def restarted() -> bool:
            return bool(of(await recovery_events(settings), ev.RecoveryStepCompleted))

        await until(restarted, what="the approved restart")
        new_pid = read_pid(pidfile)
        assert new_pid is not None and new_pid != proc.pid
        seen.add(new_pid)
        # the approval again: the same request (a duplicate) and the raw command redelivered
        again = await client.post("/api/incidents/inc-demo/approve", headers=AUTH, json=body)
        assert again.status_code in (202, 409)
        command = None
        async for _, e in replay(settings, [settings.topic_prefix + topics.COMMANDS.name]):
            command = e if isinstance(e, ev.ApproveRequested) else command
        assert command is not None
        await send(settings, command, key="inc-demo")
        await until(lambda: awaiting(client, "inc-web"), what="the second incident's approval request")
        probe = ev.DenyRequested.create(
            m.OperatorCommand(command_id="probe", incident_id="inc-web", actor="bo", text="probe"),
            source="/tests", id_parts=("probe",), correlationid="inc-web",
        )  # fmt: skip
        await send(settings, probe, key="inc-demo")  # same partition as the replayed approval, behind it

        async def probe_done() -> bool:
            return bool(of(await recovery_events(settings), ev.RecoveryDenied, "inc-web"))

        await until(probe_done, what="the commands behind the replayed approval")
    found = await recovery_events(settings)
    assert len(of(found, ev.RecoveryStepStarted)) == 1
    assert [(e.data.actor, e.data.reason) for e in of(found, ev.RecoveryApproved)] == [("ana", "restart is safe now")]
    assert read_pid(pidfile) == new_pid


async def test_denied_through_the_api_the_recovery_fails_and_the_responder_escalates(
    kafka_bootstrap: str, unique: str, managed: Any, tmp_path: Path
) -> None:
    pidfile, proc, _ = managed
    settings = approval_settings(kafka_bootstrap, unique, pidfile, tmp_path)
    await ensure_topics(settings)
    async with running(settings), running_api(settings, runtime=True) as (_, client):
        await send(settings, opened("demo"))
        await until(lambda: awaiting(client, "inc-demo"), what="the approval request in the API")
        refused = await client.post("/api/incidents/inc-demo/deny", headers=AUTH, json={"actor": "bo"})
        assert refused.status_code == 422  # a denial needs a reason
        body = {"actor": "bo", "text": "peak traffic, restart by hand later"}
        assert (await client.post("/api/incidents/inc-demo/deny", headers=AUTH, json=body)).status_code == 202

        async def escalated() -> list[Any]:
            found = [e async for _, e in replay(settings, [settings.topic_prefix + topics.INCIDENTS.name])]
            return [e for e in found if isinstance(e, ev.IncidentEscalated) and "recovery failed" in e.data.reason]

        await until(escalated, what="the escalation after the denial")
        assert not await awaiting(client, "inc-demo")
        late = await client.post("/api/incidents/inc-demo/approve", headers=AUTH, json={"actor": "ana"})
        assert late.status_code == 409
    found = await recovery_events(settings)
    assert of(found, ev.RecoveryStepStarted) == []
    failed = of(found, ev.RecoveryFailed)
    why = "peak traffic, restart by hand later"
    assert [e.data.detail for e in failed] == [f"step restart_process not run: denied by bo: {why}"]
    assert read_pid(pidfile) == proc.pid and proc.poll() is None


async def test_nobody_decides_the_declared_default_denies_at_the_timeout(
    kafka_bootstrap: str, unique: str, managed: Any, tmp_path: Path
) -> None:
    pidfile, proc, _ = managed
    settings = approval_settings(kafka_bootstrap, unique, pidfile, tmp_path, timeout_s=1)
    await ensure_topics(settings)
    async with running(settings):
        await send(settings, opened("demo"))

        async def failed() -> list[Any]:
            return of(await recovery_events(settings), ev.RecoveryFailed)

        (verdict,) = await until(failed, what="the timeout's default")
    found = await recovery_events(settings)
    assert [e.data.actor for e in of(found, ev.RecoveryDenied)] == ["timeout"]
    assert verdict.data.detail.startswith("step restart_process not run: no decision within 1s: declared default deny")
    assert of(found, ev.RecoveryStepStarted) == [] and read_pid(pidfile) == proc.pid
