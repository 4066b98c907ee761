"""Responder state as a fold over its own topics (incidents, notifications, silences), live or on replay."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, TypeVar

from services.responder.domain.anomaly import AnomalyEventView, is_resolved
from services.responder.domain.oncall import Roster, Schedule
from services.responder.domain.silences import Mute, expire
from shared import events as ev
from shared.models import ApprovalDefault, Incident, IncidentStatus, Severity, Silence, Team

_K = TypeVar("_K")


class NoticeKind(StrEnum):
    """Why a notification is sent; channels map it (PagerDuty: trigger/acknowledge/resolve)."""

    PAGE = "page"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    APPROVAL = "approval"  # a recovery step awaits a person's approval (chat: Approve/Deny)


@dataclass(frozen=True, slots=True)
class Trigger:
    """An incident event that must be told to ``teams`` (the notification outbox's rows)."""

    event_id: str
    kind: NoticeKind
    teams: tuple[Team, ...]
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class IncidentState:
    """One incident as rebuilt from its events: the latest snapshot plus the clocks' memory."""

    incident: Incident
    fired: frozenset[str] = frozenset()
    paged: tuple[Team, ...] = ()
    breached: frozenset[Severity] = frozenset()
    triggers: tuple[Trigger, ...] = ()
    applied: frozenset[str] = frozenset()
    decided: frozenset[str] = frozenset()  # ids of the operator commands applied (decisions are idempotent)
    notes: tuple[str, ...] = ()
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    newest_trigger_at: datetime | None = None
    """The latest ``at`` of ``triggers``: an incident whose triggers are all older than the outbox's age
    limit owes nothing, and the clock loop's pass over the book passes it over on this alone."""

    def with_trigger(self, trigger: Trigger) -> dict[str, Any]:
        """The changes that add ``trigger`` (for ``replace``)."""
        newest = self.newest_trigger_at
        return {
            "triggers": (*self.triggers, trigger),
            "newest_trigger_at": trigger.at if newest is None or trigger.at > newest else newest,
        }


@dataclass(frozen=True, slots=True)
class RecoveryWindow:
    """When one recovery step ran on a target (``ended`` is None while it runs)."""

    started: datetime
    ended: datetime | None = None


MAX_STEPS_PER_TARGET: Final = 32
MAX_SUPPRESSED: Final = 10_000
PROBLEM_SEP: Final = ",problem="
"""Separates a target's group key from the problem class in the key of a problem's incident."""


class NotificationStatus(StrEnum):
    """Where a notification attempt stands."""

    DISPATCHED = "dispatched"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass
class Book:
    """Everything the responder knows, indexed for its decisions; mutated only by the fold functions."""

    incidents: dict[str, IncidentState] = field(default_factory=dict)
    open_by_group: dict[str, str] = field(default_factory=dict)
    latest_by_group: dict[str, str] = field(default_factory=dict)
    incident_of_anomaly: dict[str, str] = field(default_factory=dict)
    silences: dict[str, Mute] = field(default_factory=dict)  # silences, and windows as ``window:<name>``
    notifications: dict[str, NotificationStatus] = field(default_factory=dict)
    notification_records: dict[str, ev.NotificationDispatched] = field(default_factory=dict)
    message_refs: dict[tuple[str, Team, str], str] = field(default_factory=dict)  # (incident, team, channel)
    recovering: dict[str, datetime] = field(default_factory=dict)
    recovery_steps: dict[str, dict[str, RecoveryWindow]] = field(default_factory=dict)
    suppressed: dict[str, AnomalyEventView] = field(default_factory=dict)
    roster: Roster = field(default_factory=Roster)
    oncall_events: set[str] = field(default_factory=set)
    anomaly_fingerprints: dict[str, str] = field(default_factory=dict)  # anomaly id → fingerprint, for splits
    open_index: OpenIndex = field(default_factory=lambda: OpenIndex())
    unresolved: dict[str, None] = field(default_factory=dict)
    """Ids of the incidents not resolved, in the order they were folded (the clock loop passes over these only)."""

    def unresolved_incidents(self) -> list[IncidentState]:
        """The states of the incidents not resolved (a list: the caller may fold while it walks them)."""
        return [self.incidents[i] for i in self.unresolved]

    def open_incidents(self) -> list[Incident]:
        """Return the incidents not yet resolved."""
        return [self.incidents[i].incident for i in self.open_by_group.values() if i in self.incidents]

    def open_keys_under(self, key: str) -> list[str]:
        """The keys of ``open_by_group`` equal to ``key`` or starting with ``key + PROBLEM_SEP``, in its order."""
        return self.open_index.ordered(self.open_index.by_prefix.get(key, ()))

    def open_sharing(self, wanted: Sequence[tuple[str, str]]) -> list[Incident]:
        """The incidents of ``open_by_group`` whose labels hold every wanted value, in its order (all when none)."""
        index = self.open_index
        if not wanted:
            keys: Iterable[str] = self.open_by_group
        else:
            buckets = sorted((index.by_label.get(item, set()) for item in wanted), key=len)
            keys = index.ordered(set.intersection(*buckets))
        ids = [self.open_by_group[k] for k in keys]
        found = [self.incidents[i].incident for i in ids if i in self.incidents]
        return [i for i in found if all(i.labels.get(name) == value for name, value in wanted)]

    def recovering_targets(self) -> set[str]:
        """Return the targets a recovery action is under way on (for any of their incidents)."""
        return {self.incidents[i].incident.target for i in self.recovering if i in self.incidents}


@dataclass
class OpenIndex:
    """Indexes of ``Book.open_by_group`` (kept by ``fold_incident_event``) so a decision never scans every incident.

    ``seq`` numbers each key when it enters ``open_by_group`` (a key already there keeps its place,
    as in a dict), so sorting by it gives ``open_by_group``'s order exactly.
    """

    seq: dict[str, int] = field(default_factory=dict)
    by_prefix: dict[str, set[str]] = field(default_factory=dict)
    """Group key and each of its prefixes that end before a ``PROBLEM_SEP`` → the open keys."""
    by_label: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    """(label, value) of the incident open under a key → the open keys."""
    labels_of: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    id_of: dict[str, str] = field(default_factory=dict)
    """Open key → the incident open under it (as indexed)."""
    keys_of: dict[str, set[str]] = field(default_factory=dict)
    """Incident id → the keys it is open under (an incident whose group key changed may hold an old one)."""
    next_seq: int = 0

    def ordered(self, keys: Iterable[str]) -> list[str]:
        """``keys`` in the order of ``open_by_group``."""
        return sorted(keys, key=self.seq.__getitem__)

    def incident_folded(self, book: Book, incident_id: str, group_key: str) -> None:
        """Refresh the keys an incident was open under and its group key, after it was folded."""
        for key in {group_key, *self.keys_of.get(incident_id, ())}:
            self.refresh(book, key)

    def refresh(self, book: Book, key: str) -> None:
        """Bring the entries of ``key`` in line with ``book.open_by_group`` and the incident open under it."""
        incident_id = book.open_by_group.get(key)
        if incident_id is not None and self.id_of.get(key) == incident_id:
            state = book.incidents.get(incident_id)
            if self.labels_of[key] == (tuple(state.incident.labels.items()) if state is not None else ()):
                return  # the same incident, the same labels: nothing moves (most folds: an update)
        for item in self.labels_of.pop(key, ()):
            _discard(self.by_label, item, key)
        previous = self.id_of.pop(key, None)
        if previous is not None:
            _discard(self.keys_of, previous, key)
        incident_id = book.open_by_group.get(key)
        if incident_id is None:
            if self.seq.pop(key, None) is not None:
                for prefix in _prefixes(key):
                    _discard(self.by_prefix, prefix, key)
            return
        if key not in self.seq:
            self.seq[key] = self.next_seq
            self.next_seq += 1
            for prefix in _prefixes(key):
                self.by_prefix.setdefault(prefix, set()).add(key)
        self.id_of[key] = incident_id
        self.keys_of.setdefault(incident_id, set()).add(key)
        state = book.incidents.get(incident_id)
        items = tuple(state.incident.labels.items()) if state is not None else ()
        self.labels_of[key] = items
        for item in items:
            self.by_label.setdefault(item, set()).add(key)


def _prefixes(key: str) -> list[str]:
    """``key`` and each prefix of it that ends where a ``PROBLEM_SEP`` starts."""
    out, at = [key], key.find(PROBLEM_SEP)
    while at >= 0:
        out.append(key[:at])
        at = key.find(PROBLEM_SEP, at + 1)
    return out


def _discard(index: dict[_K, set[str]], item: _K, key: str) -> None:
    bucket = index.get(item)
    if bucket is not None:
        bucket.discard(key)
        if not bucket:
            del index[item]


SNAPSHOT_EVENTS: Final = (ev.IncidentOpened, ev.IncidentUpdated, ev.IncidentAcknowledged, ev.IncidentResolved)
_SNAPSHOT_ONLY: Final = frozenset({ev.IncidentOpened, ev.IncidentUpdated})
"""Events whose fold only replaces the snapshot and records the event and its cause (no clock, no trigger)."""


def apply_incident(state: IncidentState | None, event: ev.IncidentEvent) -> IncidentState:
    """Fold one incident event into the incident's state (idempotent: a replayed id changes nothing).

    Only lifecycle changes (opened, updated, acknowledged, resolved) replace the incident snapshot;
    escalations, breaches and notes only add to the clocks' memory and the timeline.
    """
    transition = event.data
    incident: Incident = transition.incident
    if state is None:
        state = IncidentState(incident=incident)
    if event.id in state.applied:
        return state
    if type(event) in _SNAPSHOT_ONLY:  # most folds (opened, updated): a new snapshot, built without ``replace``
        decided = state.decided if event.causationid is None else state.decided | {event.causationid}
        return IncidentState(
            incident, state.fired, state.paged, state.breached, state.triggers, state.applied | {event.id},
            decided, state.notes, state.acknowledged_by, state.resolved_at, state.newest_trigger_at,
        )  # fmt: skip
    changes: dict[str, Any] = {"applied": state.applied | {event.id}}  # one ``replace``: it is the fold's cost
    if event.causationid is not None:
        changes["decided"] = state.decided | {event.causationid}
    if isinstance(event, SNAPSHOT_EVENTS):
        changes["incident"] = incident
    match event:
        case ev.IncidentEscalated() if transition.team is not None:
            severity = transition.incident.severity
            step_key = step_key_of(severity, transition.escalation_step, transition.team, event.id)
            paged = state.paged if transition.team in state.paged else (*state.paged, transition.team)
            trigger = Trigger(event.id, NoticeKind.PAGE, (transition.team,), event.time, transition.reason)
            fired = state.fired | {step_key, paged_key(severity, transition.team)}
            changes |= {"fired": fired, "paged": paged, **state.with_trigger(trigger)}
        case ev.ResponseTargetBreached():
            changes["breached"] = state.breached | {incident.severity}
        case ev.IncidentAcknowledged():
            trigger = Trigger(event.id, NoticeKind.ACKNOWLEDGE, state.paged, event.time, transition.reason)
            changes |= {"acknowledged_by": transition.actor, **state.with_trigger(trigger)}
        case ev.IncidentResolved():
            trigger = Trigger(event.id, NoticeKind.RESOLVE, state.paged, event.time, transition.reason)
            changes |= {"resolved_at": event.time, **state.with_trigger(trigger)}
        case ev.IncidentNoteAdded():
            changes["notes"] = (*state.notes, transition.reason)
    return replace(state, **changes)


def paged_key(severity: Severity, team: Team) -> str:
    """Return the key recording that ``team`` was paged while the incident had ``severity``."""
    return f"{severity.value}:paged:{team.value}"


def step_key_of(severity: Severity, step: int | None, team: Team, event_id: str) -> str:
    """Return the key of a fired escalation step (severity, index, team); off-policy pages key by event."""
    return f"{severity.value}:{step}:{team.value}" if step is not None else f"extra:{event_id}"


def fold_incident_event(book: Book, event: ev.IncidentEvent) -> IncidentState:
    """Apply an incident event to ``book`` and keep its indexes (open group, anomaly → incident)."""
    incident = event.data.incident
    before = book.incidents.get(incident.incident_id)
    state = apply_incident(before, event)
    book.incidents[incident.incident_id] = state
    current = state.incident
    for anomaly_id in _added_anomalies(before.incident.anomaly_ids if before is not None else (), current.anomaly_ids):
        book.incident_of_anomaly[anomaly_id] = current.incident_id
    if current.status is IncidentStatus.RESOLVED:
        book.unresolved.pop(current.incident_id, None)
        if book.open_by_group.get(current.group_key) == current.incident_id:
            del book.open_by_group[current.group_key]
    else:
        book.unresolved.setdefault(current.incident_id)
        book.open_by_group[current.group_key] = current.incident_id
    book.open_index.incident_folded(book, current.incident_id, current.group_key)
    latest = book.latest_by_group.get(current.group_key)
    if latest is None or book.incidents[latest].incident.opened_at <= current.opened_at:
        book.latest_by_group[current.group_key] = current.incident_id
    return state


def _added_anomalies(before: tuple[str, ...], now: tuple[str, ...]) -> tuple[str, ...]:
    """The anomaly ids of ``now`` to index: those after ``before`` where it only grew, else all of them.

    An anomaly joining a storm's incident appends one id to thousands; indexing only the new ones
    keeps a fold's cost flat as the incident grows (it was linear: quadratic over the storm).
    """
    if len(now) >= len(before) and now[: len(before)] == before:
        return now[len(before) :]
    return now


def fold_notification_event(book: Book, event: ev.NotificationEvent) -> None:
    """Record a notification attempt's status (a later outcome never goes back to 'dispatched')."""
    nid = event.data.notification_id
    match event:
        case ev.NotificationDispatched():
            book.notifications.setdefault(nid, NotificationStatus.DISPATCHED)
            book.notification_records.setdefault(nid, event)
        case ev.NotificationDelivered():
            book.notifications[nid] = NotificationStatus.DELIVERED
            ref = message_ref(event.data.detail)
            if ref:
                book.message_refs[(event.data.incident_id, event.data.team, event.data.channel)] = ref
        case ev.NotificationFailed():
            book.notifications[nid] = NotificationStatus.FAILED


def message_ref(detail: str) -> str:
    """Return the ``ref=<message>`` a chat channel put in a delivery's detail (the message it posted), or ""."""
    for word in detail.split():
        if word.startswith("ref=") and len(word) > 4:
            return word[4:]
    return ""


def fold_recovery_event(book: Book, event: ev.RecoveryEvent) -> None:
    """Track which incidents have a recovery action under way (from its first step to its verdict).

    Also keeps when each step ran on its target (the newest ``MAX_STEPS_PER_TARGET``), so anomalies
    a step brought about can be told from faults (`lifecycle.caused_by_recovery`).
    """
    incident_id = event.data.incident_id
    if isinstance(event, ev.RecoveryStepStarted | ev.RecoveryStepCompleted) and event.data.step is not None:
        step = event.data.step
        steps = book.recovery_steps.setdefault(event.data.target, {})
        key = f"{event.data.plan_id}:{step.index}"
        known = steps.get(key)
        if isinstance(event, ev.RecoveryStepStarted):
            steps.setdefault(key, RecoveryWindow(event.time))
        else:
            steps[key] = RecoveryWindow(known.started if known else event.time, event.time)
        while len(steps) > MAX_STEPS_PER_TARGET:
            del steps[next(iter(steps))]
    match event:
        case ev.RecoveryApprovalRequested():
            _ask_approval(book, event)
        case ev.RecoveryStepStarted():
            book.recovering.setdefault(incident_id, event.time)
        case ev.RecoveryVerified() | ev.RecoveryFailed():
            book.recovering.pop(incident_id, None)


def _ask_approval(book: Book, event: ev.RecoveryApprovalRequested) -> None:
    """Tell the teams paged about the incident that a step awaits approval (once per request)."""
    state, request = book.incidents.get(event.data.incident_id), event.data
    if state is None or state.resolved_at is not None or any(t.event_id == event.id for t in state.triggers):
        return
    reason = (
        f"recovery step {request.step.action} on {request.target} awaits approval: approve or deny within "
        f"{request.timeout_s:g}s, else it is {'approved' if request.default is ApprovalDefault.APPROVE else 'denied'}"
    )
    teams = state.paged or (Team.L1,)
    trigger = Trigger(event.id, NoticeKind.APPROVAL, teams, event.time, reason)
    book.incidents[request.incident_id] = replace(state, **state.with_trigger(trigger))


def fold_silence_event(book: Book, event: ev.SilenceEvent) -> None:
    """Add a silence, or end it early when it is expired by an operator."""
    silence = event.data
    match event:
        case ev.SilenceCreated():
            book.silences.setdefault(silence.silence_id, silence)
        case ev.SilenceExpired():
            known = book.silences.get(silence.silence_id)
            base = known if isinstance(known, Silence) else silence
            book.silences[silence.silence_id] = expire(base, min(silence.ends_at, event.time))


def fold_oncall_event(book: Book, event: ev.OnCallEvent) -> None:
    """Put a schedule from the API into the roster (replacing the config's); remember hand-offs and gaps seen.

    A schedule that does not fit the roster (a person it names is not declared) raises ``ValueError``:
    the record is dead-lettered (live) or skipped (rebuild), and the roster stays as it was.
    """
    match event:
        case ev.ScheduleUpdated():
            book.roster = book.roster.with_schedule(Schedule.model_validate(event.data.schedule))
        case ev.OnCallHandedOff() | ev.OnCallGapStarted():
            book.oncall_events.add(event.id)


def fold_suppressed(book: Book, event: AnomalyEventView, *, silenced: bool) -> None:
    """Remember a firing anomaly a silence muted (its newest event); forget it once it resolves.

    Also remembers every anomaly's fingerprint (the newest ``MAX_SUPPRESSED``), for splits.

    At most ``MAX_SUPPRESSED`` are kept (the oldest go first). They live in memory only: a responder
    restarted under a silence learns of what still fires from the anomalies' next revisions.
    """
    anomaly_id = event.data.anomaly_id
    book.anomaly_fingerprints.pop(anomaly_id, None)
    book.anomaly_fingerprints[anomaly_id] = event.data.fingerprint
    while len(book.anomaly_fingerprints) > MAX_SUPPRESSED:
        del book.anomaly_fingerprints[next(iter(book.anomaly_fingerprints))]
    if is_resolved(event):
        book.suppressed.pop(anomaly_id, None)
    elif silenced:
        book.suppressed.pop(anomaly_id, None)
        book.suppressed[anomaly_id] = event
        while len(book.suppressed) > MAX_SUPPRESSED:
            del book.suppressed[next(iter(book.suppressed))]


def unsettled_notifications(book: Book) -> list[ev.NotificationDispatched]:
    """Return dispatched notifications with no recorded outcome (the responder stopped mid-send)."""
    return [book.notification_records[n] for n, s in book.notifications.items() if s is NotificationStatus.DISPATCHED]
