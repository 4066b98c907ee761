"""Escalation clocks: which steps and response-target breaches are due for an unacknowledged incident."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.responder.domain.policy import EscalationPolicy
from services.responder.domain.state import paged_key
from shared.models import Incident, IncidentStatus, Severity, Team


@dataclass(frozen=True, slots=True)
class DueStep:
    """An escalation step whose time has come: page ``team`` as step ``index`` of ``severity``."""

    severity: Severity
    index: int
    team: Team
    due_at: datetime

    @property
    def key(self) -> str:
        """Identity of the step within the incident (severity, step, team)."""
        return f"{self.severity.value}:{self.index}:{self.team.value}"


def clock_start(incident: Incident) -> datetime:
    """Return the escalation clock's zero: when the current severity began, or a later hand escalation."""
    start = incident.severity_since or incident.opened_at
    return max(start, incident.clock_since) if incident.clock_since is not None else start


def due_steps(
    incident: Incident,
    fired: frozenset[str],
    policies: Mapping[Severity, EscalationPolicy],
    *,
    now: datetime,
    group_wait_s: float = 0.0,
) -> list[DueStep]:
    """Return the steps of the incident's severity policy that are due at ``now`` and not yet fired.

    Nothing is due while the incident is acknowledged or resolved, nor before ``group_wait_s``
    after opening (so an alert storm is gathered into the first page). Steps measure from
    ``clock_start``: a severity raise restarts the clock under the new severity's policy. Steps
    overdue after a long outage of the responder all come due at once (none is lost). A team
    already paged at this severity (e.g. escalated early because recovery failed) is not paged again.
    """
    if incident.status is not IncidentStatus.TRIGGERED:
        return []
    if now < incident.opened_at + timedelta(seconds=group_wait_s):
        return []
    policy = policies.get(incident.severity)
    if policy is None:
        return []
    start = clock_start(incident)
    due: list[DueStep] = []
    for index, step in enumerate(policy.steps):
        at = start + timedelta(seconds=step.after_s)
        if at > now:
            continue
        for team in step.teams:
            candidate = DueStep(incident.severity, index, team, at)
            if candidate.key not in fired and paged_key(incident.severity, team) not in fired:
                due.append(candidate)
    return due


def breach_due(
    incident: Incident, breached: frozenset[Severity], policies: Mapping[Severity, EscalationPolicy], *, now: datetime
) -> datetime | None:
    """Return the response-target deadline if it has passed unacknowledged and was not reported yet."""
    if incident.status is not IncidentStatus.TRIGGERED or incident.severity in breached:
        return None
    policy = policies.get(incident.severity)
    if policy is None:
        return None
    deadline = clock_start(incident) + timedelta(seconds=policy.response_target_s)
    return deadline if now >= deadline else None


def next_team(paged: tuple[Team, ...]) -> Team | None:
    """Return the tier above the highest one paged so far (L1 if none), None above L3."""
    order = list(Team)
    if not paged:
        return Team.L1
    top = max(order.index(t) for t in paged)
    return order[top + 1] if top + 1 < len(order) else None


def current_level(paged: tuple[Team, ...]) -> Team:
    """Return the highest level paged so far (L1 if none): the level whose acknowledgement stops the clock."""
    order = list(Team)
    return order[max(order.index(t) for t in paged)] if paged else Team.L1
