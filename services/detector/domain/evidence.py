"""Evidence: one detector's claim that one signal of one target is anomalous right now."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final

from shared.models import AnomalyKind, Impact

IMPACT_RANK: Final[dict[Impact, int]] = {
    Impact.RESOURCE_PRESSURE: 1,
    Impact.SLIGHT_DEGRADATION: 2,
    Impact.PARTIAL_FUNCTION: 3,
    Impact.PARTIAL_OUTAGE: 4,
    Impact.SEVERE_DEGRADATION: 5,
    Impact.MAJOR_FUNCTION: 6,
    Impact.SECURITY: 7,
    Impact.DATA_LOSS: 8,
    Impact.SERVICE_DOWN: 9,
}
"""Worse impacts rank higher; the responder maps them to severities, we only need an order."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """What one source (a rule, the statistical detector, degradation, log patterns) says about a signal."""

    signal: str
    kind: AnomalyKind
    impact: Impact
    score: float
    since: datetime
    summary: str
    observed: float | None = None
    expected: float | None = None
    threshold: float | None = None
    unit: str = ""
    direction: str = "up"
    labels: dict[str, str] = field(default_factory=dict)
    samples: tuple[str, ...] = ()


def rank(evidence: Evidence) -> tuple[int, float]:
    """Order evidence by impact, then score."""
    return IMPACT_RANK.get(evidence.impact, 0), evidence.score


def combine(items: Iterable[Evidence]) -> Evidence | None:
    """Merge the evidence of one signal: the worst source speaks, the earliest start counts.

    The strongest item supplies kind, impact, summary and values; ``since`` is the earliest start
    and the ``sources`` label lists every source, so a statistical early warning followed by a
    threshold breach reads as one problem.
    """
    items = sorted(items, key=rank, reverse=True)
    if not items:
        return None
    best = items[0]
    kinds = sorted({e.kind.value for e in items})
    labels = {k: v for e in reversed(items) for k, v in e.labels.items()} | {"sources": ",".join(kinds)}
    samples = tuple(dict.fromkeys(s for e in items for s in e.samples))
    return replace(best, since=min(e.since for e in items), labels=labels, samples=samples)
