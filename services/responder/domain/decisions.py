"""Human decisions on incidents: declare, escalate now, reassign, override severity, merge, split (pure).

Each function takes the responder's state and one operator command (``shared.models.OperatorCommand``
on the commands topic) and returns the incident events to publish, each carrying the actor and the
reason (``IncidentTransition.actor`` / ``reason``). Event ids derive from the incident and the
command's event id, so a command delivered twice, replayed or re-decided yields the same ids (the
bus drops the second); commands already applied are also recognised from the state and yield nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from services.responder.domain.escalation import current_level, next_team
from services.responder.domain.grouping import incident_id_for
from services.responder.domain.lifecycle import CLEAR_HOLD, Decision, transition, union
from services.responder.domain.policy import ResponsePolicy
from services.responder.domain.state import Book, IncidentState
from shared import events as ev
from shared.models import MAX_ITEMS, MAX_REFS, Impact, Incident, IncidentStatus, OperatorCommand, Severity, Team

DECLARED_KEY: Final = "declared="
"""Group key prefix of declared incidents: no anomaly's group key has it, so none joins them by grouping."""
SPLIT_KEY: Final = ",split="
"""Suffix of a split-off incident's group key (the source key plus the split command)."""


def declared_incident_id(command_id: str) -> str:
    """Return the id of the incident a declare command opens (the API tells it before the responder acts)."""
    return incident_id_for(DECLARED_KEY + command_id, command_id)


def split_incident_id(source_id: str, command_id: str) -> str:
    """Return the id of the incident a split command opens."""
    return incident_id_for(f"{source_id}{SPLIT_KEY}{command_id}", command_id)


def _why(cmd: OperatorCommand) -> str:
    return f": {cmd.text}" if cmd.text else ""


def decide(book: Book, event: ev.DecisionEvent, *, now: datetime, policy: ResponsePolicy) -> Decision:
    """Apply one decision command to ``book``'s incidents; unknown incidents raise ``LookupError``."""
    cmd = event.data
    if isinstance(event, ev.DeclareRequested):
        return declare(book, event, now=now)
    state = book.incidents.get(cmd.incident_id)
    if state is None:
        raise LookupError(f"unknown incident {cmd.incident_id}")
    if event.id in state.decided:
        return Decision(outcome="duplicate command")
    if state.incident.status is IncidentStatus.RESOLVED:
        return Decision(outcome="incident resolved")
    match event:
        case ev.EscalateRequested():
            return escalate(state, event, now=now, policy=policy)
        case ev.ReassignRequested():
            return reassign(state, event, now=now)
        case ev.SeverityRequested():
            return override_severity(state, event, now=now)
        case ev.MergeRequested():
            into = book.incidents.get(cmd.other_incident_id or "")
            if into is None:
                raise LookupError(f"unknown incident {cmd.other_incident_id} to merge into")
            return merge(state, into, event, now=now)
        case ev.SplitRequested():
            return split(state, event, now=now, fingerprint_of=book.anomaly_fingerprints)
    return Decision(outcome="not a decision")


def declare(book: Book, event: ev.DeclareRequested, *, now: datetime) -> Decision:
    """Open an incident a person reports (a security incident, a data leak): no anomaly behind it.

    It starts triggered at the declared severity, so the escalation policy of that severity pages
    from the next clock tick as for any incident. It is labelled ``recovery=manual``: no automatic
    recovery acts on what a person reported (a leak is not cured by a restart).
    """
    cmd = event.data
    if cmd.incident_id in book.incidents:
        return Decision(outcome="already declared")
    severity = cmd.severity or Severity.MAJOR
    title = cmd.title or cmd.text or "declared by hand"
    impacts: tuple[Impact, ...] = (cmd.impact,) if cmd.impact is not None else ()
    incident = Incident(
        incident_id=cmd.incident_id,
        group_key=DECLARED_KEY + cmd.command_id,
        target=cmd.target or "manual",
        title=title,
        severity=severity,
        severity_reason=f"{severity.value}: declared by {cmd.actor}",
        status=IncidentStatus.TRIGGERED,
        opened_at=now,
        impacts=impacts,
        labels=({"service": cmd.target} if cmd.target else {}) | {"recovery": "manual"},
        updated_at=now,
        severity_since=now,
        severity_override=severity,
        declared_by=cmd.actor,
        assigned_team=cmd.team,
    )
    impact = f", impact {cmd.impact.value}" if cmd.impact is not None else ""
    reason = f"declared by {cmd.actor} ({severity.value}{impact}): {title}"
    if cmd.text and cmd.text != title:
        reason += f"; {cmd.text}"
    opened = transition(
        ev.IncidentOpened, incident, reason, id_parts=("declare", event.id), now=now, causation=event, actor=cmd.actor
    )
    return Decision([opened], outcome="declared")


