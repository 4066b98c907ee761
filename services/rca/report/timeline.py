"""Turn the incident's events into timeline rows: one per event, one per burst of notifications.

A row holds a message key and its parameters, not a sentence, so each report language words it
(`services.rca.report.wording.timeline_text`); parameters that came from events (reasons, summaries,
details) are translated phrase by phrase there and escaped by the renderers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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

SYSTEM_ACTORS = frozenset({"recovery", "rca", "chaos", "responder", "system"})


def kind_of(event: ev.Event) -> str:
    """Return the short event kind, e.g. ``incident.opened``."""
    return event.type.removeprefix(ev.TYPE_PREFIX)


def describe(event: ev.Event) -> TimelineEntry:
    """Summarise ``event`` for the report's timeline."""
    data = event.data
    topic, kind = topic_of(type(event)).name, kind_of(event)

    def entry(key: str, actor: str = "", **params: str) -> TimelineEntry:
        return TimelineEntry(at=event.time, topic=topic, kind=kind, key=key, params=params, actor=actor)

    if isinstance(data, IncidentTransition):
        inc = data.incident
        return entry(
            "tl_incident_team" if data.team else "tl_incident", data.actor, reason=data.reason,
            severity=str(inc.severity), status=str(inc.status), team=str(data.team or ""),
        )  # fmt: skip
    if isinstance(data, Anomaly):
        return entry(
            "tl_anomaly", data.target, summary=data.summary, kind=str(data.kind), signal=data.signal,
            score=f"{data.score:.2f}",
        )  # fmt: skip
    if isinstance(data, NotificationRecord):
        return entry(
            "tl_notifications", data.channel, count="1", teams=str(data.team), channels=data.channel,
            delivered="1" if kind == "notification.delivered" else "0",
            failed="1" if kind == "notification.failed" else "0", ids=data.notification_id,
        )  # fmt: skip
    if isinstance(data, RecoveryPlan):
        return entry("tl_plan", "recovery", plan=data.plan_id, rationale=data.rationale)
    if isinstance(data, RecoveryProgress):
        outcome = "ok" if data.ok else "failed"
        if data.step is None:
            return entry(f"tl_recovery_{outcome}", "recovery", detail=data.detail)
        return entry(
            f"tl_step_{outcome}", "recovery", index=str(data.step.index), action=data.step.action, detail=data.detail
        )
    if isinstance(data, RootCauseAnalysis):
        top = data.ranking[0] if data.ranking else None
        if top is None:
            return entry("tl_rca_none", "rca")
        return entry("tl_rca", "rca", entity=top.entity, signal=top.signal, score=f"{top.score:.2f}")
    if isinstance(data, OperatorCommand):
        return entry("tl_command_text" if data.text else f"tl_{kind}", data.actor, text=data.text)
    if isinstance(data, FaultInjected):
        return entry("tl_fault", "chaos", fault=data.fault, target=data.target, detail=data.detail)
    return entry(f"tl_{kind}")


def fold_notifications(entries: Iterable[TimelineEntry]) -> list[TimelineEntry]:
    """Fold each burst of notification rows (consecutive in time, nothing else between) into one row.

    The row counts the notifications (distinct ids) and says to whom, through which channels, and
    how many were delivered or failed: a page to three teams over two channels is one line, not twelve.
    """
    out: list[TimelineEntry] = []
    burst: list[TimelineEntry] = []

    def flush() -> None:
        if burst:
            out.append(_burst(burst))
            burst.clear()

    for e in entries:
        if e.key.startswith("tl_notifications"):
            burst.append(e)
            continue
        flush()
        out.append(e)
    flush()
    return out


def _burst(rows: Sequence[TimelineEntry]) -> TimelineEntry:
    ids = {r.params["ids"] for r in rows}
    teams = sorted({r.params["teams"] for r in rows})
    channels = sorted({r.params["channels"] for r in rows})
    delivered = sum(int(r.params["delivered"]) for r in rows)
    failed = sum(int(r.params["failed"]) for r in rows)
    params = {
        "count": str(len(ids)), "teams": ", ".join(teams), "channels": ", ".join(channels),
        "delivered": str(delivered), "failed": str(failed), "ids": ",".join(sorted(ids)),
    }  # fmt: skip
    first = rows[0]
    kind = first.kind if len(rows) == 1 else "notification.*"
    key = "tl_notifications_outcome" if delivered or failed else "tl_notifications"
    return TimelineEntry(
        at=first.at, topic=first.topic, kind=kind, key=key, params=params,
        actor=", ".join(channels), folded=len(rows),
    )  # fmt: skip
