"""Issue 15, lifecycle: one incident per problem class of a target, titles that follow the problem,
anomalies caused by the project's own recovery actions marked and never escalated."""

from __future__ import annotations

from typing import Any

from shared import events as ev
from shared import models as m
from shared.problems import explains, problem_class
from tests.unit.services.responder.helpers import Sim, anomaly, at

DOWN: dict[str, Any] = {"impact": m.Impact.SERVICE_DOWN, "kind": m.AnomalyKind.TARGET_DOWN}
CPU: dict[str, Any] = {"impact": m.Impact.RESOURCE_PRESSURE}


def resolved(target: str, signal: str, **kw: Any) -> ev.AnomalyEvent:
    return anomaly(target, signal, cls=ev.AnomalyResolved, revision=2, **kw)


def step(cls: type[ev.Envelope[Any]], incident_id: str, t: float) -> ev.Envelope[Any]:
    data = m.RecoveryProgress(
        plan_id="plan-1", incident_id=incident_id, target="api",
        step=m.RecoveryStep(index=0, action="restart_process", target="api"),
    )  # fmt: skip
    return cls.create(data, source="/t", id_parts=(cls.event_type, t), time=at(t), subject=incident_id)


def test_problem_classes_and_what_explains_what() -> None:
    assert problem_class("http.up", m.Impact.SERVICE_DOWN) == "down"
    assert problem_class("process.cpu_percent", m.Impact.RESOURCE_PRESSURE) == "cpu"
    assert problem_class("http.error_rate", m.Impact.PARTIAL_FUNCTION) == "errors"
    assert explains("down", "errors") and explains("down", "cpu") and not explains("cpu", "down")


def test_cpu_hog_after_a_crash_opens_its_own_incident_and_the_crash_incident_resolves() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", "http.up", t=0, **DOWN), t=0)
    sim.anomaly(anomaly("api", "http.error_rate", t=1), t=1)  # a symptom of the outage: joins
    assert len(sim.book.incidents) == 1
    crash = sim.only().incident.incident_id
    sim.anomaly(resolved("api", "http.up", **DOWN), t=10)
    sim.anomaly(resolved("api", "http.error_rate"), t=11)
    sim.anomaly(anomaly("api", "process.cpu", t=30, **CPU), t=30)  # cpu-hog, demo back up
    assert len(sim.book.incidents) == 2
    hog = next(i for i in sim.book.incidents.values() if i.incident.incident_id != crash).incident
    assert hog.problem == "cpu" and hog.title == "process.cpu anomalous on api"
    assert sim.book.incidents[crash].incident.anomaly_ids == ("an-api-http.up-1", "an-api-http.error_rate-1")
    sim.tick(11 + 30)  # auto-resolve after 30 s quiet, though the cpu anomaly still fires
    assert sim.book.incidents[crash].incident.status is m.IncidentStatus.RESOLVED
    assert sim.book.incidents[hog.incident_id].incident.status is m.IncidentStatus.TRIGGERED


def test_a_replayed_anomaly_of_the_new_class_opens_no_second_incident() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", "http.up", t=0, **DOWN), t=0)
    sim.anomaly(resolved("api", "http.up", **DOWN), t=10)
    cpu = anomaly("api", "process.cpu", t=30, **CPU)
    sim.anomaly(cpu, t=30)
    assert sim.anomaly(cpu, t=31).events == []
    assert len(sim.of_type(ev.IncidentOpened)) == 2


def test_title_and_severity_follow_the_current_problem() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", "process.cpu", t=0, **CPU), t=0)
    assert sim.only().incident.severity is m.Severity.MINOR
    sim.anomaly(anomaly("api", "http.up", t=5, impact=m.Impact.SERVICE_DOWN), t=5)  # the hog took it down
    inc = sim.only().incident
    assert (inc.problem, inc.title, inc.severity) == ("down", "http.up anomalous on api", m.Severity.CRITICAL)
    sim.anomaly(resolved("api", "http.up", impact=m.Impact.SERVICE_DOWN), t=20)
    inc = sim.only().incident
    assert (inc.problem, inc.title) == ("cpu", "process.cpu anomalous on api")
    assert "now about: process.cpu anomalous on api" in sim.log[-1].data.reason


def test_an_outage_a_recovery_step_caused_is_marked_and_never_raises_or_retitles() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", "latency", t=0), t=0)
    iid = sim.only().incident.incident_id
    sim.recovery(step(ev.RecoveryStepStarted, iid, 4), t=4)
    sim.recovery(step(ev.RecoveryStepCompleted, iid, 6), t=6)
    sim.anomaly(anomaly("api", "http.up", t=6.5, **DOWN), t=7)  # the restart's moment down
    inc = sim.only().incident
    assert inc.recovery_caused == ("an-api-http.up-1",)
    assert (inc.severity, inc.title, inc.problem) == (m.Severity.MAJOR, "latency anomalous on api", "latency")
    assert inc.held_severity is None
    assert "caused by the recovery" in sim.log[-1].data.reason
    sim.anomaly(anomaly("api", "http.up", t=6.5, revision=3, cls=ev.AnomalyUpdated, **DOWN), t=8)
    assert sim.only().incident.severity is m.Severity.MAJOR


def test_an_outage_long_after_the_step_is_a_fault_again() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", "latency", t=0), t=0)
    iid = sim.only().incident.incident_id
    sim.recovery(step(ev.RecoveryStepStarted, iid, 4), t=4)
    sim.recovery(step(ev.RecoveryStepCompleted, iid, 6), t=6)
    sim.anomaly(anomaly("api", "http.up", t=200, **DOWN), t=200)  # window is 30 s
    inc = sim.only().incident
    assert inc.recovery_caused == () and inc.problem == "down"


def test_an_outage_after_a_cured_slowdown_is_a_new_incident_not_a_promotion() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", "latency", t=0), t=0)
    sim.anomaly(resolved("api", "latency"), t=5)
    sim.anomaly(anomaly("api", "http.up", t=10, impact=m.Impact.SERVICE_DOWN), t=10)
    problems = sorted(s.incident.problem for s in sim.book.incidents.values())
    assert problems == ["down", "latency"]


def test_data_loss_during_a_restart_is_the_fault_s_own_critical_incident() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", "http.error_rate", t=0), t=0)  # the dropped table's write errors
    iid = sim.only().incident.incident_id
    sim.recovery(step(ev.RecoveryStepStarted, iid, 1), t=1)  # a restart for them
    sim.recovery(step(ev.RecoveryStepCompleted, iid, 2), t=2)
    rows = anomaly("api", "db.rows", t=2.5, impact=m.Impact.DATA_LOSS)  # the row count collapsed
    sim.anomaly(rows, t=3)
    opened = sim.of_type(ev.IncidentOpened)
    assert len(opened) == 2, "a restart does not drop a table: not the cure's doing"
    loss = opened[-1].data.incident
    assert (loss.problem, loss.severity, loss.recovery_caused) == ("data_loss", m.Severity.CRITICAL, ())


def test_only_the_non_critical_classes_can_be_a_recovery_s_doing() -> None:
    from shared.problems import recovery_may_cause

    assert recovery_may_cause("http.up", m.Impact.SERVICE_DOWN)
    assert recovery_may_cause("http.error_rate", m.Impact.PARTIAL_FUNCTION)
    assert not recovery_may_cause("db.rows", m.Impact.DATA_LOSS)
    assert not recovery_may_cause("log:t1", m.Impact.PARTIAL_FUNCTION, {"problem": "security"})
    assert not recovery_may_cause("net.sent_bytes_per_s", m.Impact.PARTIAL_FUNCTION, {"problem": "leak"})
