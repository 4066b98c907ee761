"""The read model's "awaiting approval": set by the request, cleared by the decision or the recovery's end."""

from __future__ import annotations

import pytest

from services.responder.api.projection import Projection
from shared import events as ev
from shared import models as m
from tests.unit.services.responder.api.builders import at, incident, transition

STEP = m.RecoveryStep(index=0, action="restart_process", target="demo")
REQUEST = m.RecoveryApproval(
    plan_id="plan-1", incident_id="inc-1", target="demo", step=STEP, severity=m.Severity.CRITICAL, timeout_s=60,
    default=m.ApprovalDefault.APPROVE,
)  # fmt: skip


def test_a_request_seen_before_the_incident_still_shows() -> None:
    projection = Projection()
    projection.apply(ev.RecoveryApprovalRequested.create(REQUEST, source="/t", id_parts=("r",), time=at(3)))
    projection.apply(transition(ev.IncidentOpened, incident(), t=2, reason="down"))
    expected = "restart_process on demo (no decision within 60s: approve)"
    assert projection.awaiting_approval("inc-1") == expected
    detail = projection.incident("inc-1")
    assert detail is not None and detail.summary.awaiting_approval == expected


@pytest.mark.parametrize("cls", [ev.RecoveryApproved, ev.RecoveryDenied])
def test_a_decision_clears_it(cls: type[ev.RecoveryApproved | ev.RecoveryDenied]) -> None:
    projection = Projection()
    projection.apply(transition(ev.IncidentOpened, incident(), t=2, reason="down"))
    projection.apply(ev.RecoveryApprovalRequested.create(REQUEST, source="/t", id_parts=("r",), time=at(3)))
    decided = REQUEST.model_copy(update={"actor": "ana", "reason": "ok"})
    projection.apply(cls.create(decided, source="/t", id_parts=("d",), time=at(4)))
    assert projection.awaiting_approval("inc-1") == ""
