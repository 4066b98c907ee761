"""A target going down on an open incident: the rise to Critical waits for a recovery in flight."""

from __future__ import annotations

from typing import Any

from shared import events as ev
from shared import models as m
from tests.unit.services.responder.helpers import Sim, anomaly, at, policy

DOWN = {"impact": m.Impact.SERVICE_DOWN, "kind": m.AnomalyKind.TARGET_DOWN}


def slow_incident() -> tuple[Sim, str]:
    sim = Sim(policy(grouping={"group_wait_s": 0, "group_interval_s": 5, "repeat_interval_s": 600, "raise_wait_s": 5,
                               "recovery_hold_s": 60}))  # fmt: skip
    sim.anomaly(anomaly("api", "latency", impact=m.Impact.SEVERE_DEGRADATION), t=0)
    sim.tick(0)
    return sim, sim.only().incident.incident_id


def progress(cls: type[ev.Envelope[Any]], incident_id: str, t: float) -> ev.Envelope[Any]:
    data = m.RecoveryProgress(plan_id="p", incident_id=incident_id, target="api", detail=cls.event_type)
    return cls.create(data, source="/t", id_parts=(cls.event_type, t), time=at(t), subject=incident_id)


def updates(events: list[ev.Envelope[Any]]) -> list[str]:
    return [e.data.reason for e in events if isinstance(e, ev.IncidentUpdated)]


def severity(sim: Sim) -> str:
    return sim.only().incident.severity.value


def test_outage_during_a_restart_is_held_and_dropped_when_recovery_is_verified() -> None:
    sim, iid = slow_incident()
    sim.recovery(progress(ev.RecoveryStepStarted, iid, 1), t=1)
    joined = sim.anomaly(anomaly("api", "http.up", t=1.5, **DOWN), t=1.5)  # type: ignore[arg-type]
    assert "critical held" in joined.events[0].data.reason
    assert severity(sim) == "major" and sim.only().incident.held_severity is m.Severity.CRITICAL
    assert updates(sim.tick(30)) == []  # waiting for the recovery's verdict, no rise
    assert sim.only().incident.held_by == ("an-api-http.up-1",)
    verified = sim.recovery(progress(ev.RecoveryVerified, iid, 31), t=31)
    assert any("held critical dropped" in e.data.reason for e in verified.events)
    assert severity(sim) == "major" and sim.only().incident.held_severity is None
    # the outage was the recovery's doing: the RCA leaves it out of the incident's causes
    assert sim.only().incident.recovery_caused == ("an-api-http.up-1",) and sim.only().incident.held_by == ()
    assert not [e for e in sim.tick(40) if isinstance(e, ev.IncidentUpdated)]


def test_outage_seen_before_the_restart_event_is_still_held() -> None:
    """Topics are consumed side by side: the outage may arrive before the step that caused it."""
    sim, iid = slow_incident()
    sim.anomaly(anomaly("api", "http.up", t=1, **DOWN), t=1)  # type: ignore[arg-type]
    sim.recovery(progress(ev.RecoveryStepStarted, iid, 1.2), t=1.2)
    assert updates(sim.tick(10)) == [] and severity(sim) == "major"


def test_held_rise_applies_when_recovery_fails_and_escalates() -> None:
    sim, iid = slow_incident()
    sim.recovery(progress(ev.RecoveryStepStarted, iid, 1), t=1)
    sim.anomaly(anomaly("api", "http.up", t=2, **DOWN), t=2)  # type: ignore[arg-type]
    failed = sim.recovery(progress(ev.RecoveryFailed, iid, 20), t=20)
    assert [type(e).__name__ for e in failed.events] == ["IncidentUpdated", "IncidentEscalated"]
    assert severity(sim) == "critical" and "severity raised to the held critical" in failed.events[0].data.reason
    assert sim.only().incident.held_severity is None and sim.only().incident.held_by == ()
    assert sim.only().incident.recovery_caused == ()  # a real outage: evidence for the RCA


