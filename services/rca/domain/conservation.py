"""Put a leading candidate right behind a deeper one whose excess work covers its own.

Why: what is conserved along a call path is the absolute amount of trouble (impact.py): every failed
request of a caller needs at least one failed call below it, and the time a caller waits on a slow
callee is at most the time that callee added. So when candidate B sits deeper than candidate A and
added about as much excess work of the kind A deviates on (failures or waiting time) or more, both
in total and per request, starting no later, A's deviation is B's fault seen from above -- a
caller, a gateway, a load balancer, a client-side view of the same requests -- however much larger
it looks in relative terms. Then B carries the evidence and A follows right behind it.

Safeguards: only leading candidates take part (B's own deviation must be clear, so a noisy deep
entity with much traffic explains nothing), B must deviate itself on a signal of that kind, and the
deepest entity is never demoted. Depth comes from the topology when there is one, else from nested
names and usual latency (depth.py). The per-request test guards the latency cue where it fails: an
entry point that sends only some requests down has a lower usual latency than its callee, but a
much smaller rise per request. Where a caller added more than its callee (queueing, retries)
nothing happens and the other steps decide. For waiting time a smaller share suffices
(`time_cover_share`): callers wait on the callee's network leg too, which the callee's own latency
shows at most in part, so a delay on its link reaches them larger than it shows on the callee.
An entity whose strongest deviation is work in flight (busy threads) is judged by its latency
(waiting.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Final

from services.rca.domain.config import RcaConfig
from services.rca.domain.entity_score import EntityScore, leading
from services.rca.domain.impact import ExcessWork, WorkKind, comparable, work_kind
from services.rca.domain.waiting import judged_signal

_STEP: Final = 1e-3  # relative gap between a cover and what it covers


def _deviates_on(entity: EntityScore, kind: str, z_min: float) -> bool:
    return any(work_kind(s.kind, s.metric) == kind and s.result.z >= z_min for s in entity.signals)


def find_covers(
    entities: list[EntityScore],
    works: Mapping[str, ExcessWork],
    deeper: Callable[[str, str], bool],
    *,
    onset_slack: float,
    config: RcaConfig,
) -> dict[str, str]:
    """Return, per covered leading candidate, the deeper leading candidate whose excess work covers it."""
    pool = leading(entities, config)
    covers: dict[str, str] = {}
    for a in pool:
        signal = judged_signal(a, config.onset_z)
        kind = work_kind(signal.kind, signal.metric)
        work = works.get(a.entity)
        if kind is None or work is None:
            continue
        share = config.time_cover_share if kind == WorkKind.TIME else config.cover_share
        best: EntityScore | None = None
        for b in pool:
            other = works.get(b.entity)
            if other is None or b.entity == a.entity or not _deviates_on(b, kind, config.onset_z):
                continue
            pair = comparable(work, other, kind)
            if pair is None or pair[0] <= 0:
                continue
            own, theirs = pair
            own_rate, their_rate = work.per_request(own), other.per_request(theirs)
            if own_rate is None or their_rate is None or not deeper(b.entity, a.entity):
                continue
            # In total and per request, what reaches A from below is at most what B added.
            if theirs < share * own or their_rate < share * own_rate:
                continue
            if a.onset is not None and b.onset is not None and b.onset > a.onset + onset_slack:
                continue
            if best is None or b.score > best.score:
                best = b
        if best is not None:
            covers[a.entity] = best.entity
    return covers


def _final_cover(entity: str, covers: Mapping[str, str]) -> str:
    seen = {entity}
    while entity in covers and covers[entity] not in seen:
        entity = covers[entity]
        seen.add(entity)
    return entity


def apply_scores(score: Mapping[str, float], covers: Mapping[str, str]) -> dict[str, float]:
    """Return the scores with each cover raised to the best of what it covers, the covered right behind it."""
    groups: dict[str, list[str]] = {}
    for covered in covers:
        groups.setdefault(_final_cover(covered, covers), []).append(covered)
    new = dict(score)
    for head, members in groups.items():
        members = [m for m in members if m != head]
        top = max(score[m] for m in (head, *members))
        new[head] = top
        for i, member in enumerate(sorted(members, key=lambda m: -score[m]), start=1):
            # Right behind its cover when it ranked above it; a covered entity is never raised.
            new[member] = min(score[member], top - _STEP * i * max(1.0, abs(top)))
    return new


def apply_covers(entities: list[EntityScore], covers: Mapping[str, str]) -> list[EntityScore]:
    """Give each covering entity the best score of what it covers and put the covered right behind it."""
    if not covers:
        return entities
    new = apply_scores({e.entity: e.score for e in entities}, covers)
    return [replace(e, score=new[e.entity]) if new[e.entity] != e.score else e for e in entities]
