"""The scenario's chain tracker folds events from several topics whatever order they arrive in."""

from __future__ import annotations

from incidentctl.scenario import ChainTracker, ScenarioResult
from shared import events as ev
from shared import models as m
from tests.factories import anomaly, at

INCIDENT = m.Incident(
    incident_id="inc-1", group_key="demo", target="demo", title="demo down", severity=m.Severity.CRITICAL,
    severity_reason="service fully down", status=m.IncidentStatus.TRIGGERED, opened_at=at(2),
)  # fmt: skip


def opened() -> ev.IncidentOpened:
    data = m.IncidentTransition(incident=INCIDENT, reason="opened")
    return ev.IncidentOpened.create(data, source="/t", id_parts=("o",), time=at(2), correlationid="inc-1")


def step_started() -> ev.RecoveryStepStarted:
    data = m.RecoveryProgress(plan_id="p", incident_id="inc-1", target="demo")
    return ev.RecoveryStepStarted.create(data, source="/t", id_parts=("s",), time=at(3), correlationid="inc-1")


def verified() -> ev.RecoveryVerified:
    data = m.RecoveryProgress(plan_id="p", incident_id="inc-1", target="demo")
    return ev.RecoveryVerified.create(data, source="/t", id_parts=("v",), time=at(6), correlationid="inc-1")


def test_recovery_seen_before_the_incident_still_counts() -> None:
    tracker = ChainTracker(ScenarioResult(fault="crash"), at(0))
    for event in (step_started(), verified(), anomaly(t=1), opened()):
        tracker.observe(event)
    result = tracker.finish()
    assert result.incident_id == "inc-1" and result.severity == "critical"
    assert result.seconds_after_fault == {
        "fault_injected": 0.0, "first_anomaly": 1.0, "incident_opened": 2.0, "recovery_started": 3.0,
        "recovery_verified": 6.0,
    }  # fmt: skip
    assert result.missing == ["notification", "rca_published"] and not result.ok


def test_events_before_the_fault_and_of_other_targets_are_ignored() -> None:
    tracker = ChainTracker(ScenarioResult(fault="crash"), at(10))
    for event in (anomaly(t=1), anomaly("other", t=12), opened()):
        tracker.observe(event)
    result = tracker.finish()
    assert result.incident_id is None and "first_anomaly" in result.missing


def _opened(incident: m.Incident, t: float) -> ev.IncidentOpened:
    data = m.IncidentTransition(incident=incident, reason="opened")
    return ev.IncidentOpened.create(
        data, source="/t", id_parts=("o", incident.incident_id), time=at(t), correlationid=incident.incident_id
    )


def test_a_crash_follows_its_down_incident_not_an_errors_incident_opened_a_moment_before() -> None:
    errors = INCIDENT.model_copy(
        update={"incident_id": "inc-0", "severity": m.Severity.MINOR, "problem": "errors", "title": "log pattern"}
    )
    down = INCIDENT.model_copy(update={"problem": "down", "opened_at": at(2)})
    tracker = ChainTracker(ScenarioResult(fault="crash"), at(0))
    # the down incident's recovery step arrives before its opening (another topic), and after the errors one's
    for event in (anomaly(t=1), _opened(errors, 1.5), step_started(), _opened(down, 2), verified()):
        tracker.observe(event)
    result = tracker.finish()
    assert result.incident_id == "inc-1" and result.severity == "critical"
    assert result.seconds_after_fault["incident_opened"] == 2.0
    assert result.seconds_after_fault["recovery_started"] == 3.0


DB_INCIDENT = INCIDENT.model_copy(update={"incident_id": "inc-db", "target": "demo-db", "problem": "down"})


ApprovalEvent = ev.RecoveryApprovalRequested | ev.RecoveryApproved | ev.RecoveryDenied


def _approval(
    kind: type[ev.RecoveryApprovalRequested] | type[ev.RecoveryApproved], index: int, action: str, t: float
) -> ApprovalEvent:
    step = m.RecoveryStep(index=index, action=action, target="demo-db")
    actor = "" if kind is ev.RecoveryApprovalRequested else "op"
    data = m.RecoveryApproval(plan_id="p", incident_id="inc-db", target="demo-db", step=step,
                              severity=m.Severity.CRITICAL, timeout_s=60, default=m.ApprovalDefault.DENY,
                              actor=actor)  # fmt: skip
    return kind.create(data, source="/t", id_parts=(kind.__name__, index), time=at(t))


def _db_step(action: str, index: int, t: float, key: str) -> ev.RecoveryStepStarted:
    data = m.RecoveryProgress(plan_id="p", incident_id="inc-db", target="demo-db",
                              step=m.RecoveryStep(index=index, action=action, target="demo-db"))  # fmt: skip
    return ev.RecoveryStepStarted.create(data, source="/t", id_parts=(key,), time=at(t))


def test_an_estate_fault_waits_on_approval_and_its_check_and_counts_each_action_once() -> None:
    tracker = ChainTracker(ScenarioResult(fault="primary-down", target="demo-db"), at(0))
    tracker.observe(_opened(DB_INCIDENT, 2))
    tracker.observe(_approval(ev.RecoveryApprovalRequested, 0, "promote_standby:db", 2.5))
    assert tracker.awaiting == {("p", 0): "promote_standby:db"}
    tracker.observe(_approval(ev.RecoveryApproved, 0, "promote_standby:db", 3))
    assert tracker.awaiting == {}
    for event in (_db_step("promote_standby:db", 0, 3.1, "a"), _db_step("promote_standby:db", 0, 3.1, "a"),
                  _db_step("failover:db", 1, 3.2, "b"), _db_step("failover:db", 1, 3.9, "c")):  # fmt: skip
        tracker.observe(event)  # "a" twice: a redelivered record is one run; "c": a second run
    result = tracker.finish()
    assert result.approvals == ["promote_standby:db approved by op"]
    assert result.actions_run == {"promote_standby:db": 1, "failover:db": 2}
    assert "approved" not in result.missing and "fault_checked" in result.missing
    assert "failover:db ran 2 times, not once" in result.problems
    assert {"L1 not paged", "L2 not paged", "RCA names None, not demo-db"} <= set(result.problems)
    assert not result.ok


def test_a_crash_needs_no_approval_nor_check() -> None:
    tracker = ChainTracker(ScenarioResult(fault="crash"), at(0))
    tracker.observe(opened())
    assert "approved" not in tracker.finish().missing and tracker.result.problems == []
