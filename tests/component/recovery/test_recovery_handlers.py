"""The recovery service's handlers through its bus: plan, run, verify; never twice, not after a restart either."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter

from services.recovery.adapters.runner import StepOutcome
from services.recovery.app import register
from services.recovery.domain.catalog import Action, Catalog, RestartProcess
from services.recovery.handlers import RecoveryHandlers
from services.recovery.settings import RecoverySettings
from services.recovery.state import RecoveryState
from shared import events as ev
from shared import models as m
from shared.runtime import Service
from shared.topics import INCIDENTS, METRICS, RECOVERY
from tests.component.harness import BusHarness

pytestmark = pytest.mark.component


class FakeRunner:
    def __init__(self, ok: bool = True) -> None:
        self.ran: list[Action] = []
        self.ok = ok

    async def run(self, action: Action, *, key: str = "") -> StepOutcome:
        self.ran.append(action)
        return StepOutcome(self.ok, "done")


CATALOG = Catalog.build([RestartProcess(name="demo", target="demo", argv=("true",), pidfile="/tmp/x.pid")])


def opened(target: str = "demo", *, age_s: float = 5.0) -> ev.IncidentOpened:
    inc = m.Incident(
        incident_id=f"inc-{target}", group_key=target, target=target, title="cpu", severity=m.Severity.MAJOR,
        severity_reason="r", status=m.IncidentStatus.TRIGGERED,
        opened_at=datetime.now(UTC) - timedelta(seconds=age_s), signals=("process.cpu_percent",),
    )  # fmt: skip
    data = m.IncidentTransition(incident=inc, reason="opened")
    return ev.IncidentOpened.create(data, source="/t", id_parts=(inc.incident_id,), correlationid=inc.incident_id)


def scrape(target: str = "demo", **values: float) -> ev.MetricsObserved:
    now = datetime.now(UTC) + timedelta(seconds=1)
    samples = tuple(m.MetricSample(name=k.replace("_", ".", 1), value=v) for k, v in values.items())
    data = m.MetricsObserved(target=target, host="h", observed_at=now, interval_s=1.0, samples=samples)
    return ev.MetricsObserved.create(data, source="/t", id_parts=(target, now.isoformat(), len(values)))


async def recovery(
    harness: BusHarness,
    runner: FakeRunner,
    *,
    state: RecoveryState | None = None,
    clock: Callable[[], datetime] | None = None,
    actions: Counter | None = None,
    **overrides: Any,
) -> RecoveryHandlers:
    """A recovery instance: its handlers subscribed as the service subscribes them, on a bus of the harness."""
    settings = RecoverySettings(verification={"healthy_scrapes": 2, "timeout_s": 30.0}, **overrides)
    service = Service.create("recovery", settings)
    options: dict[str, Any] = {"actions": actions} | ({"clock": clock} if clock is not None else {})
    handlers = RecoveryHandlers(settings, service.bus, CATALOG, runner, state or RecoveryState(), **options)
    register(service.bus, handlers, settings)
    await harness.attach(service.bus)
    return handlers


def types(harness: BusHarness) -> list[str]:
    return [e.type.rsplit(".", 1)[-1] for e in harness.published(RECOVERY)]


async def test_plan_run_verify_and_no_repeat_on_redelivery(harness: BusHarness) -> None:
    runner = FakeRunner()
    await recovery(harness, runner)
    records = await harness.feed(INCIDENTS, opened())
    await harness.deliver(INCIDENTS, records)  # redelivered
    assert len(runner.ran) == 1
    assert types(harness) == ["planned", "step_started", "step_completed"]
    await harness.feed(METRICS, scrape(process_up=1.0, http_up=1.0))
    await harness.feed(METRICS, scrape(process_up=1.0, http_up=1.0, http_error_rate=0.0))
    assert types(harness)[-1] == "verified"
    step_ids = [e.id for e in harness.published(RECOVERY) if isinstance(e, ev.RecoveryStepStarted)]
    assert len(step_ids) == 1


async def test_an_incident_waits_while_the_state_catches_up_after_an_assignment(harness: BusHarness) -> None:
    """aiokafka fetches a newly assigned partition while the catch-up runs: nothing acts before it ends."""
    runner = FakeRunner()
    handlers = await recovery(harness, runner)
    handlers.caught_up.clear()  # as `CatchUpOnAssign` does while it folds the other instances' events
    delivery = asyncio.create_task(harness.feed(INCIDENTS, opened()))
    await asyncio.sleep(0.05)
    assert not delivery.done() and runner.ran == [] and handlers.state.plans == {}
    handlers.caught_up.set()
    await delivery
    assert len(runner.ran) == 1


async def test_restarted_service_with_warm_ledger_does_not_run_again(harness: BusHarness) -> None:
    runner = FakeRunner()
    first = await recovery(harness, runner)
    await harness.feed(INCIDENTS, opened())
    await harness.detach(first.bus)
    # a new instance: ledger warmed from the recovery topic, state rebuilt from it and the incidents
    state = RecoveryState()
    second = await recovery(harness, runner, state=state)
    await harness.rebuild(second.bus, (RECOVERY,), state.apply, inputs=(INCIDENTS,))
    await harness.feed(INCIDENTS, opened())  # the incident again (a replay, or the last batch before the crash)
    assert len(runner.ran) == 1
    assert harness.published(RECOVERY, by=second.bus) == []


async def test_failed_step_fails_the_recovery(harness: BusHarness) -> None:
    runner = FakeRunner(ok=False)
    await recovery(harness, runner)
    await harness.feed(INCIDENTS, opened())
    assert types(harness)[-1] == "failed"


async def test_undeclared_target_escalates_via_recovery_failed(harness: BusHarness) -> None:
    runner = FakeRunner()
    await recovery(harness, runner)
    await harness.feed(INCIDENTS, opened("db"))
    assert runner.ran == []
    assert types(harness) == ["failed"]
    [failed] = harness.published(RECOVERY)
    assert isinstance(failed, ev.RecoveryFailed) and "no recovery action declared" in failed.data.detail


@pytest.mark.parametrize(
    ("overrides", "age_s"),
    [({"max_incident_age_s": 60.0}, 3600.0), ({"auto_recover": False}, 5.0)],
    ids=["old", "manual"],
)
async def test_old_or_manual_incidents_are_left_alone(
    harness: BusHarness, overrides: dict[str, Any], age_s: float
) -> None:
    runner = FakeRunner()
    await recovery(harness, runner, **overrides)
    await harness.feed(INCIDENTS, opened(age_s=age_s))
    assert runner.ran == [] and harness.published(RECOVERY) == []


async def test_the_clock_and_the_action_counter_are_given_at_construction(harness: BusHarness) -> None:
    event = opened(age_s=0.0)
    opened_at = event.data.incident.opened_at
    registry = CollectorRegistry()
    actions = Counter("ir_recovery_actions", "Recovery actions run", ["action", "outcome"], registry=registry)
    runner = FakeRunner()

    def at(seconds_after_opening: float) -> Callable[[], datetime]:
        return lambda: opened_at + timedelta(seconds=seconds_after_opening)

    late = await recovery(harness, runner, clock=at(61), actions=actions, max_incident_age_s=60.0)
    await harness.feed(INCIDENTS, event)
    assert harness.published(RECOVERY) == [] and runner.ran == []
    await harness.detach(late.bus)
    await recovery(harness, runner, clock=at(59), actions=actions, max_incident_age_s=60.0)
    await harness.feed(INCIDENTS, event)
    assert len(runner.ran) == 1
    assert registry.get_sample_value("ir_recovery_actions_total", {"action": "restart_process", "outcome": "ok"}) == 1


async def test_deadline_without_healthy_scrapes_fails(harness: BusHarness) -> None:
    runner = FakeRunner()
    handlers = await recovery(harness, runner)
    await harness.feed(INCIDENTS, opened())
    pending = handlers.state.pending["inc-demo"]
    handlers.state.pending["inc-demo"] = type(pending)(**{**pending.__dict__, "deadline": 0.0})
    await handlers.check_deadlines()
    assert types(harness)[-1] == "failed"
    assert handlers.state.pending == {}


def updated(prev: ev.IncidentOpened, *, anomalies: tuple[str, ...], seq: int) -> ev.IncidentUpdated:
    inc = prev.data.incident.model_copy(
        update={"anomaly_ids": anomalies, "active_fingerprints": ("demo/process.up",), "signals": ("process.up",)}
    )
    data = m.IncidentTransition(incident=inc, reason="grew")
    return ev.IncidentUpdated.create(data, source="/t", id_parts=(inc.incident_id, seq), correlationid=inc.incident_id)


async def verified_first_round(harness: BusHarness, first: ev.IncidentOpened) -> None:
    await harness.feed(INCIDENTS, first)
    await harness.feed(METRICS, scrape(process_up=1.0, http_up=1.0))
    await harness.feed(METRICS, scrape(process_up=1.0, http_up=1.0))


async def test_a_second_crash_inside_an_open_incident_is_recovered_again(harness: BusHarness) -> None:
    runner = FakeRunner()
    await recovery(harness, runner)
    first = opened()
    first = first.model_copy(update={"data": updated(first, anomalies=("a1",), seq=0).data})
    await verified_first_round(harness, first)
    assert types(harness)[-1] == "verified" and len(runner.ran) == 1
    # a late symptom of the cured crash joins while the target is healthy: nothing runs
    await harness.feed(INCIDENTS, updated(first, anomalies=("a1", "a2"), seq=1))
    assert len(runner.ran) == 1
    # the target goes down again: the new episode gets its own round, once
    await harness.feed(METRICS, scrape(process_up=0.0, http_up=0.0))
    again = updated(first, anomalies=("a1", "a2", "a3"), seq=2)
    await harness.feed(INCIDENTS, again)
    await harness.feed(INCIDENTS, again)
    assert len(runner.ran) == 2
    plans = [e.data for e in harness.published(RECOVERY) if isinstance(e, ev.RecoveryPlanned)]
    assert [p.round for p in plans] == [0, 1] and plans[0].plan_id != plans[1].plan_id
    assert plans[1].rationale.startswith("round 2")


async def test_the_circuit_breaker_escalates_with_the_history_instead_of_acting(harness: BusHarness) -> None:
    runner = FakeRunner()
    await recovery(harness, runner, cooldown={"max_restarts": 10, "max_actions": 2, "window_s": 3600})
    first = opened()
    first = first.model_copy(update={"data": updated(first, anomalies=("a1",), seq=0).data})
    await verified_first_round(harness, first)
    known = ["a1"]
    for n in range(2, 5):
        known.append(f"a{n}")
        await harness.feed(METRICS, scrape(process_up=0.0, http_up=0.0))
        await harness.feed(INCIDENTS, updated(first, anomalies=tuple(known), seq=n))
        await harness.feed(METRICS, scrape(process_up=1.0, http_up=1.0))
        await harness.feed(METRICS, scrape(process_up=1.0, http_up=1.0))
    assert len(runner.ran) == 2
    failed = [e.data for e in harness.published(RECOVERY) if isinstance(e, ev.RecoveryFailed)]
    assert failed and "circuit breaker: 2 automatic actions" in failed[-1].detail


async def test_an_incident_that_waited_on_another_s_verification_gets_its_own_recovery_issue_15(
    harness: BusHarness,
) -> None:
    runner = FakeRunner()
    await recovery(harness, runner)
    await harness.feed(INCIDENTS, opened())  # the crash: restart, verification pending
    hog = opened()
    inc = hog.data.incident.model_copy(update={"incident_id": "inc-demo-cpu", "title": "cpu hog"})
    data = m.IncidentTransition(incident=inc, reason="opened")
    second = ev.IncidentOpened.create(data, source="/t", id_parts=(inc.incident_id,), correlationid=inc.incident_id)
    await harness.feed(INCIDENTS, second)
    assert len(runner.ran) == 1  # already in progress for the first incident
    await harness.feed(METRICS, scrape(process_up=1.0, http_up=1.0))
    await harness.feed(METRICS, scrape(process_up=1.0, http_up=1.0, http_error_rate=0.0))
    assert len(runner.ran) == 2
    planned = [e.data.incident_id for e in harness.published(RECOVERY) if isinstance(e, ev.RecoveryPlanned)]
    assert planned == ["inc-demo", "inc-demo-cpu"]


def critical(incident_id: str, problem: str, signal: str) -> ev.IncidentOpened:
    inc = opened().data.incident.model_copy(
        update={"incident_id": incident_id, "severity": m.Severity.CRITICAL, "problem": problem, "signals": (signal,)}
    )
    data = m.IncidentTransition(incident=inc, reason="opened")
    return ev.IncidentOpened.create(data, source="/t", id_parts=(incident_id,), correlationid=incident_id)


async def test_only_an_emergency_class_goes_past_another_incident_s_verification(harness: BusHarness) -> None:
    runner = FakeRunner()
    settings = RecoverySettings(verification={"healthy_scrapes": 2, "timeout_s": 30.0})
    service = Service.create("recovery", settings)
    remedies = {"demo": {"data_loss": ("restart_process",), "down": ("restart_process",)}}
    catalog = Catalog.build(CATALOG.actions["demo"].values(), remedies)
    register(service.bus, RecoveryHandlers(settings, service.bus, catalog, runner, RecoveryState()), settings)
    await harness.attach(service.bus)
    await harness.feed(INCIDENTS, opened())  # Major: restarted, now being verified
    await harness.feed(INCIDENTS, critical("inc-down", "down", "http.up"))  # the same remedy: waits
    assert len(runner.ran) == 1
    await harness.feed(INCIDENTS, critical("inc-loss", "data_loss", "db.rows"))  # its own remedy: at once
    assert len(runner.ran) == 2
    planned = [e.data.incident_id for e in harness.published(RECOVERY) if isinstance(e, ev.RecoveryPlanned)]
    assert planned == ["inc-demo", "inc-loss"]
