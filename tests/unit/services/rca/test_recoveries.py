"""When an incident's recovery began: the plan, unless it waited for a person."""

from __future__ import annotations

from services.rca.analyze import analyse, recovery_began
from services.rca.recoveries import Recoveries
from services.rca.store import WindowStore
from shared import events as ev
from shared import models as m
from tests.unit.services.rca.scenario import FAULT_AT, anomaly_event, at, incident, metric_events

STEP = m.RecoveryStep(index=0, action="restart_process", target="demo")


def plan(plan_id: str, t: float) -> ev.RecoveryPlanned:
    data = m.RecoveryPlan(plan_id=plan_id, incident_id="inc-1", target="demo", steps=(STEP,), rationale="r")
    return ev.RecoveryPlanned.create(data, source="/t", id_parts=(plan_id,), time=at(t))


def started(plan_id: str, t: float) -> ev.RecoveryStepStarted:
    data = m.RecoveryProgress(plan_id=plan_id, incident_id="inc-1", target="demo", step=STEP)
    return ev.RecoveryStepStarted.create(data, source="/t", id_parts=(plan_id, t), time=at(t))


def approval_of(plan_id: str, **fields: object) -> m.RecoveryApproval:
    return m.RecoveryApproval.model_validate(
        {"plan_id": plan_id, "incident_id": "inc-1", "target": "demo", "step": STEP, "severity": m.Severity.MAJOR,
         "timeout_s": 60, "default": m.ApprovalDefault.DENY, **fields}
    )  # fmt: skip


def approval(plan_id: str, t: float) -> ev.RecoveryApprovalRequested:
    return ev.RecoveryApprovalRequested.create(approval_of(plan_id), source="/t", id_parts=(plan_id,), time=at(t))


def test_a_recovery_begins_when_it_is_planned() -> None:
    starts = Recoveries()
    starts.add(plan("p1", 10.0))
    assert starts.began("inc-1") is None  # planned, nothing done yet
    starts.add(started("p1", 10.003))
    assert starts.began("inc-1") == at(10.0).timestamp()


def test_a_plan_that_waited_for_approval_begins_when_it_acts() -> None:
    starts = Recoveries()
    starts.add(plan("p1", 10.0))
    starts.add(approval("p1", 10.001))
    starts.add(started("p1", 70.0))
    assert starts.began("inc-1") == at(70.0).timestamp()
    assert not starts.planned


def test_the_earliest_recovery_of_an_incident_counts_and_ended_plans_are_forgotten() -> None:
    starts = Recoveries()
    starts.add(plan("p1", 10.0))
    starts.add(started("p1", 10.01))
    starts.add(plan("p2", 50.0))
    starts.add(started("p2", 50.01))
    assert starts.began("inc-1") == at(10.0).timestamp()
    starts.add(plan("p3", 90.0))
    denied = approval_of("p3", actor="bob")
    starts.add(ev.RecoveryDenied.create(denied, source="/t", id_parts=("p3",), time=at(91)))
    assert "p3" not in starts.planned


BLINK = FAULT_AT + 10.0
"""A scrape time of the fixture: the scrape that read http.up = 0 as a restart came."""


def blinked_store() -> WindowStore:
    """A CPU hog on demo, its anomaly, and one scrape at ``BLINK`` that met a restart (http.up 0, its anomaly)."""
    store = WindowStore()
    for e in metric_events("cpu-hog", until=400.0):
        if e.data.target == "demo" and e.data.observed_at == at(BLINK):
            down = tuple(x.model_copy(update={"value": 0.0}) if x.name == "http.up" else x for x in e.data.samples)
            e = e.model_copy(update={"data": e.data.model_copy(update={"samples": down})})
        store.add(e)
    store.add(anomaly_event("process.cpu_percent", t=FAULT_AT + 4))
    store.add(anomaly_event("http.up", t=BLINK, kind=m.AnomalyKind.TARGET_DOWN))
    return store


def test_a_scrape_stamped_between_the_plan_and_the_restart_is_no_cause() -> None:
    # The e2e failure: the scrape began 1.3 ms before the restart step was stamped, its probe met the
    # restart, and http.up = 0 topped the ranking of an error burst.
    store = blinked_store()
    starts = Recoveries()
    starts.add(plan("p1", BLINK - 0.0013))
    starts.add(started("p1", BLINK + 0.0013))
    inc = incident(("an-demo-process.cpu_percent", "an-demo-http.up"))
    result = analyse(store, inc, end=at(400).timestamp(), lookback_s=300.0, top=3, anomaly_since=[],
                     recovery_started=starts.began(inc.incident_id))  # fmt: skip
    assert (result.ranking[0].entity, result.ranking[0].signal) == ("demo", "process.cpu_percent")
    assert "http.up" not in " ".join(c.evidence for c in result.ranking)


def test_an_outage_held_for_a_recovery_that_verified_is_the_cure_not_a_cause() -> None:
    # The second e2e failure: the scrape that saw the restart was stamped 14 ms before the plan. The
    # responder held its rise to Critical and dropped it when the restart verified; the RCA agrees.
    store = blinked_store()
    inc = incident(("an-demo-process.cpu_percent", "an-demo-http.up")).model_copy(
        update={"held_by": ("an-demo-http.up",), "held_severity": m.Severity.CRITICAL}
    )
    planned = at(BLINK + 0.014).timestamp()

    def ranked(verified: bool) -> str:
        result = analyse(store, inc, end=at(400).timestamp(), lookback_s=300.0, top=3, anomaly_since=[],
                         recovery_started=planned, recovery_verified=verified)  # fmt: skip
        return " ".join(f"{c.signal}: {c.evidence}" for c in result.ranking)

    assert "http.up" in ranked(False)  # the recovery may still fail: the outage may be real
    assert "http.up" not in ranked(True) and ranked(True).startswith("process.cpu_percent")
    # once the responder dropped the hold, the outage is marked on the incident: the same window
    dropped = inc.model_copy(update={"held_by": (), "held_severity": None, "recovery_caused": ("an-demo-http.up",)})
    assert recovery_began(store, dropped, planned) == recovery_began(store, inc, planned, verified=True) < planned


def test_a_recovery_counts_as_verified_once_any_of_its_plans_verified() -> None:
    starts = Recoveries()
    starts.add(plan("p1", 10.0))
    assert not starts.verified("inc-1")
    data = m.RecoveryProgress(plan_id="p1", incident_id="inc-1", target="demo", ok=True)
    starts.add(ev.RecoveryVerified.create(data, source="/t", id_parts=("p1",), time=at(12)))
    assert starts.verified("inc-1") and not starts.planned
