"""Notification outbox: which notices an incident still owes, with stable ids, and the records of each.

A notice is owed for every trigger (page, acknowledge, resolve) of an incident, to every channel
of every team the trigger names, unless a ``NotificationDispatched`` with the notice's id exists.
A team with an on-call schedule also has its page go to the person on call at the page's time,
through that person's contact rules: the first contact at once, each next one after its delay
unless the incident was acknowledged (or resolved) by then; acknowledge and resolve notices go to
the first contact of whoever the team's first page reached. With nobody on call (a gap) only the
team's channels are paged.
Because the rows derive from the incident's events, a responder that stopped between recording an
escalation and dispatching its pages sends them after restart, and never twice: the id is the same.

The records are built here too, so the responder decides and records in one place: the dispatch
(written before a notice is sent), the outcome a sender returned (delivered, or failed with a note
on the incident), and the unknown outcome of a notice dispatched before a stop (never re-sent).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from services.responder.domain import lifecycle
from services.responder.domain.oncall import Roster, contact_channel, contact_plan, on_call
from services.responder.domain.state import Book, IncidentState, NoticeKind, Trigger, unsettled_notifications
from shared import events as ev
from shared.ids import derive_id
from shared.models import Incident, IncidentStatus, NotificationRecord, Team

UNKNOWN_OUTCOME: Final = "outcome unknown: responder stopped after dispatch; not re-sent (at-most-once)"


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification to send: to ``channel`` of ``team`` about ``trigger`` of an incident."""

    notification_id: str
    incident_id: str
    team: Team
    channel: str
    kind: NoticeKind
    trigger: Trigger


@dataclass(frozen=True, slots=True)
class Outcome:
    """What came of sending one notice: delivered or not, after how many tries, and a short detail."""

    delivered: bool
    attempts: int
    detail: str


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
    roster: Roster | None = None,
) -> list[Notice]:
    """Return the notices of ``state`` not yet dispatched, skipping triggers older than ``max_age_s``.

    The age limit keeps a responder pointed at a long history (or given a new channel) from
    paging about incidents long past. ``roster``: the on-call schedules (see the module's doc).
    """
    oldest = now - timedelta(seconds=max_age_s)
    owed: list[Notice] = []
    for trigger in state.triggers:
        if trigger.at < oldest:
            continue
        for team in trigger.teams:
            channels = [*routes.get(team, ()), *_person_channels(state, trigger, team, roster, now=now)]
            for channel in channels:
                nid = notification_id(trigger.event_id, team, channel)
                if nid not in dispatched:
                    owed.append(Notice(nid, state.incident.incident_id, team, channel, trigger.kind, trigger))
    return owed


def _person_channels(
    state: IncidentState, trigger: Trigger, team: Team, roster: Roster | None, *, now: datetime
) -> list[str]:
    """Return the contact channels of the person on call for ``team`` that ``trigger`` owes at ``now``."""
    schedule = roster.schedule_of(team) if roster is not None else None
    if roster is None or schedule is None:
        return []
    paged_at = trigger.at
    if trigger.kind is not NoticeKind.PAGE:  # told to whoever the team's first page reached
        pages = [t.at for t in state.triggers if t.kind is NoticeKind.PAGE and team in t.teams]
        paged_at = pages[0] if pages else trigger.at
    name = on_call(schedule, paged_at).person
    person = roster.person(name) if name is not None else None
    if person is None:
        return []
    if trigger.kind is not NoticeKind.PAGE:
        return [contact_channel(person.name, 0)]
    waiting = state.incident.status is IncidentStatus.TRIGGERED
    return [
        contact_channel(person.name, index)
        for index, _contact, due in contact_plan(person, trigger.at)
        if index == 0 or (waiting and due <= now)
    ]


def owed_by_book(
    book: Book,
    routes: Mapping[Team, Sequence[str]],
    *,
    owns: Callable[[Incident], bool],
    now: datetime,
    max_age_s: float,
) -> list[Notice]:
    """Return every notice owed by the incidents of ``book`` that ``owns`` says this instance sends.

    Only incidents with a trigger younger than ``max_age_s`` are looked at (``newest_trigger_at``):
    the others owe nothing, and most of a long-running book is resolved incidents.
    """
    oldest = now - timedelta(seconds=max_age_s)
    owed: list[Notice] = []
    for state in book.incidents.values():
        newest = state.newest_trigger_at
        if newest is not None and newest >= oldest and owns(state.incident):
            owed += owed_notices(state, routes, book.notifications, now=now, max_age_s=max_age_s, roster=book.roster)
    return owed


def dispatch_record(notice: Notice, *, now: datetime) -> ev.NotificationEvent:
    """Return the ``NotificationDispatched`` recorded before ``notice`` is sent."""
    return _record(ev.NotificationDispatched, notice, now=now)


def outcome_records(
    notice: Notice, outcome: Outcome, state: IncidentState | None, *, now: datetime
) -> list[ev.NotificationEvent | ev.IncidentEvent]:
    """Return the events recording ``outcome``: delivered, or failed plus a note on the incident (if known)."""
    if outcome.delivered:
        return [_record(ev.NotificationDelivered, notice, now=now, attempt=outcome.attempts, detail=outcome.detail)]
    failed = _record(ev.NotificationFailed, notice, now=now, attempt=outcome.attempts, detail=outcome.detail)
    return [failed, *_note(state, failed.data, "failed", now=now)]


def unknown_outcomes(book: Book, *, now: datetime) -> list[ev.NotificationEvent | ev.IncidentEvent]:
    """Return a ``NotificationFailed`` (outcome unknown) and a note for each dispatch with no outcome recorded.

    These notices were dispatched before a stop; they are reported, never sent again (at-most-once).
    """
    events: list[ev.NotificationEvent | ev.IncidentEvent] = []
    for record in unsettled_notifications(book):
        data = record.data
        unknown = ev.NotificationFailed.create(
            data.model_copy(update={"detail": UNKNOWN_OUTCOME}),
            source=lifecycle.SOURCE,
            id_parts=(data.notification_id, "unknown"),
            time=now,
            subject=data.incident_id,
            correlationid=data.incident_id,
            causation=record,
        )
        events += [unknown, *_note(book.incidents.get(data.incident_id), unknown.data, "unknown", now=now)]
    return events


def _note(
    state: IncidentState | None, record: NotificationRecord, why: str, *, now: datetime
) -> list[ev.IncidentEvent]:
    if state is None:
        return []
    reason = f"notification {record.kind} via {record.channel} to {record.team.value} {why}: {record.detail}"
    note = lifecycle.transition(
        ev.IncidentNoteAdded,
        state.incident,
        reason,
        id_parts=("notification", record.notification_id, why),
        now=now,
    )
    return [note]


def _record(
    cls: type[ev.NotificationEvent], notice: Notice, *, now: datetime, attempt: int = 1, detail: str = ""
) -> ev.NotificationEvent:
    data = NotificationRecord(
        notification_id=notice.notification_id,
        incident_id=notice.incident_id,
        channel=notice.channel,
        team=notice.team,
        kind=notice.kind.value,
        attempt=attempt,
        detail=detail or notice.trigger.reason,
    )
    return cls.create(
        data,
        source=lifecycle.SOURCE,
        id_parts=(notice.notification_id,),
        time=now,
        subject=notice.incident_id,
        correlationid=notice.incident_id,
    )
