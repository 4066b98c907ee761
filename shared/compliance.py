"""Response-target compliance: one definition for the live view, the API, the report and its plan.

The response target of a severity is met when a person responds (acknowledges or resolves the
incident) by the deadline: the severity's target after the incident reached its severity. That is
the responder's own breach rule (`services/responder/domain/escalation.breach_due`: only an
acknowledgement or resolution stops the clock), so the console, the report and its plan agree.
An automatic recovery step is no human response; it is reported beside it. Pure: events and the
target in, a verdict out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from shared import events as ev
from shared.models import Incident, IncidentStatus, IncidentTransition, OperatorCommand

AUTOMATIC_ACTOR: Final = "responder"
"""The actor of the responder's own lifecycle events (auto-resolve, escalation, notes)."""


class Verdict(StrEnum):
    """Where the response target stands."""

    MET = "met"
    MISSED = "missed"
    PENDING = "pending"  # open, nobody responded yet, the deadline is ahead
    NOT_NEEDED = "not needed"  # resolved (automatically) before the deadline without a person


@dataclass(frozen=True)
class ResponseCompliance:
    """The first human response against the severity's target, and the first automatic action beside it."""

    severity: str
    target_s: float
    deadline: datetime
    verdict: Verdict
    human_s: float | None = None  # seconds from opening to the first human response
    human_by: str = ""  # "<actor> (<event type>)"
    automatic_s: float | None = None  # seconds from opening to the first automatic recovery action
    automatic_by: str = ""

    @property
    def met(self) -> bool | None:
        """True met, False missed, None not decided (pending, or no person was needed)."""
        return {Verdict.MET: True, Verdict.MISSED: False}.get(self.verdict)


def _human(event: ev.Event) -> str | None:
    """Return who responded if ``event`` is a person's response, else None."""
    data = event.data
    if isinstance(event, ev.AcknowledgeRequested | ev.ResolveRequested) and isinstance(data, OperatorCommand):
        return data.actor or "operator"
    is_response = isinstance(event, ev.IncidentAcknowledged | ev.IncidentResolved)
    if is_response and isinstance(data, IncidentTransition) and data.actor != AUTOMATIC_ACTOR:
        return data.actor
    return None


def _short(event: ev.Event) -> str:
    return event.type.removeprefix(ev.TYPE_PREFIX)


def response_compliance(
    incident: Incident, events: Iterable[ev.Event], target_s: float, *, now: datetime | None = None
) -> ResponseCompliance:
    """Judge the response to ``incident`` from its events against ``target_s`` (seconds), as of ``now``.

    ``now`` decides a still-open incident nobody answered: missed once the deadline is past, else
    pending (without ``now``, the latest event's time stands for it).
    """
    opened = incident.opened_at
    deadline = (incident.severity_since or opened) + timedelta(seconds=target_s)
    human: tuple[datetime, str] | None = None
    automatic: tuple[datetime, str] | None = None
    resolved_at: datetime | None = None
    latest = opened
    for event in sorted(events, key=lambda e: e.time):
        latest = max(latest, event.time)
        who = _human(event)
        if who is not None and human is None:
            human = (event.time, f"{who} ({_short(event)})")
        if isinstance(event, ev.RecoveryStepStarted) and automatic is None:
            automatic = (event.time, _short(event))
        if isinstance(event, ev.IncidentResolved) and resolved_at is None:
            resolved_at = event.time
    if incident.status is IncidentStatus.RESOLVED and resolved_at is None:
        resolved_at = incident.updated_at or latest
    if human is not None:
        verdict = Verdict.MET if human[0] <= deadline else Verdict.MISSED
    else:
        end = resolved_at or now or latest
        if end > deadline:
            verdict = Verdict.MISSED
        else:
            verdict = Verdict.NOT_NEEDED if resolved_at is not None else Verdict.PENDING
    return ResponseCompliance(
        severity=incident.severity.value,
        target_s=target_s,
        deadline=deadline,
        verdict=verdict,
        human_s=max((human[0] - opened).total_seconds(), 0.0) if human else None,
        human_by=human[1] if human else "",
        automatic_s=max((automatic[0] - opened).total_seconds(), 0.0) if automatic else None,
        automatic_by=automatic[1] if automatic else "",
    )