def escalate(state: IncidentState, event: ev.EscalateRequested, *, now: datetime, policy: ResponsePolicy) -> Decision:
    """Page the next level (or ``cmd.level``) now and start its clock, even if a lower level acknowledged.

    The incident goes back to triggered: the acknowledgement was the lower level's (kept in
    ``acknowledged_levels``), the new level has not acknowledged. The escalation clock restarts so
    that the new level's step of the policy is now and the steps after it follow at their spacing.
    """
    cmd = event.data
    inc = state.incident
    target = cmd.level or next_team(state.paged)
    if target is None:
        note = f"escalation asked by {cmd.actor}{_why(cmd)}; already at L3, the highest level"
        noted = transition(
            ev.IncidentNoteAdded, inc, note, id_parts=("escalate", event.id), now=now, causation=event, actor=cmd.actor
        )
        return Decision([noted], outcome="already at the highest level")
    offset = _step_offset(policy, inc.severity, target)
    levels = tuple(t for t in inc.acknowledged_levels if t != target)
    update = {
        "status": IncidentStatus.TRIGGERED,
        "clock_since": now - timedelta(seconds=offset),
        "acknowledged_levels": levels,
        "updated_at": now,
    }
    restarted = inc.model_copy(update=update)
    was = current_level(state.paged)
    reason = f"escalated by {cmd.actor} from {was.value} to {target.value}{_why(cmd)}; {target.value}'s clock starts"
    events = [
        _record(ev.IncidentUpdated, restarted, reason, "escalate", event, now),
        _record(ev.IncidentEscalated, restarted, reason, "escalate-page", event, now, team=target),
    ]
    return Decision(events, outcome="escalated")


def _step_offset(policy: ResponsePolicy, severity: Severity, team: Team) -> float:
    """Return when ``team``'s step comes in ``severity``'s policy (seconds after the clock's zero; 0 if none)."""
    escalation = policy.escalation.get(severity)
    if escalation is None:
        return 0.0
    return next((step.after_s for step in escalation.steps if team in step.teams), 0.0)


def reassign(state: IncidentState, event: ev.ReassignRequested, *, now: datetime) -> Decision:
    """Hand the incident to a team (paged now) and/or a person (recorded as the assignee)."""
    cmd = event.data
    inc = state.incident
    if cmd.team is None and not cmd.person:
        return Decision(outcome="nobody to reassign to")
    update: dict[str, object] = {"updated_at": now}
    to: list[str] = []
    if cmd.team is not None:
        update["assigned_team"] = cmd.team
        to.append(cmd.team.value)
    if cmd.person:
        update["assignee"] = cmd.person
        to.append(cmd.person)
    moved = inc.model_copy(update=update)
    reason = f"reassigned by {cmd.actor} to {' / '.join(to)}{_why(cmd)}"
    events: list[ev.IncidentEvent] = [
        transition(
            ev.IncidentUpdated,
            moved,
            reason,
            id_parts=("reassign", event.id),
            now=now,
            causation=event,
            actor=cmd.actor,
        )
    ]
    if cmd.team is not None and inc.status is not IncidentStatus.RESOLVED:
        events.append(
            transition(
                ev.IncidentEscalated,
                moved,
                reason,
                id_parts=("reassign-page", event.id),
                now=now,
                causation=event,
                actor=cmd.actor,
                team=cmd.team,
            )
        )
    return Decision(events, outcome="reassigned")


def override_severity(state: IncidentState, event: ev.SeverityRequested, *, now: datetime) -> Decision:
    """Set the severity by hand (it sticks against automatic re-grading) or, with none, clear the override."""
    cmd = event.data
    inc = state.incident
    if cmd.severity is None:
        if inc.severity_override is None:
            return Decision(outcome="no override to clear")
        cleared = inc.model_copy(update={"severity_override": None, "updated_at": now})
        reason = f"severity override cleared by {cmd.actor}{_why(cmd)}; automatic grading applies again"
    else:
        if inc.severity_override is cmd.severity and inc.severity is cmd.severity:
            return Decision(outcome="already overridden to that severity")
        cleared = inc.model_copy(
            update=CLEAR_HOLD
            | {
                "severity": cmd.severity,
                "severity_override": cmd.severity,
                "severity_reason": f"{cmd.severity.value}: set by {cmd.actor}{_why(cmd)}",
                "severity_since": now,
                "updated_at": now,
            }
        )
        reason = f"severity set {inc.severity.value} → {cmd.severity.value} by {cmd.actor}{_why(cmd)}"
    updated = transition(
        ev.IncidentUpdated, cleared, reason, id_parts=("severity", event.id), now=now, causation=event, actor=cmd.actor
    )
    return Decision([updated], outcome="severity set")


