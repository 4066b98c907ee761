"""Operator commands and silences as events (pure): ids derive from the request id, so retries are no-ops."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from services.responder.domain.decisions import declared_incident_id
from shared import events as ev
from shared import models as m
from shared.ids import short_id

SOURCE: Final = "/services/responder/api"


class CommandKind(StrEnum):
    """What an operator asks of an incident."""

    ACK = "ack"
    RESOLVE = "resolve"
    NOTE = "note"
    RCA = "rca"
    DECLARE = "declare"
    ESCALATE = "escalate"
    REASSIGN = "reassign"
    SEVERITY = "severity"
    MERGE = "merge"
    SPLIT = "split"
    APPROVE = "approve"
    DENY = "deny"


COMMAND_EVENTS: Final[dict[CommandKind, type[ev.CommandEvent]]] = {
    CommandKind.ACK: ev.AcknowledgeRequested,
    CommandKind.RESOLVE: ev.ResolveRequested,
    CommandKind.NOTE: ev.NoteRequested,
    CommandKind.RCA: ev.RcaRequested,
    CommandKind.DECLARE: ev.DeclareRequested,
    CommandKind.ESCALATE: ev.EscalateRequested,
    CommandKind.REASSIGN: ev.ReassignRequested,
    CommandKind.SEVERITY: ev.SeverityRequested,
    CommandKind.MERGE: ev.MergeRequested,
    CommandKind.SPLIT: ev.SplitRequested,
    CommandKind.APPROVE: ev.ApproveRequested,
    CommandKind.DENY: ev.DenyRequested,
}


def command_event(
    kind: CommandKind, incident_id: str, *, actor: str, text: str, request_id: str, now: datetime, **fields: Any
) -> ev.CommandEvent:
    """Build the command event for one operator request (same request id, same event id).

    ``fields``: the decision's own ``OperatorCommand`` fields (level, team, severity, ...).
    """
    command_id = short_id("cmd", incident_id, kind, request_id)
    data = m.OperatorCommand(command_id=command_id, incident_id=incident_id, actor=actor, text=text, **fields)
    return COMMAND_EVENTS[kind].create(
        data, source=SOURCE, id_parts=(command_id,), time=now, subject=incident_id, correlationid=incident_id
    )


def declare_event(*, actor: str, text: str, request_id: str, now: datetime, **fields: Any) -> ev.CommandEvent:
    """Build the command declaring an incident; its incident id derives from the request id (retries: same)."""
    command_id = short_id("cmd", "declare", request_id)
    incident_id = declared_incident_id(command_id)
    data = m.OperatorCommand(command_id=command_id, incident_id=incident_id, actor=actor, text=text, **fields)
    return ev.DeclareRequested.create(
        data, source=SOURCE, id_parts=(command_id,), time=now, subject=incident_id, correlationid=incident_id
    )


def silence_created(
    *,
    matchers: dict[str, str],
    starts_at: datetime,
    ends_at: datetime,
    author: str,
    reason: str,
    request_id: str,
    now: datetime,
) -> ev.SilenceCreated:
    """Build the event creating a silence (same request id, same silence)."""
    silence_id = short_id("sil", request_id)
    data = m.Silence(
        silence_id=silence_id, matchers=matchers, starts_at=starts_at, ends_at=ends_at, author=author, reason=reason
    )
    return ev.SilenceCreated.create(data, source=SOURCE, id_parts=(silence_id,), time=now, subject=silence_id)


def silence_expired(silence: m.Silence, *, now: datetime) -> ev.SilenceExpired:
    """Build the event expiring ``silence`` now (expiring twice yields the same event id)."""
    data = silence.model_copy(update={"ends_at": min(now, silence.ends_at)})
    return ev.SilenceExpired.create(
        data, source=SOURCE, id_parts=(silence.silence_id, "expired"), time=now, subject=silence.silence_id
    )


def silence_window(
    *, now: datetime, starts_at: datetime | None, ends_at: datetime | None, duration_s: float | None
) -> tuple[datetime, datetime]:
    """Resolve a silence's window from an explicit end or a duration; raises ValueError if neither or empty."""
    start = starts_at or now
    if ends_at is None:
        if duration_s is None:
            raise ValueError("give ends_at or duration_s")
        ends_at = start + timedelta(seconds=duration_s)
    if ends_at <= start:
        raise ValueError("the silence ends before it starts")
    return start, ends_at
