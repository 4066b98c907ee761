from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from services.recovery.adapters.runner import StepOutcome
from services.recovery.domain.catalog import Action, Catalog, RestartProcess
from services.recovery.handlers import RecoveryHandlers
from services.recovery.settings import RecoverySettings
from services.recovery.state import RecoveryState
from shared import events as ev
from shared import models as m
from shared.ledger import Ledger


class FakeBus:
    source = "/services/recovery"

    def __init__(self) -> None:
        self.published = Ledger()
        self.sent: list[ev.Envelope[Any]] = []

    async def publish(self, event: ev.Envelope[Any], *, key: str) -> bool:
        if event.id in self.published:
            return False
        self.published.add(event.id)
        self.sent.append(event)
        return True


class FakeRunner:
    def __init__(self, ok: bool = True) -> None:
        self.ran: list[Action] = []
        self.ok = ok

    async def run(self, action: Action) -> StepOutcome:
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


def make(runner: FakeRunner, bus: FakeBus | None = None, **overrides: Any) -> tuple[RecoveryHandlers, FakeBus]:
    bus = bus or FakeBus()
    settings = RecoverySettings(verification={"healthy_scrapes": 2, "timeout_s": 30.0}, **overrides)
    return RecoveryHandlers(settings, bus, CATALOG, runner, RecoveryState()), bus  # type: ignore[arg-type]


def types(bus: FakeBus) -> list[str]:
    return [e.type.rsplit(".", 1)[-1] for e in bus.sent]


async def test_plan_run_verify_and_no_repeat_on_redelivery() -> None:
    runner = FakeRunner()
    handlers, bus = make(runner)
    event = opened()
    await handlers.on_incident(event)
    await handlers.on_incident(event)  # redelivered
    assert len(runner.ran) == 1
    assert types(bus) == ["planned", "step_started", "step_completed"]
    await handlers.on_metrics(scrape(process_up=1.0, http_up=1.0))
    await handlers.on_metrics(scrape(process_up=1.0, http_up=1.0, http_error_rate=0.0))
    assert types(bus)[-1] == "verified"
    step_ids = [e.id for e in bus.sent if isinstance(e, ev.RecoveryStepStarted)]
    assert len(step_ids) == 1


async def test_restarted_service_with_warm_ledger_does_not_run_again() -> None:
    runner = FakeRunner()
    first, bus = make(runner)
    await first.on_incident(opened())
    # a new instance: ledger warmed from the recovery topic, state rebuilt from it
    fresh_bus = FakeBus()
    state = RecoveryState()
    for e in bus.sent:
        fresh_bus.published.add(e.id)
        state.apply(e)
    second = RecoveryHandlers(first.settings, fresh_bus, CATALOG, runner, state)  # type: ignore[arg-type]
    await second.on_incident(opened())
    assert len(runner.ran) == 1


async def test_failed_step_fails_the_recovery() -> None:
    runner = FakeRunner(ok=False)
    handlers, bus = make(runner)
    await handlers.on_incident(opened())
    assert types(bus)[-1] == "failed"


async def test_undeclared_target_escalates_via_recovery_failed() -> None:
    runner = FakeRunner()
    handlers, bus = make(runner)
    await handlers.on_incident(opened("db"))
    assert runner.ran == []
    assert types(bus) == ["failed"]
    assert "no recovery action declared" in bus.sent[0].data.detail


async def test_old_or_manual_incidents_are_left_alone() -> None:
    runner = FakeRunner()
    handlers, bus = make(runner, max_incident_age_s=60.0)
    await handlers.on_incident(opened(age_s=3600.0))
    handlers_off, bus_off = make(runner, auto_recover=False)
    await handlers_off.on_incident(opened())
    assert runner.ran == [] and bus.sent == [] and bus_off.sent == []


