"""Issue 15: one definition of response compliance; an automatic recovery step is no human response."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared import events as ev
from shared import models as m
from shared.compliance import Verdict, response_compliance

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


INC = m.Incident(
    incident_id="inc-1", group_key="service=demo", target="demo", title="down", severity=m.Severity.CRITICAL,
    severity_reason="down", status=m.IncidentStatus.TRIGGERED, opened_at=at(0),
)  # fmt: skip


def step_started(t: float) -> ev.Event:
    step = m.RecoveryStep(index=0, action="restart_process", target="demo")
    data = m.RecoveryProgress(plan_id="p", incident_id="inc-1", target="demo", step=step)
    return ev.RecoveryStepStarted.create(data, source="/r", id_parts=("s", t), time=at(t), correlationid="inc-1")


def lifecycle(cls: type[ev.Envelope[m.IncidentTransition]], t: float, actor: str, **update: Any) -> ev.Event:
    inc = INC.model_copy(update=update)
    data = m.IncidentTransition(incident=inc, reason="r", actor=actor)
    return cls.create(data, source="/x", id_parts=(cls.event_type, t), time=at(t), correlationid="inc-1")


def test_an_automatic_step_is_shown_beside_and_is_no_response() -> None:
    resolved = lifecycle(ev.IncidentResolved, 100, "responder", status=m.IncidentStatus.RESOLVED)
    c = response_compliance(INC, [step_started(0.5), resolved], 60.0)
    assert c.verdict is Verdict.MISSED and c.met is False
    assert (c.human_s, c.human_by) == (None, "")
    assert (c.automatic_s, c.automatic_by) == (0.5, "recovery.step_started")


def test_the_first_human_acknowledgement_within_the_target_meets_it() -> None:
    acked = lifecycle(ev.IncidentAcknowledged, 30, "alice", status=m.IncidentStatus.ACKNOWLEDGED)
    c = response_compliance(INC, [step_started(0.5), acked], 60.0)
    assert c.verdict is Verdict.MET and c.human_s == 30.0 and c.human_by == "alice (incident.acknowledged)"
    late = lifecycle(ev.IncidentAcknowledged, 90, "alice", status=m.IncidentStatus.ACKNOWLEDGED)
    assert response_compliance(INC, [late], 60.0).verdict is Verdict.MISSED


def test_open_and_unanswered_is_pending_until_the_deadline_then_missed() -> None:
    assert response_compliance(INC, [step_started(1)], 60.0, now=at(59)).verdict is Verdict.PENDING
    assert response_compliance(INC, [step_started(1)], 60.0, now=at(61)).verdict is Verdict.MISSED


def test_resolved_automatically_before_the_deadline_needed_nobody() -> None:
    resolved = lifecycle(ev.IncidentResolved, 20, "responder", status=m.IncidentStatus.RESOLVED)
    c = response_compliance(INC.model_copy(update={"status": m.IncidentStatus.RESOLVED}), [resolved], 60.0)
    assert c.verdict is Verdict.NOT_NEEDED and c.met is None


def test_the_deadline_runs_from_the_current_severity_as_the_responder_s_breach_does() -> None:
    raised = INC.model_copy(update={"severity_since": at(100)})
    acked = lifecycle(ev.IncidentAcknowledged, 130, "alice", status=m.IncidentStatus.ACKNOWLEDGED)
    assert response_compliance(raised, [acked], 60.0).verdict is Verdict.MET
