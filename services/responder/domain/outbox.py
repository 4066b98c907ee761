"""Notification outbox: which (trigger, team, channel) notices an incident still owes, with stable ids.

A notice is owed for every trigger (page, acknowledge, resolve) of an incident, to every channel
of every team the trigger names, unless a ``NotificationDispatched`` with the notice's id exists.
Because the rows derive from the incident's events, a responder that stopped between recording an
escalation and dispatching its pages sends them after restart, and never twice: the id is the same.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.responder.domain.state import IncidentState, NoticeKind, Trigger
from shared.ids import derive_id
from shared.models import Team


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification to send: to ``channel`` of ``team`` about ``trigger`` of an incident."""

    notification_id: str
    incident_id: str
    team: Team
    channel: str
    kind: NoticeKind
    trigger: Trigger


def notification_id(trigger_event_id: str, team: Team, channel: str) -> str:
    """Return the stable id of the notice of one trigger to one team's channel."""
    return "ntf-" + derive_id("notification", trigger_event_id, team.value, channel).replace("-", "")[:16]


def owed_notices(
    state: IncidentState,
    routes: Mapping[Team, Sequence[str]],
    dispatched: Container[str],
    *,
    now: datetime,
    max_age_s: float,
) -> list[Notice]:
    """Return the notices of ``state`` not yet dispatched, skipping triggers older than ``max_age_s``.

    The age limit keeps a responder pointed at a long history (or given a new channel) from
    paging about incidents long past.
    """
    oldest = now - timedelta(seconds=max_age_s)
    owed: list[Notice] = []
    for trigger in state.triggers:
        if trigger.at < oldest:
            continue
        for team in trigger.teams:
            for channel in routes.get(team, ()):
                nid = notification_id(trigger.event_id, team, channel)
                if nid not in dispatched:
                    owed.append(Notice(nid, state.incident.incident_id, team, channel, trigger.kind, trigger))
    return owed
