"""Put a slow caller right behind a deeper entity whose latency rose with it (network delay and loss).

Why: a delay or packet loss on a service's link is felt by its callers: they wait for the slow or
retransmitted calls and, past their timeouts, fail. The service itself shows the fault faintly or
not at all (its own server-side latency rises by part of the delay, if its sidecar measures it),
so its callers -- often several of them, each with more traffic, more calls per request or a
higher usual latency -- outrank it on every relative score, and no excess-work figure ties them
(the network leg is nobody's measured work, and many systems export no request counts).

What still holds is the direction of propagation: a caller waits for its callee, so when two
entities' latency rose together, the deeper one (the topology's callee, else the one with the lower
usual latency or the nested name, depth.py) is the better answer, as long as its rise is a fair
share of the caller's (`rise_cover_share`: a callee called several times per request, or only
partly measuring the delay, shows a smaller rise; an unrelated deep entity whose latency wiggles
shows a far smaller one). So a leading candidate A whose deviation is a symptom (latency, failed
requests: timeouts on the slow callee) and whose latency clearly rose is put right behind a deeper
contender B whose same latency metric clearly rose too, no later than A's, by at least that share
of A's rise. Chains resolve to the deepest such entity (conservation.apply_covers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from services.rca.domain.config import RcaConfig
from services.rca.domain.entity_score import EntityScore, SignalScore, leading
from services.rca.domain.impact import ExcessWork, WorkKind, comparable, work_kind
from services.rca.domain.signals import MetricKind, is_fault_event
from services.rca.domain.waiting import judged_signal

_SYMPTOMS = frozenset({MetricKind.LATENCY, MetricKind.ERRORS, MetricKind.SUCCESS_SHARE})
_CLEAR_FACTOR = 2.0


def _rises(entity: EntityScore, z_min: float) -> dict[str, SignalScore]:
    """Return the entity's clearly risen latency signals by metric."""
    return {
        s.metric: s
        for s in entity.signals
        if s.kind is MetricKind.LATENCY and s.result.direction > 0 and s.result.z >= z_min
    }


def _rise(signal: SignalScore) -> float:
    return signal.result.peak - signal.result.baseline


def _judged_elsewhere(works: Mapping[str, ExcessWork], a: str, kind: str | None, b: EntityScore, z_min: float) -> bool:
    """Return True when conservation.py weighed B against A: on A's kind of work, measured for both.

    A symptom judged by failed requests (timeouts, calls lost on a lossy link) next to a callee
    that clearly failed nothing itself was not: the failures were on the wire, and only the
    latency connects the two.
    """
    wa, wb = works.get(a), works.get(b.entity)
    if wa is None or wb is None or kind is None:
        return False
    if kind == WorkKind.FAILURES and not any(
        work_kind(s.kind, s.metric) == kind and s.result.z >= z_min for s in b.signals
    ):
        return False
    return comparable(wa, wb, kind) is not None


def find_depth_covers(
    entities: list[EntityScore],
    works: Mapping[str, ExcessWork],
    deeper: Callable[[str, str], bool],
    *,
    onset_slack: float,
    config: RcaConfig,
) -> dict[str, str]:
    """Return, per leading symptom, the deeper contender whose latency rose with it (see the module doc)."""
    if config.rise_cover_share <= 0:
        return {}
    z_min = _CLEAR_FACTOR * config.onset_z
    contenders = [e for e in sorted(entities, key=lambda e: -e.score)[: config.onset_pool] if e.score > 0]
    rises = {e.entity: r for e in contenders if (r := _rises(e, z_min))}
    covers: dict[str, str] = {}
    for a in leading(entities, config):
        judged = judged_signal(a, config.onset_z)
        if judged.kind not in _SYMPTOMS or is_fault_event(judged.metric) or a.entity not in rises:
            continue
        kind = work_kind(judged.kind, judged.metric)
        best: EntityScore | None = None
        for b in contenders:
            if b.entity == a.entity or b.entity not in rises or not deeper(b.entity, a.entity):
                continue
            if _judged_elsewhere(works, a.entity, kind, b, z_min):
                continue  # their excess work is measured: conservation.py judged them
            for metric, seen in rises[a.entity].items():
                cause = rises[b.entity].get(metric)
                if cause is None or _rise(cause) < config.rise_cover_share * _rise(seen):
                    continue
                start, later = cause.result.onset, seen.result.onset
                if start is not None and later is not None and start > later + onset_slack:
                    continue
                if best is None or b.score > best.score:
                    best = b
                break
        if best is not None:
            covers[a.entity] = best.entity
    return covers
