"""The API's read model: incident summaries, complete timelines, filters, silences, idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.responder.api.projection import Projection
from shared import events as ev
from shared import models as m
from tests.unit.services.responder.api.builders import (
    anomaly,
    at,
    command,
    fault,
    incident,
    notification,
    rca,
    recovery_step,
    transition,
)

ACKED = m.IncidentStatus.ACKNOWLEDGED
RESOLVED = m.IncidentStatus.RESOLVED


def lifecycle() -> list[ev.Envelope]:
    """A whole incident across topics, in a plausible arrival order."""
    inc = incident()
    return [
        fault(t=-30),
        anomaly(t=1),
        transition(ev.IncidentOpened, inc, t=2, reason="cpu saturated"),
        notification("inc-1", t=3, cls=ev.NotificationDispatched),
        notification("inc-1", t=3.5),
        transition(ev.IncidentEscalated, inc, t=4, team=m.Team.L1, step=0, reason="page L1"),
        command("inc-1", t=5),
        transition(ev.IncidentAcknowledged, inc.model_copy(update={"status": ACKED}), t=6, actor="alice"),
        recovery_step("inc-1", t=7),
        anomaly(t=8, cls=ev.AnomalyResolved, revision=2),
        rca("inc-1", t=9, report_path="/tmp/none.md"),
        transition(ev.IncidentResolved, inc.model_copy(update={"status": RESOLVED}), t=10, actor="responder"),
    ]


def folded(events: list[ev.Envelope]) -> Projection:
    p = Projection()
    for e in events:
        p.apply(e)
    return p


def test_summary_follows_the_lifecycle() -> None:
    p = folded(lifecycle())
    (s,) = p.incidents()
    assert (s.incident_id, s.status, s.severity) == ("inc-1", RESOLVED, m.Severity.MAJOR)
    assert (s.acknowledged_at, s.acknowledged_by) == (at(6), "alice")
    assert (s.resolved_at, s.resolved_by) == (at(10), "responder")
    assert (s.team, s.escalation_step) == (m.Team.L1, 0)
    assert s.has_report and s.updated_at == at(10)


def test_timeline_holds_every_related_event_in_time_order() -> None:
    events = lifecycle()
    detail = folded(events).incident("inc-1")
    assert detail is not None
    assert [e.id for e in detail.timeline] == [e.id for e in sorted(events, key=lambda e: e.time)]
    types = [e.type for e in detail.timeline]
    assert types[:3] == ["chaos.fault_injected", "anomaly.detected", "incident.opened"]
    assert "rca.completed" in types and "command.acknowledge" in types
    assert all(e.correlationid == "inc-1" for e in detail.timeline if e.topic.startswith(("responder", "rca")))
    assert detail.rca is not None and detail.rca.ranking[0].entity == "demo"


def test_arrival_order_across_topics_does_not_matter() -> None:
    events = lifecycle()
    forward = folded(events).incident("inc-1")
    backward = folded(list(reversed(events[2:])) + events[:2]).incident("inc-1")
    assert forward is not None and backward is not None
    assert [e.id for e in forward.timeline] == [e.id for e in backward.timeline]


def test_replayed_and_redelivered_events_are_applied_once() -> None:
    events = lifecycle()
    p = folded(events + events)
    assert not p.apply(events[0])
    detail = p.incident("inc-1")
    assert detail is not None and len(detail.timeline) == len(events)
    assert len(p) == len(events)


def test_faults_on_other_targets_or_long_before_are_left_out() -> None:
    p = Projection(chaos_lookback=timedelta(seconds=60))
    for e in [fault(t=-120), fault("other", t=-5), fault(t=-5, name="crash"), *lifecycle()[1:3]]:
        p.apply(e)
    detail = p.incident("inc-1")
    assert detail is not None
    assert [e.summary for e in detail.timeline if e.type.startswith("chaos")] == ["Fault injected: crash on demo"]


def test_anomalies_not_listed_by_the_incident_stay_out() -> None:
    p = folded([anomaly(signal="memory"), *lifecycle()[1:3]])
    detail = p.incident("inc-1")
    assert detail is not None
    assert {e.data.get("signal") for e in detail.timeline if e.type.startswith("anomaly")} == {"cpu_percent"}


def test_anomaly_revisions_are_capped_keeping_first_and_latest() -> None:
    p = Projection(max_events_per_anomaly=3)
    revisions = [anomaly(t=i, revision=i + 1, cls=ev.AnomalyUpdated if i else ev.AnomalyDetected) for i in range(6)]
    for e in [*revisions, lifecycle()[2]]:
        p.apply(e)
    detail = p.incident("inc-1")
    assert detail is not None
    kept = [e.data["revision"] for e in detail.timeline if e.type.startswith("anomaly")]
    assert kept == [1, 5, 6]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["inc-3", "inc-2", "inc-1"]),
        ({"status": m.IncidentStatus.TRIGGERED}, ["inc-3", "inc-1"]),
        ({"severity": m.Severity.CRITICAL}, ["inc-2"]),
        ({"target": "db"}, ["inc-3"]),
        ({"limit": 1}, ["inc-3"]),
    ],
)
def test_filters(filters: dict, expected: list[str]) -> None:
    p = folded(
        [
            transition(ev.IncidentOpened, incident("inc-1", t=0), t=0),
            transition(ev.IncidentOpened, incident("inc-2", severity=m.Severity.CRITICAL, t=1), t=1),
            transition(
                ev.IncidentAcknowledged, incident("inc-2", severity=m.Severity.CRITICAL, status=ACKED, t=1), t=2
            ),
            transition(ev.IncidentOpened, incident("inc-3", target="db", t=3), t=3),
        ]
    )
    assert [s.incident_id for s in p.incidents(**filters)] == expected


def test_unknown_incident() -> None:
    p = folded([command("inc-9", t=1)])
    assert p.incident("inc-9") is None and not p.knows("inc-9")


def test_rca_before_the_incident_is_still_linked() -> None:
    inc = incident()
    p = folded([rca("inc-1", t=1, report_path="/r.md"), transition(ev.IncidentOpened, inc, t=2)])
    detail = p.incident("inc-1")
    assert detail is not None and detail.rca is not None and detail.summary.has_report


def test_silence_states() -> None:
    silence = m.Silence(silence_id="sil-1", matchers={"service": "demo"}, starts_at=at(10), ends_at=at(100),
                        author="bob", reason="maintenance")  # fmt: skip
    created = ev.SilenceCreated.create(silence, source="/t", id_parts=("sil-1",), time=at(0))
    p = folded([created])
    assert [v.state for v in p.silences(now=at(5))] == ["pending"]
    assert [v.state for v in p.silences(now=at(50))] == ["active"]
    expired = ev.SilenceExpired.create(silence.model_copy(update={"ends_at": at(60)}), source="/t",
                                       id_parts=("sil-1", "x"), time=at(60))  # fmt: skip
    p.apply(expired)
    (view,) = p.silences(now=at(70))
    assert (view.state, view.expired_early_at) == ("expired", at(60))
    assert p.silence("sil-1") == silence and p.silence("nope") is None


def test_metrics_events_are_ignored() -> None:
    from tests.factories import metrics

    p = Projection()
    assert not p.apply(metrics(cpu=1.0))
    assert len(p) == 0


def test_an_earlier_fault_of_the_target_stays_off_a_later_incident_issue_15() -> None:
    """The default 10-minute lookback used to pull the earlier error burst onto the slow incident's timeline."""
    p = Projection()
    burst, slow = fault(t=-200, name="error-burst"), fault(t=-10, name="slow")
    for e in [burst, slow, *lifecycle()[1:3]]:
        p.apply(e)
    detail = p.incident("inc-1")
    assert detail is not None
    assert [e.summary for e in detail.timeline if e.type.startswith("chaos")] == ["Fault injected: slow on demo"]


