"""Put symptoms right behind a strong candidate whose own fault-event counter rose.

Why: latency, failed requests and failing shares propagate -- every caller of a faulty service
shows them, often more loudly than the service itself. Counters of fault events at an entity
(packets retransmitted, dropped or lost, restarts, OOM kills; see `is_fault_event`) do not: they
count trouble on that entity's own network link or process. A packet-loss fault typically shows on
its service only as such a counter, while its callers see waits and failed calls. So when a strong
candidate's fault-event counter rose clearly, and no later (within the lead that counts as timing),
than a leading symptom, that symptom is taken as its effect and follows right behind it.

Safeguards: only the `onset_pool` best entities take part, the counter must deviate clearly (twice
`onset_z`) and stay up for most of the samples after its onset (a blip is not a fault), and an
entity with a clear fault-event counter of its own is never demoted by another one.
"""

from __future__ import annotations

from services.rca.domain.config import RcaConfig
from services.rca.domain.entity_score import EntityScore, SignalScore, leading
from services.rca.domain.signals import MetricKind, is_fault_event

_SYMPTOMS = frozenset({MetricKind.LATENCY, MetricKind.ERRORS, MetricKind.SUCCESS_SHARE})
_CLEAR_FACTOR = 2.0
_PERSISTENT = 0.5  # a fault keeps producing events: most samples after the counter's onset stay high


def _fault_event(entity: EntityScore, z_min: float) -> SignalScore | None:
    """Return the entity's strongest clearly deviating fault-event counter, if any."""
    found = [
        s
        for s in entity.signals
        if s.result.z >= z_min
        and s.result.direction > 0
        and s.result.persistence >= _PERSISTENT
        and is_fault_event(s.metric)
    ]
    return max(found, key=lambda s: s.result.score, default=None)


def _not_later(cause: SignalScore, symptom: SignalScore, lead_s: float) -> bool:
    """Return False only when both are timed and the cause started more than `lead_s` after the symptom."""
    start, seen = cause.result.onset, symptom.result.onset
    return start is None or seen is None or start <= seen + lead_s


def find_event_causes(entities: list[EntityScore], *, lead_s: float, config: RcaConfig) -> dict[str, str]:
    """Return, per leading candidate deviating on a propagating symptom, the candidate whose fault events explain it.

    Args:
        entities: scored entities.
        lead_s: how much later than the symptom a counter may start and still explain it.
        config: engine settings.

    """
    pool = leading(entities, config)
    z_min = _CLEAR_FACTOR * config.onset_z
    # A counter of events has a modest score next to the symptoms it causes (its history is noisy,
    # its counts small), so any of the `onset_pool` best entities may be a cause, not only the leaders.
    contenders = sorted(entities, key=lambda e: -e.score)[: config.onset_pool]
    events = {e.entity: s for e in contenders if (s := _fault_event(e, z_min)) is not None}
    if not events:
        return {}
    causes: dict[str, str] = {}
    for a in pool:
        symptom = a.best
        if a.entity in events or symptom.kind not in _SYMPTOMS or is_fault_event(symptom.metric):
            continue
        fitting = [b for b in contenders if b.entity in events and _not_later(events[b.entity], symptom, lead_s)]
        if fitting:
            causes[a.entity] = max(fitting, key=lambda b: b.score).entity
    return causes
