"""One human line per event, for the console's and the CLI's timelines."""

from __future__ import annotations

from typing import TypeAlias

from shared import events as ev
from shared import models as m

Progress: TypeAlias = ev.RecoveryStepStarted | ev.RecoveryStepCompleted | ev.RecoveryVerified | ev.RecoveryFailed


def short_type(event: ev.Event) -> str:
    """Return the event type without the contract prefix (``incident.opened``)."""
    return event.type.removeprefix(ev.TYPE_PREFIX)


def describe(event: ev.Event) -> str:
    """Return a one-line description of ``event``."""
    if isinstance(event, ev.IncidentEvent):
        return _transition(event)
    if isinstance(event, Progress):
        return _recovery(event)
    data = event.data
    if isinstance(data, m.Anomaly):
        return _anomaly(short_type(event).removeprefix("anomaly."), data)
    if isinstance(data, m.NotificationRecord):
        verb = short_type(event).removeprefix("notification.")
        detail = f": {data.detail}" if data.detail else ""
        return f"{data.kind} notice to {data.team} via {data.channel} {verb} (attempt {data.attempt}){detail}"
    if isinstance(data, m.RecoveryPlan):
        steps = ", ".join(s.action for s in data.steps) or "no steps"
        return f"Recovery planned: {steps} — {data.rationale}"
    if isinstance(data, m.RootCauseAnalysis):
        if not data.ranking:
            return "Root-cause analysis found no candidate"
        top = data.ranking[0]
        return f"Root cause: {top.entity} ({top.signal}, score {top.score:.2f}) — {top.evidence}"
    if isinstance(data, m.OperatorCommand):
        verb = short_type(event).removeprefix("command.")
        text = f": {data.text}" if data.text else ""
        return f"{data.actor} requested {verb}{text}"
    if isinstance(data, m.Silence):
        verb = "expired" if isinstance(event, ev.SilenceExpired) else "created"
        matchers = ", ".join(f"{k}={v}" for k, v in sorted(data.matchers.items()))
        return f"Silence {verb} by {data.author} for {matchers}: {data.reason}"
    if isinstance(data, m.FaultInjected):
        detail = f" ({data.detail})" if data.detail else ""
        return f"Fault injected: {data.fault} on {data.target}{detail}"
    return short_type(event)


def _anomaly(verb: str, a: m.Anomaly) -> str:
    observed = f", observed {a.observed:g}{a.unit}" if a.observed is not None else ""
    return f"Anomaly {verb} on {a.target}: {a.summary} [{a.kind}, {a.impact}{observed}]"


def _transition(event: ev.IncidentEvent) -> str:
    t = event.data
    inc = t.incident
    reason = f": {t.reason}" if t.reason else ""
    match event:
        case ev.IncidentOpened():
            return f"Incident opened ({inc.severity}) — {inc.title}{reason}"
        case ev.IncidentAcknowledged():
            return f"Acknowledged by {t.actor}{reason}"
        case ev.IncidentEscalated():
            step = f" (step {t.escalation_step})" if t.escalation_step is not None else ""
            return f"Escalated to {t.team or 'next tier'}{step}{reason}"
        case ev.ResponseTargetBreached():
            return f"Response target breached ({inc.severity}){reason}"
        case ev.IncidentNoteAdded():
            return f"Note by {t.actor}{reason}"
        case ev.IncidentResolved():
            return f"Resolved by {t.actor}{reason}"
        case ev.IncidentUpdated():
            return f"Incident updated ({inc.severity}, {len(inc.anomaly_ids)} anomalies){reason}"


def _recovery(event: Progress) -> str:
    p = event.data
    detail = f": {p.detail}" if p.detail else ""
    step = f"step {p.step.index} {p.step.action} on {p.step.target}" if p.step else "recovery"
    match event:
        case ev.RecoveryStepStarted():
            return f"Recovery {step} started{detail}"
        case ev.RecoveryStepCompleted():
            return f"Recovery {step} {'succeeded' if p.ok else 'failed'}{detail}"
        case ev.RecoveryVerified():
            return f"Recovery verified: {p.target} healthy{detail}"
        case ev.RecoveryFailed():
            return f"Recovery failed on {p.target}{detail}"