def merge(absorbed: IncidentState, into: IncidentState, event: ev.MergeRequested, *, now: datetime) -> Decision:
    """Resolve ``absorbed`` as merged into ``into`` and move its anomalies, signals and evidence there.

    The absorbed incident keeps none of its anomaly ids, so the anomaly-to-incident index ends at
    ``into`` whatever order the two events are folded in (they are keyed by different incidents).
    """
    cmd = event.data
    src, dst = absorbed.incident, into.incident
    if src.incident_id == dst.incident_id:
        return Decision(outcome="an incident cannot merge into itself")
    if dst.status is IncidentStatus.RESOLVED:
        return Decision(outcome=f"target resolved: {dst.incident_id}")
    if len(dst.anomaly_ids) + len(src.anomaly_ids) > MAX_REFS:
        return Decision(outcome=f"too many anomalies: more than {MAX_REFS} together")
    resolved = src.model_copy(
        update={
            "status": IncidentStatus.RESOLVED,
            "merged_into": dst.incident_id,
            "anomaly_ids": (),
            "active_fingerprints": (),
            "updated_at": now,
        }
    )
    grown = dst.model_copy(
        update={
            "anomaly_ids": union(dst.anomaly_ids, src.anomaly_ids),
            "signals": union(dst.signals, src.signals),
            "impacts": union(dst.impacts, src.impacts),
            "active_fingerprints": union(dst.active_fingerprints, src.active_fingerprints),
            "evidence": union(dst.evidence, src.evidence)[-MAX_ITEMS:],
            "cleared_at": dst.cleared_at if not src.active_fingerprints else None,
            "cleared_through": src.cleared_through | dst.cleared_through,
            "updated_at": now,
        }
    )
    why = _why(cmd)
    return Decision(
        [
            _record(
                ev.IncidentResolved,
                resolved,
                f"merged into {dst.incident_id} by {cmd.actor}{why}",
                "merge",
                event,
                now,
            ),
            _record(
                ev.IncidentUpdated,
                grown,
                f"{src.incident_id} merged in by {cmd.actor} ({len(src.anomaly_ids)} anomalies){why}",
                "merged-in",
                event,
                now,
            ),
        ],
        outcome="merged",
    )


def split(
    state: IncidentState, event: ev.SplitRequested, *, now: datetime, fingerprint_of: Mapping[str, str] | None = None
) -> Decision:
    """Move the named anomalies of an incident to a new incident (same severity, triggered, clocks from now).

    ``fingerprint_of`` (anomaly id to fingerprint, `Book.anomaly_fingerprints`) tells which firing
    signals move with them; an anomaly it does not know moves without its signal, which comes
    back to the new incident with the anomaly's next revision.
    """
    cmd = event.data
    inc = state.incident
    moving = tuple(a for a in cmd.anomaly_ids if a in inc.anomaly_ids)
    if not moving:
        return Decision(outcome="none of the named anomalies is in the incident")
    if len(moving) == len(inc.anomaly_ids):
        return Decision(outcome="a split must leave the incident an anomaly")
    new_id = split_incident_id(inc.incident_id, cmd.command_id)
    known = fingerprint_of or {}
    fingerprints = {known[a] for a in moving if a in known}
    kept = tuple(a for a in inc.anomaly_ids if a not in moving)
    remaining_fp = tuple(f for f in inc.active_fingerprints if f not in fingerprints)
    smaller = inc.model_copy(
        update={
            "anomaly_ids": kept,
            "active_fingerprints": remaining_fp,
            "cleared_at": (inc.cleared_at or now) if not remaining_fp else None,
            "updated_at": now,
        }
    )
    opened = Incident(
        incident_id=new_id,
        group_key=f"{inc.group_key}{SPLIT_KEY}{cmd.command_id}",
        target=inc.target,
        title=cmd.title or f"split from {inc.incident_id}: {inc.title}",
        severity=inc.severity,
        severity_reason=inc.severity_reason,
        status=IncidentStatus.TRIGGERED,
        opened_at=now,
        anomaly_ids=moving,
        signals=inc.signals,
        impacts=inc.impacts,
        labels=inc.labels,
        updated_at=now,
        severity_since=now,
        active_fingerprints=tuple(f for f in inc.active_fingerprints if f in fingerprints),
        evidence=tuple(e for e in inc.evidence if e.partition(": ")[0] in fingerprints),
        problem=inc.problem,
        severity_override=inc.severity_override,
        cleared_at=None,
        cleared_through={a: seen for a, seen in inc.cleared_through.items() if a in moving},
    )
    why = _why(cmd)
    return Decision(
        [
            _record(
                ev.IncidentUpdated,
                smaller,
                f"split by {cmd.actor}: {len(moving)} anomalies moved to {new_id}{why}",
                "split",
                event,
                now,
            ),
            _record(
                ev.IncidentOpened,
                opened,
                f"split from {inc.incident_id} by {cmd.actor}{why}",
                "split-open",
                event,
                now,
            ),
        ],
        outcome="split",
    )


def _record(
    cls: type[ev.IncidentEvent],
    incident: Incident,
    reason: str,
    verb: str,
    event: ev.DecisionEvent,
    now: datetime,
    *,
    team: Team | None = None,
) -> ev.IncidentEvent:
    """Build the incident event of a decision: the operator is its actor, its id derives from the command."""
    return transition(
        cls, incident, reason, id_parts=(verb, event.id), now=now, causation=event, actor=event.data.actor, team=team
    )
