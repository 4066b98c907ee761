"""What belongs on an incident's timeline: its own events, their causal chain, and faults that touch it.

One rule for the API's read model (`services/responder/api/projection.py`) and the report
(`services/rca/report/collect.py`): an event belongs to an incident by its correlation id (or the
payload's incident id), an anomaly by being one of the incident's, any other event by being caused
(``causationid``) by an event already on the timeline; a chaos fault only when it hit one of the
incident's targets between ``FAULT_LEAD_S`` before the incident's first abnormal sample and its
resolution. An earlier fault of the same target, which had its own incident, stays on that one.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final, TypeVar

FAULT_LEAD_S: Final = 60.0
"""How long before the first abnormal sample a fault may have been injected and still be this incident's."""

T = TypeVar("T")


def episode_start(opened_at: datetime, anomaly_since: Iterable[datetime]) -> datetime:
    """Return when the incident's trouble began: its earliest anomaly's first sample (else its opening)."""
    return min([opened_at, *anomaly_since])


def fault_touches(
    target: str,
    at: datetime,
    *,
    targets: Collection[str],
    start: datetime,
    end: datetime | None,
    lead_s: float = FAULT_LEAD_S,
) -> bool:
    """Tell whether a fault injected into ``target`` at ``at`` touches an incident of ``targets``.

    ``start`` is the incident's `episode_start`; ``end`` its resolution (None while open).
    """
    if target not in targets or at < start - timedelta(seconds=lead_s):
        return False
    return end is None or at <= end


def caused_by(seed: Collection[str], by_cause: Mapping[str, Sequence[tuple[str, T]]]) -> list[T]:
    """Return the items caused, directly or down a chain, by the events ``seed`` names.

    ``by_cause`` maps a causation id to ``(event id, item)`` of the events it caused.
    """
    seen = set(seed)
    frontier = list(seed)
    out: list[T] = []
    while frontier:
        for event_id, item in by_cause.get(frontier.pop(), ()):
            if event_id not in seen:
                seen.add(event_id)
                frontier.append(event_id)
                out.append(item)
    return out
