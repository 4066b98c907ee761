"""A recovery step awaiting approval is told to the teams paged about its incident, with Approve/Deny in chat."""

from __future__ import annotations

from services.responder.domain.outbox import owed_notices
from services.responder.domain.state import Book, NoticeKind, fold_recovery_event
from services.responder.notify.slack import blocks
from shared import events as ev
from shared import models as m
from tests.unit.services.responder.helpers import at
from tests.unit.services.responder.test_notify import outbound, paged_state


def request_for(incident: m.Incident, *, n: int = 0) -> ev.RecoveryApprovalRequested:
    step = m.RecoveryStep(index=n, action="promote_standby:db", target=incident.target)
    data = m.RecoveryApproval(
        plan_id="plan-1", incident_id=incident.incident_id, target=incident.target, step=step,
        severity=m.Severity.CRITICAL, timeout_s=60, default=m.ApprovalDefault.DENY,
    )  # fmt: skip
    return ev.RecoveryApprovalRequested.create(data, source="/t", id_parts=("req", n), time=at(2))


def book_with_paged_incident() -> tuple[Book, m.Incident]:
    sim = paged_state()
    state = sim.only()
    return sim.book, state.incident


def test_the_request_is_one_approval_notice_per_paged_team_and_channel_even_when_replayed() -> None:
    book, incident = book_with_paged_incident()
    request = request_for(incident)
    fold_recovery_event(book, request)
    fold_recovery_event(book, request)  # a redelivered request asks nobody twice
    state = book.incidents[incident.incident_id]
    [trigger] = [t for t in state.triggers if t.kind is NoticeKind.APPROVAL]
    assert trigger.teams == state.paged and trigger.event_id == request.id
    assert "promote_standby:db" in trigger.reason and "within 60s, else it is denied" in trigger.reason
    owed = owed_notices(state, {m.Team.L1: ["slack"], m.Team.L2: ["slack"]}, set(), now=at(3), max_age_s=600)
    approvals = [n for n in owed if n.kind is NoticeKind.APPROVAL]
    assert sorted(n.team.value for n in approvals) == sorted(t.value for t in state.paged)


def test_no_notice_for_a_resolved_or_unknown_incident() -> None:
    book, incident = book_with_paged_incident()
    unknown = incident.model_copy(update={"incident_id": "inc-nobody"})
    fold_recovery_event(book, request_for(unknown))
    assert "inc-nobody" not in book.incidents
    from dataclasses import replace

    state = book.incidents[incident.incident_id]
    book.incidents[incident.incident_id] = replace(state, resolved_at=at(1))
    fold_recovery_event(book, request_for(incident, n=1))
    assert not [t for t in book.incidents[incident.incident_id].triggers if t.kind is NoticeKind.APPROVAL]


def test_the_approval_message_has_approve_and_deny_only_and_says_what_awaits() -> None:
    out = outbound(NoticeKind.APPROVAL)
    actions = next(b for b in blocks(out) if b["type"] == "actions")["elements"]
    assert [(b["action_id"], b.get("style")) for b in actions] == [
        ("recovery_approve", "primary"),
        ("recovery_deny", "danger"),
    ]
    assert out.message.title.startswith("[CRITICAL] APPROVAL NEEDED")
    ko = next(b for b in blocks(outbound(NoticeKind.APPROVAL, language="ko")) if b["type"] == "actions")["elements"]
    assert [b["text"]["text"] for b in ko] == ["승인", "거부"]
    page = [b["action_id"] for b in next(b for b in blocks(outbound()) if b["type"] == "actions")["elements"]]
    assert "recovery_approve" not in page and "recovery_deny" not in page
