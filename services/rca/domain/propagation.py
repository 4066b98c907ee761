"""Discount entities whose deviation is explained by a deeper neighbour's (fault propagation).

Why: a slow or failing callee makes its callers slow or failing too, so symptoms show on many
entities, often most loudly on a caller (more traffic, tail latency). But propagation has a shape:
a caller's latency is its own work plus the callee's, so it rises by about the callee's rise or less
from a higher base; a caller's failing share is the callee's diluted by the caller's other work. So
entity A is "explained" by B on a shared metric when both deviate the same way, B's rise is at
least A's (within a tolerance), B's base is not higher, and B's onset is not later. With a known
topology B must be downstream of A (A calls B, or A runs on B); without one, any entity may be.
An explained entity keeps part of its score, in proportion to how much of its evidence is explained.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from services.rca.domain.config import RcaConfig
from services.rca.domain.entity_score import EntityScore, SignalScore
from services.rca.domain.model import Topology
from services.rca.domain.signals import MetricKind

_PROPAGATING: Final = frozenset({MetricKind.LATENCY, MetricKind.ERRORS, MetricKind.SUCCESS_SHARE})
_RISE_TOLERANCE: Final = 0.8


@dataclass(frozen=True)
class Explanation:
    """Why an entity was discounted: the entity and metric that explain it."""

    by_entity: str
    metric: str
    fraction: float


def downstream(topology: Topology) -> dict[str, set[str]]:
    """Return, per entity, every entity it depends on (callees and hosts, transitively)."""
    direct: dict[str, set[str]] = {}
    for caller, callee in topology.calls:
        direct.setdefault(caller, set()).add(callee)
    for entity, host in topology.runs_on.items():
        direct.setdefault(entity, set()).add(host)
    closure: dict[str, set[str]] = {}
    for start in direct:
        seen: set[str] = set()
        stack = list(direct[start])
        while stack:
            node = stack.pop()
            if node in seen or node == start:
                continue
            seen.add(node)
            stack.extend(direct.get(node, ()))
        closure[start] = seen
    return closure


def _rise(signal: SignalScore) -> float:
    return (signal.result.peak - signal.result.baseline) * signal.result.direction


def _explains(deep: SignalScore, shallow: SignalScore, onset_slack: float, config: RcaConfig) -> bool:
    a, b = shallow.result, deep.result
    if a.direction != b.direction or b.z < config.onset_z or a.z < config.onset_z:
        return False
    if b.onset is not None and a.onset is not None and b.onset > a.onset + onset_slack:
        return False
    rise_a, rise_b = _rise(shallow), _rise(deep)
    if rise_a <= 0 or rise_b < _RISE_TOLERANCE * rise_a:
        return False
    if shallow.kind is MetricKind.LATENCY:
        return abs(b.baseline) <= abs(a.baseline)
    return True


def discount_explained(
    scores: list[EntityScore],
    *,
    topology: Topology | None,
    onset_slack: float,
    config: RcaConfig,
) -> tuple[list[EntityScore], dict[str, Explanation]]:
    """Return the entity scores with explained entities discounted, and the explanation of each.

    Args:
        scores: per-entity scores.
        topology: known call/host structure, or None to let any entity explain any other.
        onset_slack: how much later than the explained entity the explaining one may start (s).
        config: engine settings.

    """
    below = downstream(topology) if topology is not None else None
    by_metric: dict[str, list[tuple[EntityScore, SignalScore]]] = {}
    for entity in scores:
        for signal in entity.signals:
            if signal.kind in _PROPAGATING and signal.result.z >= config.onset_z:
                by_metric.setdefault(signal.metric, []).append((entity, signal))
    adjusted: list[EntityScore] = []
    explanations: dict[str, Explanation] = {}
    for entity in scores:
        total = sum(max(s.result.score, 0.0) for s in entity.signals[:5]) or 1.0
        explained = 0.0
        best_by: tuple[float, str, str] | None = None
        for signal in entity.signals[:5]:
            if signal.kind not in _PROPAGATING or signal.result.z < config.onset_z:
                continue
            for other, other_signal in by_metric.get(signal.metric, []):
                if other.entity == entity.entity:
                    continue
                if below is not None and other.entity not in below.get(entity.entity, set()):
                    continue
                if _explains(other_signal, signal, onset_slack, config):
                    weight = max(signal.result.score, 0.0)
                    explained += weight
                    if best_by is None or other.score > best_by[0]:
                        best_by = (other.score, other.entity, signal.metric)
                    break
        fraction = min(explained / total, 1.0)
        if best_by is not None and fraction > 0:
            explanations[entity.entity] = Explanation(best_by[1], best_by[2], fraction)
            entity = replace(entity, score=entity.score * (1.0 - config.explained_weight * fraction))
        adjusted.append(entity)
    return adjusted, explanations
