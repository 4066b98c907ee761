"""Judge a rise of in-flight work by the latency behind it.

Why: by Little's law the work in flight at an entity (busy threads, open connections, pending
requests) is its throughput times its latency, so when an entity's strongest deviation is such a
gauge and its latency rose too, it is a latency deviation seen from the inside -- typically a caller
whose threads wait on a slow callee. Judging it by its strongest clearly risen latency lets the
excess-work steps (impact.py, conservation.py) compare it with the other slow entities; otherwise
it escapes them and stays ahead of the callee that caused the wait.
"""

from __future__ import annotations

import re
from typing import Final

from services.rca.domain.entity_score import EntityScore, SignalScore
from services.rca.domain.signals import MetricKind

_IN_FLIGHT: Final = re.compile(r"thread|in_?flight|concurren|connection|pending|busy|active_?req|worker")


def is_in_flight(metric: str) -> bool:
    """Return True for a gauge of work in flight (threads, connections, pending requests)."""
    return bool(_IN_FLIGHT.search(metric.lower()))


def judged_signal(entity: EntityScore, z_min: float) -> SignalScore:
    """Return the signal an entity's excess work is judged by: its best, or for in-flight work its latency."""
    best = entity.best
    if best.kind is not MetricKind.SATURATION or not is_in_flight(best.metric):
        return best
    latencies = [
        s for s in entity.signals if s.kind is MetricKind.LATENCY and s.result.z >= z_min and s.result.direction > 0
    ]
    return max(latencies, key=lambda s: s.result.score, default=best)
