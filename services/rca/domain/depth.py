"""Which of two entities sits deeper on a request path, when no topology says so.

Why: a fault shows on its entity and on everything that reaches it from above -- callers, gateways,
load balancers, client-side views of the same calls -- so of two entities showing the same fault
the deeper one is the better answer. Two cues tell depth without a call graph:

* nested names: `cart` and `cart-db`, `pod/container`, `fn_AWS::Lambda` and
  `fn_AWS::Lambda::Function` name a component and a part of it (or what it wraps); the longer name
  is the inner part, where a fault inside the component sits;
* the usual latency: a caller waits for its callees, so its latency is at least theirs and the
  entity with the lower usual latency is the deeper one. An inner part can be no slower than what
  contains it (the outer level adds its own overhead), so its latency floor is the lowest along its
  chain of containers: nesting orders the parts of one component, the floor orders components.

The latency compared is the one metric most entities share (a mean-like one on a tie), as its
median before the incident; entities without it are ordered by nesting only. Both cues can be wrong
(a cache in front of a slower store, an oddly named sidecar), which is why callers act on this order
only together with other evidence (see conservation.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np

from services.rca.domain.model import FloatArray, split_column
from services.rca.domain.signals import MetricKind, classify_metric

# A nested name continues its container's name after one of these (`svc-db`, `a::b`, `ns/pod`).
_NAME_SEPARATORS: Final = frozenset("_-.:/@")
_MEDIAN: Final = re.compile(r"p50|median", re.IGNORECASE)
_MEAN: Final = re.compile(r"mean|avg|average", re.IGNORECASE)


def nests_in(inner: str, outer: str) -> bool:
    """Return True when `inner` names a part of `outer`: `outer`, a separator, then more."""
    return len(inner) > len(outer) + 1 and inner.startswith(outer) and inner[len(outer)] in _NAME_SEPARATORS


@dataclass(frozen=True)
class DepthOrder:
    """Depth cues of a case's entities: their containers by name and their latency floors."""

    containers: Mapping[str, tuple[str, ...]]
    floors: tuple[Mapping[str, float], ...]  # per latency metric, most telling first

    def deeper(self, inner: str, outer: str) -> bool:
        """Return True when the cues put `inner` below `outer` on a request path."""
        if outer in self.containers.get(inner, ()):
            return True
        if inner in self.containers.get(outer, ()):
            return False
        for floor in self.floors:
            a, b = floor.get(inner), floor.get(outer)
            if a is not None and b is not None:
                if a != b:
                    return a < b
                return len(self.containers.get(inner, ())) > len(self.containers.get(outer, ()))
        return False


def _preference(metric: str, count: int) -> tuple[int, int, int, str]:
    # The median is the typical request; a mean moves with a minority of slow calls from other
    # callers; a tail quantile is each entity's own noise.
    return (int(bool(_MEDIAN.search(metric))), int(bool(_MEAN.search(metric))), count, metric)


def depth_order(columns: Mapping[str, FloatArray], history: np.ndarray) -> DepthOrder:
    """Return the depth cues of every entity of `columns`; `history` masks the rows before the incident."""
    metrics_by_entity: dict[str, list[str]] = {}
    for name in columns:
        entity, metric = split_column(name)
        metrics_by_entity.setdefault(entity, []).append(metric)
    # Sorting by name puts every possible container before the names that extend it.
    ordered = sorted(metrics_by_entity)
    containers: dict[str, tuple[str, ...]] = {}
    for i, name in enumerate(ordered):
        containers[name] = tuple(o for o in ordered[:i] if nests_in(name, o))
    usual: dict[str, dict[str, float]] = {}
    for name, values in columns.items():
        entity, metric = split_column(name)
        if classify_metric(metric) is not MetricKind.LATENCY:
            continue
        hist = values[history & ~np.isnan(values)]
        if hist.size:
            usual.setdefault(metric, {})[entity] = float(np.median(hist))
    floors: list[dict[str, float]] = []
    for metric in sorted(usual, key=lambda m: _preference(m, len(usual[m])), reverse=True):
        own = usual[metric]
        floor: dict[str, float] = {}
        for entity in ordered:
            known = [own[e] for e in (entity, *containers[entity]) if e in own]
            if known:
                floor[entity] = min(known)
        floors.append(floor)
    return DepthOrder(containers, tuple(floors))