async def test_the_clock_and_the_action_counter_are_given_at_construction() -> None:
    event = opened(age_s=0.0)
    opened_at = event.data.incident.opened_at
    settings = RecoverySettings(max_incident_age_s=60.0)
    registry = CollectorRegistry()
    actions = Counter("ir_recovery_actions", "Recovery actions run", ["action", "outcome"], registry=registry)
    runner = FakeRunner()

    def make_at(seconds_after_opening: float, bus: FakeBus) -> RecoveryHandlers:
        def clock() -> datetime:
            return opened_at + timedelta(seconds=seconds_after_opening)

        state = RecoveryState()
        return RecoveryHandlers(settings, bus, CATALOG, runner, state, actions=actions, clock=clock)  # type: ignore[arg-type]

    late_bus = FakeBus()
    await make_at(61, late_bus).on_incident(event)
    assert late_bus.sent == [] and runner.ran == []
    await make_at(59, FakeBus()).on_incident(event)
    assert len(runner.ran) == 1
    assert registry.get_sample_value("ir_recovery_actions_total", {"action": "restart_process", "outcome": "ok"}) == 1


async def test_deadline_without_healthy_scrapes_fails() -> None:
    runner = FakeRunner()
    handlers, bus = make(runner)
    await handlers.on_incident(opened())
    pending = handlers.state.pending["inc-demo"]
    handlers.state.pending["inc-demo"] = type(pending)(**{**pending.__dict__, "deadline": 0.0})
    await handlers.check_deadlines()
    assert types(bus)[-1] == "failed"
    assert handlers.state.pending == {}


def updated(prev: ev.IncidentOpened, *, anomalies: tuple[str, ...], seq: int) -> ev.IncidentUpdated:
    inc = prev.data.incident.model_copy(
        update={"anomaly_ids": anomalies, "active_fingerprints": ("demo/process.up",), "signals": ("process.up",)}
    )
    data = m.IncidentTransition(incident=inc, reason="grew")
    return ev.IncidentUpdated.create(data, source="/t", id_parts=(inc.incident_id, seq), correlationid=inc.incident_id)


async def verified_first_round(handlers: RecoveryHandlers, first: ev.IncidentOpened) -> None:
    await handlers.on_incident(first)
    await handlers.on_metrics(scrape(process_up=1.0, http_up=1.0))
    await handlers.on_metrics(scrape(process_up=1.0, http_up=1.0))


async def test_a_second_crash_inside_an_open_incident_is_recovered_again() -> None:
    runner = FakeRunner()
    handlers, bus = make(runner)
    first = opened()
    first = first.model_copy(update={"data": updated(first, anomalies=("a1",), seq=0).data})
    await verified_first_round(handlers, first)
    assert types(bus)[-1] == "verified" and len(runner.ran) == 1
    # a late symptom of the cured crash joins while the target is healthy: nothing runs
    await handlers.on_incident(updated(first, anomalies=("a1", "a2"), seq=1))
    assert len(runner.ran) == 1
    # the target goes down again: the new episode gets its own round, once
    await handlers.on_metrics(scrape(process_up=0.0, http_up=0.0))
    await handlers.on_incident(updated(first, anomalies=("a1", "a2", "a3"), seq=2))
    await handlers.on_incident(updated(first, anomalies=("a1", "a2", "a3"), seq=2))
    assert len(runner.ran) == 2
    plans = [e.data for e in bus.sent if isinstance(e, ev.RecoveryPlanned)]
    assert [p.round for p in plans] == [0, 1] and plans[0].plan_id != plans[1].plan_id
    assert plans[1].rationale.startswith("round 2")


async def test_the_circuit_breaker_escalates_with_the_history_instead_of_acting() -> None:
    runner = FakeRunner()
    handlers, bus = make(runner, cooldown={"max_restarts": 10, "max_actions": 2, "window_s": 3600})
    first = opened()
    first = first.model_copy(update={"data": updated(first, anomalies=("a1",), seq=0).data})
    await verified_first_round(handlers, first)
    known = ["a1"]
    for n in range(2, 5):
        known.append(f"a{n}")
        await handlers.on_metrics(scrape(process_up=0.0, http_up=0.0))
        await handlers.on_incident(updated(first, anomalies=tuple(known), seq=n))
        await handlers.on_metrics(scrape(process_up=1.0, http_up=1.0))
        await handlers.on_metrics(scrape(process_up=1.0, http_up=1.0))
    assert len(runner.ran) == 2
    failed = [e.data for e in bus.sent if isinstance(e, ev.RecoveryFailed)]
    assert failed and "circuit breaker: 2 automatic actions" in failed[-1].detail
