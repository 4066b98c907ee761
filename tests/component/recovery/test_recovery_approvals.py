"""Approvals, the circuit breaker and rollback through the recovery handlers' bus (in memory)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.recovery.app import register
from services.recovery.domain.catalog import Catalog, HttpPost, RestartProcess
from services.recovery.handlers import RecoveryHandlers
from services.recovery.settings import RecoverySettings
from services.recovery.state import RecoveryState
from shared import events as ev
from shared import models as m
from shared.runtime import Service
from shared.topics import COMMANDS, INCIDENTS, RECOVERY
from tests.component.harness import BusHarness
from tests.component.recovery.test_recovery_handlers import FakeRunner

pytestmark = pytest.mark.component

DEMO = {"name": "demo", "command": ["true"], "pidfile": "/tmp/x.pid"}
UNDO = {"name": "undo", "target": "demo", "url": "http://127.0.0.1:9/undo"}
CATALOG = Catalog.build(
    [
        RestartProcess(name="demo", target="demo", argv=("true",), pidfile="/tmp/x.pid"),
        HttpPost(name="undo", target="demo", url="http://127.0.0.1:9/undo"),
    ]
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def opened(severity: m.Severity = m.Severity.CRITICAL, n: int = 0) -> ev.IncidentOpened:
    inc = m.Incident(
        incident_id=f"inc-{n}", group_key="demo", target="demo", title="down", severity=severity,
        severity_reason="r", status=m.IncidentStatus.TRIGGERED, opened_at=datetime.now(UTC) - timedelta(seconds=1),
        signals=("process.up",), impacts=(m.Impact.SERVICE_DOWN,), anomaly_ids=(f"a{n}",),
    )  # fmt: skip
    data = m.IncidentTransition(incident=inc, reason="opened")
    return ev.IncidentOpened.create(data, source="/t", id_parts=(inc.incident_id,), correlationid=inc.incident_id)


def command(cls: type[ev.ApproveRequested | ev.DenyRequested], text: str = "", n: int = 0) -> ev.CommandEvent:
    data = m.OperatorCommand(command_id=f"c{n}{cls.__name__}", incident_id=f"inc-{n}", actor="ana", text=text)
    return cls.create(data, source="/t", id_parts=(data.command_id,), correlationid=data.incident_id)


async def recovery(
    harness: BusHarness, runner: FakeRunner, clock: Clock, *, default: str = "deny", state: RecoveryState | None = None,
    **overrides: Any,
) -> RecoveryHandlers:  # fmt: skip
    approval = {"restart_process": {"severities": ["critical"], "timeout_s": 60, "default": default}}
    settings = RecoverySettings(
        managed_processes=[DEMO], http_actions=[UNDO], verification={"healthy_scrapes": 2, "timeout_s": 30.0},
        targets={"demo": {"approval": approval, "rollback": {"restart_process": "http_post:undo"}}}, **overrides,
    )  # fmt: skip
    service = Service.create("recovery", settings)
    handlers = RecoveryHandlers(settings, service.bus, CATALOG, runner, state or RecoveryState(), clock=clock)
    register(service.bus, handlers, settings)
    await harness.attach(service.bus)
    return handlers


def types(harness: BusHarness) -> list[str]:
    return [e.type.rsplit(".", 1)[-1] for e in harness.published(RECOVERY)]


async def test_critical_step_waits_for_approval_and_runs_once(harness: BusHarness) -> None:
    runner, clock = FakeRunner(), Clock()
    await recovery(harness, runner, clock)
    await harness.feed(INCIDENTS, opened())
    assert runner.ran == [] and types(harness) == ["planned", "approval_requested"]
    records = await harness.feed(COMMANDS, command(ev.ApproveRequested, "go"))
    assert len(runner.ran) == 1
    await harness.deliver(COMMANDS, records)  # the approval replayed
    await harness.feed(COMMANDS, command(ev.ApproveRequested, "again", n=0))
    await harness.feed(INCIDENTS, opened())
    assert len(runner.ran) == 1
    assert types(harness) == ["planned", "approval_requested", "approved", "step_started", "step_completed"]
    approved = next(e for e in harness.published(RECOVERY) if isinstance(e, ev.RecoveryApproved))
    assert (approved.data.actor, approved.data.reason) == ("ana", "go")


async def test_major_incident_needs_no_approval(harness: BusHarness) -> None:
    runner, clock = FakeRunner(), Clock()
    await recovery(harness, runner, clock)
    await harness.feed(INCIDENTS, opened(m.Severity.MAJOR))
    assert len(runner.ran) == 1


async def test_denied_step_never_runs_and_the_recovery_fails(harness: BusHarness) -> None:
    runner, clock = FakeRunner(), Clock()
    await recovery(harness, runner, clock)
    await harness.feed(INCIDENTS, opened())
    await harness.feed(COMMANDS, command(ev.DenyRequested, "peak hour"))
    await harness.feed(COMMANDS, command(ev.ApproveRequested))  # too late: denied already
    assert runner.ran == []
    assert types(harness) == ["planned", "approval_requested", "denied", "failed"]
    failed = harness.published(RECOVERY)[-1]
    assert isinstance(failed, ev.RecoveryFailed)
    assert failed.data.detail == "step restart_process not run: denied by ana: peak hour"


@pytest.mark.parametrize(("default", "ran", "last"), [("deny", 0, "failed"), ("approve", 1, "step_completed")])
async def test_timeout_applies_the_declared_default(harness: BusHarness, default: str, ran: int, last: str) -> None:
    runner, clock = FakeRunner(), Clock()
    handlers = await recovery(harness, runner, clock, default=default)
    await harness.feed(INCIDENTS, opened())
    await handlers.check_deadlines()
    assert types(harness)[-1] == "approval_requested"
    clock.now += timedelta(seconds=61)
    await handlers.check_deadlines()
    await harness.feed(COMMANDS, command(ev.ApproveRequested))  # after the timeout: the default stands
    assert len(runner.ran) == ran and types(harness)[-1] == last
    decided = [e for e in harness.published(RECOVERY) if isinstance(e, ev.RecoveryApproved | ev.RecoveryDenied)]
    assert [e.data.actor for e in decided] == ["timeout"]


async def test_restarted_service_takes_the_approval_and_never_runs_twice(harness: BusHarness) -> None:
    runner, clock = FakeRunner(), Clock()
    first = await recovery(harness, runner, clock)
    await harness.feed(INCIDENTS, opened())
    await harness.detach(first.bus)
    for _ in range(2):  # a restarted instance: its state and ledger rebuilt from the topics
        state = RecoveryState()
        again = await recovery(harness, runner, clock, state=state)
        await harness.rebuild(again.bus, (RECOVERY,), state.apply, inputs=(INCIDENTS,))
        await again.resume_approvals()
        await harness.feed(COMMANDS, command(ev.ApproveRequested))
        await harness.feed(INCIDENTS, opened())
        await harness.detach(again.bus)
    assert len(runner.ran) == 1


async def test_failed_verification_rolls_back_once_and_says_so(harness: BusHarness) -> None:
    runner, clock = FakeRunner(), Clock()
    handlers = await recovery(harness, runner, clock)
    await harness.feed(INCIDENTS, opened(m.Severity.MAJOR))
    clock.now += timedelta(seconds=31)
    await handlers.check_deadlines()
    await handlers.check_deadlines()
    assert [a.action for a in runner.ran] == ["restart_process", "http_post:undo"]
    failed = harness.published(RECOVERY)[-1]
    assert isinstance(failed, ev.RecoveryFailed) and failed.data.detail.endswith("; rolled back: http_post:undo ok")


async def test_breaker_opens_after_failed_recoveries_and_escalates(harness: BusHarness) -> None:
    runner, clock = FakeRunner(ok=False), Clock()
    await recovery(harness, runner, clock, breaker={"failures": 2, "window_s": 600, "cooldown_s": 300})
    for n in (1, 2):
        await harness.feed(INCIDENTS, opened(m.Severity.MAJOR, n=n))
    await harness.feed(INCIDENTS, opened(m.Severity.MAJOR, n=3))
    assert len(runner.ran) == 2
    refused = harness.published(RECOVERY)[-1]
    assert isinstance(refused, ev.RecoveryFailed) and refused.data.detail.startswith("circuit open: 2 failed")


async def test_an_approval_after_the_incident_was_resolved_runs_nothing(harness: BusHarness) -> None:
    runner, clock = FakeRunner(), Clock()
    await recovery(harness, runner, clock)
    await harness.feed(INCIDENTS, opened())
    inc = opened().data.incident.model_copy(update={"status": m.IncidentStatus.RESOLVED})
    resolved = ev.IncidentResolved.create(
        m.IncidentTransition(incident=inc, reason="fixed by hand"), source="/t", id_parts=("r",),
        correlationid=inc.incident_id,
    )  # fmt: skip
    await harness.feed(INCIDENTS, resolved)
    await harness.feed(COMMANDS, command(ev.ApproveRequested, "late"))
    assert runner.ran == []
    failed = harness.published(RECOVERY)[-1]
    assert isinstance(failed, ev.RecoveryFailed) and "was resolved first" in failed.data.detail
