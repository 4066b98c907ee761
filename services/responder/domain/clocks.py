"""Clock decisions of an incident at a given time: auto-resolve, escalation steps, breaches, reminders."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.responder.domain.escalation import breach_due, clock_start, due_steps
from services.responder.domain.lifecycle import apply_held, transition
from services.responder.domain.policy import ResponsePolicy
from services.responder.domain.state import IncidentState, NoticeKind, Trigger
from shared import events as ev
from shared.models import Incident, IncidentStatus, Team


def settle_held(inc: Incident, *, now: datetime, policy: ResponsePolicy, recovering: bool) -> ev.IncidentEvent | None:
    """Apply a held severity rise whose wait is over, unless a recovery under way may still explain it.

    With recovery under way the rise waits for its verdict (`lifecycle.decide_recovery`), but no
    longer than ``recovery_hold_s`` past the wait: a recovery that never concludes does not keep
    an outage from being paged.
    """
    if inc.held_severity is None or inc.held_until is None:
        return None
    due = inc.held_until + timedelta(seconds=policy.grouping.recovery_hold_s if recovering else 0.0)
    if now < due:
        return None
    held = inc.held_severity
    raised, did_raise = apply_held(inc, now)
    why = "recovery gave no verdict in time" if recovering else "no recovery action explains the outage"
    reason = (
        f"severity raised {inc.severity.value} → {held.value} after holding it: {why}; {raised.severity_reason}"
        if did_raise
        else f"held {held.value} dropped: not above {inc.severity.value}"
    )
    return transition(ev.IncidentUpdated, raised, reason, id_parts=("held-due", inc.held_until), now=now)


def decide_tick(
    state: IncidentState, *, now: datetime, policy: ResponsePolicy, recovering: bool = False
) -> list[ev.IncidentEvent]:
    """Evaluate the incident's clocks at ``now``: held rises, auto-resolve, escalation steps, breaches.

    ``recovering`` tells whether a recovery action of the incident is under way.
    """
    inc = state.incident
    if inc.status is IncidentStatus.RESOLVED:
        return []
    settled = settle_held(inc, now=now, policy=policy, recovering=recovering)
    if settled is not None:
        return [settled]  # the next tick runs the clocks of the new severity
    quiet_for = timedelta(seconds=policy.auto_resolve_after_s)
    if inc.cleared_at is not None and not inc.active_fingerprints and now >= inc.cleared_at + quiet_for:
        resolved = inc.model_copy(update={"status": IncidentStatus.RESOLVED, "updated_at": now})
        reason = f"auto-resolved: every contributing signal clear for {policy.auto_resolve_after_s:g}s"
        return [transition(ev.IncidentResolved, resolved, reason, id_parts=("auto", inc.cleared_at), now=now)]
    out: list[ev.IncidentEvent] = []
    deadline = breach_due(inc, state.breached, policy.escalation, now=now)
    if deadline is not None:
        target = policy.escalation[inc.severity].response_target_s
        reason = (
            f"{inc.severity.value} response target of {target:g}s missed: not acknowledged by {deadline.isoformat()}"
        )
        out.append(transition(ev.ResponseTargetBreached, inc, reason, id_parts=("breach", inc.severity.value), now=now))
    out += _reminders(state, now=now, repeat_s=policy.grouping.repeat_interval_s)
    steps = due_steps(inc, state.fired, policy.escalation, now=now, group_wait_s=policy.grouping.group_wait_s)
    elapsed = (now - clock_start(inc)).total_seconds()
    for step in steps:
        reason = (
            f"{inc.severity.value} escalation step {step.index + 1}: page {step.team.value}"
            f" ({'immediately' if step.index == 0 else f'unacknowledged after {elapsed:.0f}s'})"
        )
        out.append(
            transition(
                ev.IncidentEscalated,
                inc,
                reason,
                id_parts=("step", step.key),
                now=now,
                team=step.team,
                step=step.index,
            )
        )
    return out


def _reminders(state: IncidentState, *, now: datetime, repeat_s: float) -> list[ev.IncidentEvent]:
    """Page again every team whose last page is ``repeat_s`` old while nobody acknowledges.

    The reminder's id derives from the page it repeats, so each page has at most one reminder
    and a replay re-derives the same chain.
    """
    inc = state.incident
    if inc.status is not IncidentStatus.TRIGGERED:
        return []
    last_page: dict[Team, Trigger] = {}
    for trigger in state.triggers:
        if trigger.kind is NoticeKind.PAGE:
            for team in trigger.teams:
                last_page[team] = trigger
    out: list[ev.IncidentEvent] = []
    for team, page in last_page.items():
        if team in inc.acknowledged_levels:
            continue  # that level acknowledged; a later level's clock runs (per-level acknowledgement)
        if now >= page.at + timedelta(seconds=repeat_s):
            reason = (
                f"reminder: {inc.severity.value} incident still unacknowledged; {team.value} paged {repeat_s:g}s ago"
            )
            out.append(
                transition(ev.IncidentEscalated, inc, reason, id_parts=("repeat", page.event_id), now=now, team=team)
            )
    return out
