"""A recovery being verified for a less severe incident of the target does not hold a Critical one back."""

from __future__ import annotations

from datetime import UTC, datetime

from services.recovery.domain.verify import Verification
from services.recovery.state import RecoveryState
from shared import models as m

T0 = datetime(2026, 12, 6, 2, 25, tzinfo=UTC)


def incident(incident_id: str, severity: m.Severity) -> m.Incident:
    return m.Incident(
        incident_id=incident_id, group_key="demo", target="demo", title=incident_id, severity=severity,
        severity_reason="r", status=m.IncidentStatus.TRIGGERED, opened_at=T0,
    )  # fmt: skip


def state_verifying(severity: m.Severity) -> RecoveryState:
    state = RecoveryState()
    state.incidents["inc-errors"] = incident("inc-errors", severity)
    state.pending["inc-errors"] = Verification("plan-e", "inc-errors", "demo", since=0.0, deadline=60.0)
    return state


def test_a_critical_incident_is_not_held_back_by_a_major_one_s_verification() -> None:
    critical = incident("inc-data", m.Severity.CRITICAL)
    assert state_verifying(m.Severity.MAJOR).verifying("demo", below=critical) is None
    assert state_verifying(m.Severity.MAJOR).verifying("demo") == "inc-errors"  # without a rank: any holds


def test_an_equal_or_more_severe_verification_still_holds_the_target() -> None:
    major = incident("inc-slow", m.Severity.MAJOR)
    assert state_verifying(m.Severity.MAJOR).verifying("demo", below=major) == "inc-errors"
    assert state_verifying(m.Severity.CRITICAL).verifying("demo", below=major) == "inc-errors"
    assert state_verifying(m.Severity.CRITICAL).verifying("other", below=major) is None
