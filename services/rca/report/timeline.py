"""Turn any event of the contract into one timeline line (topic, kind, summary, actor)."""

from __future__ import annotations

from services.rca.report.model import TimelineEntry
from shared import events as ev
from shared.models import (
    Anomaly,
    FaultInjected,
    IncidentTransition,
    NotificationRecord,
    OperatorCommand,
    RecoveryPlan,
    RecoveryProgress,
    RootCauseAnalysis,
)
from shared.topics import topic_of


def kind_of(event: ev.Event) -> str:
    """Return the short event kind, e.g. ``incident.opened``."""
    return event.type.removeprefix(ev.TYPE_PREFIX)


def describe(event: ev.Event) -> TimelineEntry:
    """Summarise ``event`` for the report's timeline."""
    data = event.data
    actor = ""
    if isinstance(data, IncidentTransition):
        inc = data.incident
        team = f", team {data.team}" if data.team else ""
        summary = f"{data.reason} (severity {inc.severity}, status {inc.status}{team})"
        actor = data.actor
    elif isinstance(data, Anomaly):
        summary = f"{data.summary} [{data.kind}, {data.signal}, score {data.score:.2f}]"
        actor = data.target
    elif isinstance(data, NotificationRecord):
        extra = f": {data.detail}" if data.detail else ""
        summary = f"{data.kind} via {data.channel} to {data.team} (attempt {data.attempt}){extra}"
        actor = data.channel
    elif isinstance(data, RecoveryPlan):
        summary = f"plan {data.plan_id}: {data.rationale}"
        actor = "recovery"
    elif isinstance(data, RecoveryProgress):
        step = f"step {data.step.index} {data.step.action}" if data.step else "recovery"
        outcome = "ok" if data.ok else "failed"
        summary = f"{step} ({outcome}){': ' + data.detail if data.detail else ''}"
        actor = "recovery"
    elif isinstance(data, RootCauseAnalysis):
        top = data.ranking[0] if data.ranking else None
        summary = f"top cause {top.entity} / {top.signal} (score {top.score:.2f})" if top else "no candidate"
        actor = "rca"
    elif isinstance(data, OperatorCommand):
        summary = data.text or kind_of(event)
        actor = data.actor
    elif isinstance(data, FaultInjected):
        summary = f"fault {data.fault} injected into {data.target}{': ' + data.detail if data.detail else ''}"
        actor = "chaos"
    else:
        summary = kind_of(event)
    topic = topic_of(type(event)).name
    return TimelineEntry(at=event.time, topic=topic, kind=kind_of(event), summary=summary, actor=actor)