def test_without_recovery_the_rise_applies_after_the_wait() -> None:
    sim, _ = slow_incident()
    sim.anomaly(anomaly("api", "http.up", t=1, **DOWN), t=1)  # type: ignore[arg-type]
    assert updates(sim.tick(5.9)) == [] and severity(sim) == "major"
    raised = updates(sim.tick(6))
    assert severity(sim) == "critical" and "no recovery action explains" in raised[0]
    pages = sim.tick(6.5)
    assert {e.data.team.value for e in pages if isinstance(e, ev.IncidentEscalated)} == {"L1", "L2"}  # critical policy


def test_a_recovery_that_never_concludes_does_not_hold_forever() -> None:
    sim, iid = slow_incident()
    sim.recovery(progress(ev.RecoveryStepStarted, iid, 1), t=1)
    sim.anomaly(anomaly("api", "http.up", t=2, **DOWN), t=2)  # type: ignore[arg-type]
    assert updates(sim.tick(66)) == []
    assert "recovery gave no verdict in time" in updates(sim.tick(67))[0] and severity(sim) == "critical"


def test_a_new_incident_from_an_outage_opens_critical_at_once() -> None:
    sim = Sim()
    sim.anomaly(anomaly("api", "http.up", **DOWN), t=0)  # type: ignore[arg-type]
    assert severity(sim) == "critical"


def two_incidents() -> tuple[Sim, str, str]:
    """A slow fault's two incidents on one target: latency (major) and a throughput drop (minor)."""
    sim, latency = slow_incident()
    sim.anomaly(anomaly("api", "http.requests_per_s", impact=m.Impact.PARTIAL_FUNCTION), t=0)
    sim.tick(0)
    (throughput,) = [i for i in sim.book.incidents if i != latency]
    return sim, latency, throughput


def step(cls: type[ev.Envelope[Any]], incident_id: str, t: float) -> ev.Envelope[Any]:
    data = m.RecoveryProgress(
        plan_id="p2", incident_id=incident_id, target="api", step=m.RecoveryStep(index=0, action="restart_process",
                                                                                 target="api"),
    )  # fmt: skip
    return cls.create(data, source="/t", id_parts=(cls.event_type, t), time=at(t), subject=incident_id)


def latency_severity(sim: Sim, incident_id: str) -> str:
    return sim.book.incidents[incident_id].incident.severity.value


def test_an_outage_dated_just_before_another_incidents_restart_is_held_and_dropped_on_its_verdict() -> None:
    """Seen in the slow scenario: the down episode was dated 25 ms before the step (its scrape's start)."""
    sim, latency, throughput = two_incidents()
    sim.recovery(step(ev.RecoveryStepStarted, throughput, 1.0), t=1.0)
    sim.recovery(step(ev.RecoveryStepCompleted, throughput, 1.1), t=1.1)
    joined = sim.anomaly(anomaly("api", "http.up", t=0.975, **DOWN), t=1.2)  # type: ignore[arg-type]
    assert "critical held" in joined.events[0].data.reason
    assert updates(sim.tick(30)) == [] and latency_severity(sim, latency) == "major"  # a recovery runs on the target
    sim.recovery(progress(ev.RecoveryVerified, throughput, 31), t=31)
    sim.tick(200)
    assert latency_severity(sim, latency) == "major"


def test_a_held_rise_waits_for_a_recovery_of_another_incident_of_the_target_and_drops_on_its_verdict() -> None:
    sim, latency, throughput = two_incidents()
    sim.anomaly(anomaly("api", "http.up", t=1, **DOWN), t=1)  # type: ignore[arg-type]  # before any step is seen
    assert sim.book.incidents[latency].incident.held_severity is m.Severity.CRITICAL
    sim.recovery(step(ev.RecoveryStepStarted, throughput, 8), t=8)  # seen late: the wait (5 s) is over
    assert updates(sim.tick(9)) == [] and latency_severity(sim, latency) == "major"
    verified = sim.recovery(progress(ev.RecoveryVerified, throughput, 12), t=12)
    assert any("held critical dropped: the outage was a recovery action on the target" in r for r in updates(
        list(verified.events)))  # fmt: skip
    assert sim.book.incidents[latency].incident.held_severity is None
    sim.tick(200)
    assert latency_severity(sim, latency) == "major"
