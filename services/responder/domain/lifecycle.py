"""Incident lifecycle decisions: anomalies, clock ticks, operator commands and recovery outcomes to events.

Every function here is pure: it reads the ``Book`` (the fold of the responder's own topics) and
returns the incident events to publish; the caller folds them back in. Event ids derive from the
incident id and the causing input, so re-deciding the same input yields the same ids and the bus
drops them (idempotent on redelivery and replay).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

from services.responder.domain.anomaly import AnomalyEventView, AnomalyView, is_resolved
from services.responder.domain.escalation import current_level, next_team
from services.responder.domain.grouping import anomaly_labels, group_key, incident_id_for
from services.responder.domain.inhibition import inhibited_in
from services.responder.domain.policy import ResponsePolicy
from services.responder.domain.severity import Verdict, classifier, is_higher
from services.responder.domain.silences import silencing
from services.responder.domain.state import PROBLEM_SEP, Book, IncidentState
from shared import events as ev
from shared.ids import derive_id
from shared.models import (
    RESOLVED_BY,
    RESOLVED_BY_RETENTION,
    AnomalyKind,
    Impact,
    Incident,
    IncidentStatus,
    IncidentTransition,
    Severity,
    Team,
)
from shared.problems import (
    CRITICAL_CLASSES,
    explains,
    problem_class,
    recovery_may_cause,
    signal_of,
    within_disruption,
)

SOURCE: Final = "/services/responder"
GROUP_LABELS: Final = ("service", "host", "target", "scope")
T = TypeVar("T")


@dataclass(frozen=True)
class Decision:
    """Events to publish and a short word on why (for logs and metrics)."""

    events: list[ev.IncidentEvent] = field(default_factory=list)
    outcome: str = ""


def transition(
    cls: type[ev.IncidentEvent],
    incident: Incident,
    reason: str,
    *,
    id_parts: tuple[object, ...],
    now: datetime,
    causation: ev.Cause | None = None,
    actor: str = "responder",
    team: Team | None = None,
    step: int | None = None,
) -> ev.IncidentEvent:
    """Build an incident event keyed by the incident, its id derived from the incident id and ``id_parts``.

    The event ``cls.create`` builds (validated the same way), its fields handed straight to the models'
    validators: every emitted event passes here, and the keyword plumbing of ``__init__`` and
    ``create`` cost a fifth of it.
    """
    data = _TRANSITION.validate_python(
        {"incident": incident, "reason": reason, "actor": actor, "team": team, "escalation_step": step}
    )
    incident_id = incident.incident_id
    event: ev.IncidentEvent = cls.__pydantic_validator__.validate_python(
        {
            "id": derive_id(cls.event_type, incident_id, *id_parts),
            "source": SOURCE,
            "type": cls.event_type,
            "subject": incident_id,
            "time": now,
            "correlationid": incident_id,
            "causationid": causation.id if causation is not None else None,
            "data": data,
        }
    )
    return event


_TRANSITION: Final = IncidentTransition.__pydantic_validator__


def evidence_line(anomaly: AnomalyView) -> str:
    """Describe one anomaly as evidence: what, how far from normal, since when."""
    parts = [f"{anomaly.fingerprint}: {anomaly.summary}"]
    unit = anomaly.unit
    if anomaly.observed is not None:
        parts.append(f"observed {anomaly.observed:g}{unit}")
    if anomaly.expected is not None:
        parts.append(f"expected {anomaly.expected:g}{unit}")
    if anomaly.threshold is not None:
        parts.append(f"threshold {anomaly.threshold:g}{unit}")
    parts.append(f"since {anomaly.since.isoformat()}")
    return "; ".join(parts)


def _with_evidence(evidence: tuple[str, ...], anomaly: AnomalyView, limit: int) -> tuple[str, ...]:
    own = anomaly.fingerprint + ": "
    kept = tuple(e for e in evidence if not e.startswith(own))
    return (*kept, evidence_line(anomaly))[-limit:]


def decide_anomaly(book: Book, event: AnomalyEventView, *, now: datetime, policy: ResponsePolicy) -> Decision:
    """Decide what an anomaly event does: revise its incident, join an open one, open one, or nothing.

    With ``split_by_problem`` a target has one open incident per problem class: an anomaly joins
    the open incident of its class, or one whose class explains it (errors while the target is
    down); an anomaly whose class explains an open incident's (the target goes down while it
    fails requests) joins it and the incident follows the new problem (title, severity); any other
    class opens its own incident, which gets its own recovery. An anomaly that a recovery step of
    this project caused (`caused_by_recovery`) joins an open incident of its target as it is,
    never changing its title or raising its severity.
    """
    anomaly = event.data
    known = book.incident_of_anomaly.get(anomaly.anomaly_id)
    state = book.incidents.get(known) if known is not None else None
    if state is not None:
        if state.incident.status is IncidentStatus.RESOLVED:
            return Decision(outcome="incident already resolved")
        if is_resolved(event):
            return _cleared(state, event, now=now, policy=policy)
        verdict = classifier(policy.severity_rules, policy.default_severity)(anomaly_labels(anomaly))
        if anomaly.anomaly_id in state.incident.recovery_caused:
            verdict = replace(verdict, severity=state.incident.severity)
        return _revise(state, event, verdict, now=now, policy=policy, hold=_may_hold(anomaly, policy))
    if is_resolved(event):
        return Decision(outcome="resolved anomaly of no incident")
    labels = anomaly_labels(anomaly)
    verdict = classifier(policy.severity_rules, policy.default_severity)(labels)
    silence = silencing(book.silences.values(), labels, now)
    if silence is not None:
        return Decision(outcome=f"silenced by {silence.silence_id}")
    key = group_key(labels, policy.grouping.group_by)
    problem = problem_class(anomaly.signal, anomaly.impact, anomaly.labels)
    caused = caused_by_recovery(book, anomaly, policy)
    home = _home(book, key, problem, policy, caused=caused)
    if home is not None:
        open_id, promote = home
        hold = _may_hold(anomaly, policy)
        return _join(
            book.incidents[open_id], event, verdict, now=now, policy=policy, hold=hold, caused=caused,
            problem=problem if promote else None,
        )  # fmt: skip
    inhibition = inhibited_in(book, labels | {"severity": verdict.severity.value}, policy.inhibit_rules)
    if inhibition is not None:
        source = book.incidents[inhibition.incident_id].incident
        reason = f"inhibited symptom ({inhibition.rule}): {evidence_line(anomaly)}"
        note = transition(
            ev.IncidentNoteAdded, source, reason, id_parts=("inhibited", anomaly.anomaly_id), now=now, causation=event
        )
        return Decision([note], outcome=f"inhibited by {inhibition.incident_id}")
    if policy.grouping.split_by_problem:
        key = f"{key}{PROBLEM_SEP}{problem}"
    return _open(book, key, labels, event, verdict, now=now, policy=policy, problem=problem, caused=caused)


def _home(book: Book, key: str, problem: str, policy: ResponsePolicy, *, caused: bool) -> tuple[str, bool] | None:
    """Return the open incident an anomaly of ``problem`` in group ``key`` joins, and whether it promotes it."""
    if not policy.grouping.split_by_problem:
        open_id = book.open_by_group.get(key)
        return (open_id, False) if open_id is not None else None
    found = [
        book.incidents[i].incident
        for i in (book.open_by_group[k] for k in book.open_keys_under(key))
        if i in book.incidents
    ]
    if not found:
        return None
    found.sort(key=lambda inc: inc.opened_at)
    for inc in found:
        if not inc.problem or inc.problem == problem:
            return inc.incident_id, False
    for inc in found:
        if explains(inc.problem, problem) and _problem_firing(inc):
            return inc.incident_id, False
    if caused:
        return found[0].incident_id, False
    for inc in found:
        if explains(problem, inc.problem) and _problem_firing(inc):
            return inc.incident_id, True
    return None


def _problem_firing(inc: Incident) -> bool:
    """Tell whether the signal the incident is about (its title's) still fires."""
    return not inc.title_fingerprint or inc.title_fingerprint in inc.active_fingerprints


def caused_by_recovery(book: Book, anomaly: AnomalyView, policy: ResponsePolicy) -> bool:
    """Return True if ``anomaly`` began during a recovery step on its target (or its disruption window after).

    A Critical-class anomaly never is (`shared.problems.recovery_may_cause`).
    """
    window = policy.grouping.recovery_disruption_s
    if not recovery_may_cause(anomaly.signal, anomaly.impact, anomaly.labels):
        return False
    return any(
        within_disruption(anomaly.since, step.started, step.ended, window)
        for step in book.recovery_steps.get(anomaly.target, {}).values()
    )


def silence_ended(book: Book, *, now: datetime) -> list[AnomalyEventView]:
    """Return the muted anomalies still firing that no silence mutes at ``now`` (oldest first).

    A silence or maintenance window that ends, or is expired early, hands what still fires under
    it back to grouping: an outage that began silenced opens its incident once the silence is over.
    """
    freed = [
        event
        for event in book.suppressed.values()
        if silencing(book.silences.values(), anomaly_labels(event.data), now) is None
    ]
    return sorted(freed, key=lambda e: (e.data.since, e.data.anomaly_id))


def _may_hold(anomaly: AnomalyView, policy: ResponsePolicy) -> bool:
    """Tell whether a severity rise that ``anomaly`` calls for waits before it applies.

    A restart takes the target down for a moment; raising the incident to Critical for that would
    page people for the cure. Recovery events and anomalies travel on different topics, so the
    outage may be seen before the restart that caused it: a rise from a target going down is held
    for ``raise_wait_s``, dropped if a recovery under way is verified, applied otherwise (see
    `clocks.settle_held` and `decide_recovery`).
    """
    return anomaly.kind is AnomalyKind.TARGET_DOWN and policy.grouping.raise_wait_s > 0


def _open(
    book: Book,
    key: str,
    labels: dict[str, str],
    event: AnomalyEventView,
    verdict: Verdict,
    *,
    now: datetime,
    policy: ResponsePolicy,
    problem: str = "",
    caused: bool = False,
) -> Decision:
    anomaly = event.data
    previous = book.latest_by_group.get(key)
    group_labels = {k: labels[k] for k in (*GROUP_LABELS, *policy.grouping.group_by) if labels.get(k)}
    incident = Incident(
        incident_id=incident_id_for(key, event.id),
        group_key=key,
        target=anomaly.target,
        title=anomaly.summary,
        severity=verdict.severity,
        severity_reason=verdict.reason,
        status=IncidentStatus.TRIGGERED,
        opened_at=now,
        anomaly_ids=(anomaly.anomaly_id,),
        signals=(anomaly.signal,),
        impacts=(anomaly.impact,),
        previous_incident_id=previous,
        labels=group_labels,
        updated_at=now,
        severity_since=now,
        active_fingerprints=(anomaly.fingerprint,),
        evidence=(evidence_line(anomaly),),
        problem=problem,
        title_fingerprint=anomaly.fingerprint,
        recovery_caused=(anomaly.anomaly_id,) if caused else (),
    )
    reason = f"opened: {anomaly.summary}; severity {verdict.reason}"
    if caused:
        reason += f"; {CAUSED_WORDS}"
    if previous is not None:
        reason += f"; recurrence of {previous}"
    opened = transition(ev.IncidentOpened, incident, reason, id_parts=("opened",), now=now, causation=event)
    return Decision([opened], outcome="opened")


def _join(
    state: IncidentState,
    event: AnomalyEventView,
    verdict: Verdict,
    *,
    now: datetime,
    policy: ResponsePolicy,
    hold: bool = False,
    caused: bool = False,
    problem: str | None = None,
) -> Decision:
    """Add an anomaly to an open incident; ``problem``: the incident now is about that class (promote)."""
    anomaly = event.data
    inc = state.incident
    if len(inc.anomaly_ids) >= MAX_LISTED_ANOMALIES:
        return _join_unlisted(state, event, verdict, now=now, may_raise=not (hold or caused), problem=problem)
    update = _firing(inc, anomaly, now=now, policy=policy) | {
        "anomaly_ids": (*inc.anomaly_ids, anomaly.anomaly_id),
        "signals": _add(inc.signals, anomaly.signal),
    }
    reason = f"anomaly joined: {anomaly.summary}"
    if caused:
        update["recovery_caused"] = (*inc.recovery_caused, anomaly.anomaly_id)
        reason = f"{reason}; {CAUSED_WORDS}"
    elif problem is not None:
        update |= {"problem": problem, "title": anomaly.summary, "title_fingerprint": anomaly.fingerprint}
        reason = f"problem is now {problem} (was {inc.problem}): {anomaly.summary}"
    rises = not caused and inc.severity_override is None and is_higher(verdict.severity, inc.severity)
    if rises and hold:
        update |= _hold(inc, verdict, anomaly.anomaly_id, until=now + timedelta(seconds=policy.grouping.raise_wait_s))
        reason = f"{reason}; {_held_words(inc, verdict)}"
    elif rises:
        update |= _raise(verdict, anomaly, now)
        reason = f"{_raised_words(inc, verdict)}; {reason}"
    incident = inc.model_copy(update=update)
    updated = transition(ev.IncidentUpdated, incident, reason, id_parts=("event", event.id), now=now, causation=event)
    return Decision([updated], outcome="joined")


MAX_LISTED_ANOMALIES: Final = 1_000
"""Most anomalies an incident lists by joining (a merge may list more, up to the contract's ``MAX_REFS``).

Every incident event carries the whole incident: past this a storm's events would grow towards the
broker's record limit (1 MB) and each join would cost in proportion to the incident. Later
anomalies join unlisted (`_join_unlisted`)."""
UNLISTED_NOTE: Final = (
    f"this incident lists {MAX_LISTED_ANOMALIES:,} anomalies; later ones of its group join it unlisted: they can "
    "raise its severity or change its problem, not keep it open (see the anomalies topic for all of them)"
)


def _join_unlisted(
    state: IncidentState, event: AnomalyEventView, verdict: Verdict, *, now: datetime, may_raise: bool,
    problem: str | None,
) -> Decision:  # fmt: skip
    """Join an anomaly to an incident that lists `MAX_LISTED_ANOMALIES`: raise or re-class it, list nothing.

    An event goes out only when the severity or the problem changes, and the first time, a note
    that says the incident stopped listing (its id derives from the incident: one note, ever). A
    rise that a joining anomaly would only hold (``may_raise`` False: a recovery is in flight on the
    target, or caused it) changes nothing here, since the hold would list the anomaly.
    """
    anomaly, inc = event.data, state.incident
    update: dict[str, Any] = {}
    reasons: list[str] = []
    if problem is not None:
        update["problem"] = problem
        reasons.append(f"problem is now {problem} (was {inc.problem})")
    if may_raise and inc.severity_override is None and is_higher(verdict.severity, inc.severity):
        update |= {"severity": verdict.severity, "severity_reason": verdict.reason, "severity_since": now}
        reasons.append(_raised_words(inc, verdict))
    if update:
        reason = f"{'; '.join(reasons)}; unlisted anomaly joined: {anomaly.summary}"
        incident = inc.model_copy(update=update | {"updated_at": now})
        updated = transition(
            ev.IncidentUpdated, incident, reason, id_parts=("event", event.id), now=now, causation=event
        )
        return Decision([updated], outcome="unlisted")
    if UNLISTED_NOTE in state.notes:
        return Decision(outcome="unlisted")
    note = transition(ev.IncidentNoteAdded, inc, UNLISTED_NOTE, id_parts=("unlisted",), now=now, causation=event)
    return Decision([note], outcome="unlisted")


CAUSED_WORDS: Final = "began during a recovery action on the target: caused by the recovery, not a new fault"


def _revise(
    state: IncidentState,
    event: AnomalyEventView,
    verdict: Verdict,
    *,
    now: datetime,
    policy: ResponsePolicy,
    hold: bool = False,
) -> Decision:
    anomaly = event.data
    inc = state.incident
    if is_resolved(event):
        return _cleared(state, event, now=now, policy=policy)
    if _stale(inc, anomaly):
        return Decision(outcome="stale revision")
    refired = anomaly.fingerprint not in inc.active_fingerprints
    raised = inc.severity_override is None and is_higher(verdict.severity, inc.severity)  # an override sticks
    if hold and raised and inc.held_severity is not None and not is_higher(verdict.severity, inc.held_severity):
        raised = False  # already held at this severity
    if not refired and not raised:
        return Decision(outcome="duplicate")
    update = _firing(inc, anomaly, now=now, policy=policy)
    reason = f"signal firing again: {anomaly.summary}"
    if raised and hold:
        update |= _hold(inc, verdict, anomaly.anomaly_id, until=now + timedelta(seconds=policy.grouping.raise_wait_s))
        reason = f"{reason}; {_held_words(inc, verdict)}"
    elif raised:
        update |= _raise(verdict, anomaly, now)
        reason = _raised_words(inc, verdict)
    incident = inc.model_copy(update=update)
    revised = transition(ev.IncidentUpdated, incident, reason, id_parts=("event", event.id), now=now, causation=event)
    return Decision([revised], outcome="revised")


def _stale(inc: Incident, anomaly: AnomalyView) -> bool:
    """Tell whether a firing revision is older than the one that cleared its signal.

    A revision redelivered or resent after its episode's resolution (a rebalance hands the
    partition to another responder behind the committed offset, a detector restores an older
    checkpoint) must not fire the cleared signal again; a later revision, with newer evidence, does.
    """
    cleared = inc.cleared_through.get(anomaly.anomaly_id)
    return cleared is not None and anomaly.last_seen <= cleared


def _cleared(state: IncidentState, event: AnomalyEventView, *, now: datetime, policy: ResponsePolicy) -> Decision:
    """An anomaly of an open incident resolved: its signal is clear (the incident clears when all are)."""
    anomaly = event.data
    inc = state.incident
    if anomaly.fingerprint not in inc.active_fingerprints:
        return Decision(outcome="signal already clear")
    active = tuple(f for f in inc.active_fingerprints if f != anomaly.fingerprint)
    cleared = now if not active else None
    update: dict[str, Any] = {
        "active_fingerprints": active,
        "cleared_at": cleared,
        "updated_at": now,
        "cleared_through": {**inc.cleared_through, anomaly.anomaly_id: anomaly.last_seen},
    }
    reason = f"signal cleared: {anomaly.fingerprint}"
    if anomaly.labels.get(RESOLVED_BY) == RESOLVED_BY_RETENTION:
        reason = f"signal no longer observed (target no longer scraped), not seen to clear: {anomaly.fingerprint}"
    if active and inc.title_fingerprint == anomaly.fingerprint:
        update |= _title_from_active(inc, active)
        reason += f"; the incident is now about: {update.get('title', inc.title)}"
    incident = inc.model_copy(update=update)
    if cleared is not None:
        reason += f"; every signal clear, auto-resolve after {policy.auto_resolve_after_s:g}s"
    cleared_event = transition(
        ev.IncidentUpdated, incident, reason, id_parts=("event", event.id), now=now, causation=event
    )
    return Decision([cleared_event], outcome="signal cleared")


def _title_from_active(inc: Incident, active: tuple[str, ...]) -> dict[str, Any]:
    """Return the title of the newest signal still firing (from its evidence line), or no change."""
    for line in reversed(inc.evidence):
        fingerprint, sep, rest = line.partition(": ")
        if sep and fingerprint in active:
            summary = re.split(r"; (?=observed |expected |threshold |since )", rest)[0]
            problem = problem_class(signal_of(fingerprint, inc.target), Impact.PARTIAL_FUNCTION)
            if inc.problem in CRITICAL_CLASSES:
                problem = inc.problem  # only its own class joins a Critical-class incident: it stays that class
            return {"title": summary, "title_fingerprint": fingerprint, "problem": problem}
    return {}


def _firing(inc: Incident, anomaly: AnomalyView, *, now: datetime, policy: ResponsePolicy) -> dict[str, Any]:
    """Return the update every firing anomaly makes to its incident: signal active again, evidence, impact."""
    return {
        "active_fingerprints": _add(inc.active_fingerprints, anomaly.fingerprint),
        "impacts": _add(inc.impacts, anomaly.impact),
        "cleared_at": None,
        "updated_at": now,
        "evidence": _with_evidence(inc.evidence, anomaly, policy.evidence_limit),
    }


def _raise(verdict: Verdict, anomaly: AnomalyView, now: datetime) -> dict[str, Any]:
    return {
        "severity": verdict.severity,
        "severity_reason": verdict.reason,
        "severity_since": now,
        "title": anomaly.summary,
        "title_fingerprint": anomaly.fingerprint,
    }


def _hold(inc: Incident, verdict: Verdict, anomaly_id: str, *, until: datetime) -> dict[str, Any]:
    """Hold ``anomaly_id``'s rise to ``verdict`` (the held severity is the highest of those held)."""
    held_by = {"held_by": _add(inc.held_by, anomaly_id)}
    if inc.held_severity is not None and not is_higher(verdict.severity, inc.held_severity):
        return held_by
    return held_by | {"held_severity": verdict.severity, "held_reason": verdict.reason, "held_until": until}


def _raised_words(inc: Incident, verdict: Verdict) -> str:
    return f"severity raised {inc.severity.value} → {verdict.severity.value}: {verdict.reason}"


def _held_words(inc: Incident, verdict: Verdict) -> str:
    return (
        f"{verdict.severity.value} held, severity kept at {inc.severity.value}: a recovery action in flight "
        "may have caused the outage"
    )


def _add(items: tuple[T, ...], item: T) -> tuple[T, ...]:
    return items if item in items else (*items, item)


def union(items: tuple[T, ...], more: tuple[T, ...]) -> tuple[T, ...]:
    """``items`` and then those of ``more`` not among them, in order."""
    return (*items, *(item for item in more if item not in items))


def decide_command(state: IncidentState, event: ev.CommandEvent, *, now: datetime) -> Decision:
    """Turn an operator's acknowledge / resolve / note request into an incident event (or nothing)."""
    cmd = event.data
    inc = state.incident

    def record(cls: type[ev.IncidentEvent], incident: Incident, reason: str, verb: str) -> Decision:
        parts = (verb, event.id)
        return Decision([transition(cls, incident, reason, id_parts=parts, now=now, causation=event, actor=cmd.actor)])

    match event:
        case ev.AcknowledgeRequested():
            if inc.status is not IncidentStatus.TRIGGERED:
                return Decision(outcome=f"already {inc.status.value}")
            top = current_level(state.paged)
            level = cmd.level or top
            if level in inc.acknowledged_levels:
                return Decision(outcome=f"already acknowledged by {level.value}")
            levels = (*inc.acknowledged_levels, level)
            comment = f": {cmd.text}" if cmd.text else ""
            if list(Team).index(level) >= list(Team).index(top):
                update = {"status": IncidentStatus.ACKNOWLEDGED, "acknowledged_levels": levels, "updated_at": now}
                reason = cmd.text or f"acknowledged by {cmd.actor} ({level.value}); escalation stopped"
                return record(ev.IncidentAcknowledged, inc.model_copy(update=update), reason, "ack")
            noted = inc.model_copy(update={"acknowledged_levels": levels, "updated_at": now})
            reason = (
                f"{level.value} acknowledged by {cmd.actor}{comment}; {top.value} has not: "
                "its escalation clock keeps running"
            )
            return record(ev.IncidentUpdated, noted, reason, "ack")
        case ev.ResolveRequested():
            if inc.status is IncidentStatus.RESOLVED:
                return Decision(outcome="already resolved")
            resolved = inc.model_copy(update={"status": IncidentStatus.RESOLVED, "updated_at": now})
            return record(ev.IncidentResolved, resolved, cmd.text or f"resolved by {cmd.actor}", "resolve")
        case ev.NoteRequested():
            return record(ev.IncidentNoteAdded, inc, cmd.text, "note")
    return Decision(outcome="not a responder command")


def decide_recovery(state: IncidentState, event: ev.RecoveryEvent, *, now: datetime) -> Decision:
    """Settle a held severity, escalate to the next tier when recovery failed, note a verified recovery."""
    inc = state.incident
    events: list[ev.IncidentEvent] = []
    if inc.status is IncidentStatus.RESOLVED:
        return Decision(outcome="incident resolved")
    if isinstance(event, ev.RecoveryVerified):
        reason = f"recovery verified: {event.data.detail or 'target healthy'}"
        events.append(
            transition(ev.IncidentNoteAdded, inc, reason, id_parts=("recovery", event.id), now=now, causation=event)
        )
        if inc.held_severity is not None:
            itself = "the outage was the recovery action itself"
            events.append(_drop_hold(inc, inc.held_severity, itself, event, now=now))
        return Decision(events, outcome="noted")
    if not isinstance(event, ev.RecoveryFailed):
        return Decision(outcome="ignored")
    if inc.held_severity is not None:
        held = inc.held_severity
        inc, raised = apply_held(inc, now)
        why = (
            f"recovery failed: severity raised to the held {held.value}: {inc.severity_reason}"
            if raised
            else f"recovery failed: held {held.value} is not above {inc.severity.value}"
        )
        events.append(transition(ev.IncidentUpdated, inc, why, id_parts=("held", event.id), now=now, causation=event))
    team = next_team(state.paged)
    detail = event.data.detail or "recovery did not restore the target"
    if team is None:
        reason = f"recovery failed: {detail}; already escalated to L3"
        note = transition(ev.IncidentNoteAdded, inc, reason, id_parts=("recovery", event.id), now=now, causation=event)
        return Decision([*events, note], outcome="noted")
    reason = f"recovery failed: {detail}; escalating to {team.value}"
    escalated = transition(
        ev.IncidentEscalated, inc, reason, id_parts=("recovery", event.id), now=now, causation=event, team=team
    )
    return Decision([*events, escalated], outcome="escalated")


def release_target_holds(book: Book, event: ev.RecoveryVerified, *, now: datetime) -> list[ev.IncidentEvent]:
    """Drop the held rises of the target's other open incidents once a recovery of the target is verified.

    Two incidents of one target (say latency and a throughput drop) can be open when one of them
    restarts it: the moment down joins whichever incident it explains, not always the one whose
    recovery caused it, and the verified recovery explains that outage too.
    """
    out: list[ev.IncidentEvent] = []
    for state in book.incidents.values():
        inc = state.incident
        if inc.incident_id == event.data.incident_id or inc.target != event.data.target:
            continue
        if inc.status is IncidentStatus.RESOLVED or inc.held_severity is None:
            continue
        why = f"the outage was a recovery action on the target ({event.data.incident_id}, verified)"
        out.append(_drop_hold(inc, inc.held_severity, why, event, now=now))
    return out


def _drop_hold(
    inc: Incident, held: Severity, why: str, event: ev.RecoveryVerified, *, now: datetime
) -> ev.IncidentEvent:
    """The incident without its ``held`` severity rise, and ``why`` it was dropped."""
    cure = {"recovery_caused": union(inc.recovery_caused, inc.held_by)}  # what it held was the recovery's doing
    dropped = inc.model_copy(update=CLEAR_HOLD | cure | {"updated_at": now})
    reason = f"held {held.value} dropped: {why}"
    return transition(ev.IncidentUpdated, dropped, reason, id_parts=("held", event.id), now=now, causation=event)


CLEAR_HOLD: Final[dict[str, Any]] = {"held_severity": None, "held_reason": "", "held_until": None, "held_by": ()}
"""The update that ends a held severity rise (applied, dropped, or overridden by hand)."""


def apply_held(inc: Incident, now: datetime) -> tuple[Incident, bool]:
    """Return the incident with its held severity applied (and whether that raised it)."""
    held: Severity | None = inc.held_severity
    cleared = CLEAR_HOLD | {"updated_at": now}
    if held is None or inc.severity_override is not None or not is_higher(held, inc.severity):
        return inc.model_copy(update=cleared), False
    raised = cleared | {"severity": held, "severity_reason": inc.held_reason, "severity_since": now}
    return inc.model_copy(update=raised), True