def test_a_fault_during_the_open_incident_touches_it_and_one_after_its_resolution_does_not() -> None:
    p = folded([*lifecycle()[1:], fault(t=5, name="during"), fault(t=30, name="after")])
    detail = p.incident("inc-1")
    assert detail is not None
    assert [e.summary for e in detail.timeline if e.type.startswith("chaos")] == ["Fault injected: during on demo"]


def test_events_caused_by_the_incident_s_events_join_its_timeline() -> None:
    events = lifecycle()
    opened = events[2]
    data = m.Silence(silence_id="s-1", matchers={"service": "demo"}, starts_at=at(3), ends_at=at(60), author="bob",
                     reason="silenced from the incident page")  # fmt: skip
    silenced = ev.SilenceCreated.create(data, source="/api", id_parts=("s-1",), time=at(3), causation=opened)
    unrelated = ev.SilenceCreated.create(
        data.model_copy(update={"silence_id": "s-2"}), source="/api", id_parts=("s-2",), time=at(3)
    )
    detail = folded([*events, silenced, unrelated]).incident("inc-1")
    assert detail is not None
    ids = [e.id for e in detail.timeline]
    assert silenced.id in ids and unrelated.id not in ids


def test_the_summary_judges_the_response_by_the_shared_rule_issue_15() -> None:
    inc = incident()
    step = recovery_step("inc-1", t=3)
    started = ev.RecoveryStepStarted.create(
        step.data, source="/r", id_parts=("s",), time=at(2.5), correlationid="inc-1"
    )
    breach = transition(ev.ResponseTargetBreached, inc, t=7300, reason="major response target missed")
    p = folded([anomaly(t=1), transition(ev.IncidentOpened, inc, t=0), started, breach])
    (s,) = p.incidents()
    assert (s.response, s.first_response_by, s.automatic_recovery_s) == ("missed", "", 2.5)
    ack = transition(ev.IncidentAcknowledged, inc.model_copy(update={"status": ACKED}), t=40, actor="alice")
    acked = folded([transition(ev.IncidentOpened, inc, t=0), started, ack])
    (s,) = acked.incidents()
    assert (s.response, s.first_response_s, s.first_response_by) == ("met", 40.0, "alice (incident.acknowledged)")
