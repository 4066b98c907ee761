"""Score every column of a case and fold the column scores into one score per entity."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

import numpy as np

from services.rca.domain.config import RcaConfig
from services.rca.domain.invariants import unexplained_shares
from services.rca.domain.metric_score import ColumnScore, score_column
from services.rca.domain.model import Case, split_column
from services.rca.domain.signals import MetricKind, classify_metric, is_rate_like

_TIMING_Z_FACTOR: Final = 2.0


@dataclass(frozen=True)
class SignalScore:
    """One scored column of an entity."""

    metric: str
    kind: MetricKind
    result: ColumnScore


@dataclass(frozen=True)
class EntityScore:
    """An entity's deviation: its combined score, onset and signals best first."""

    entity: str
    score: float
    onset: float | None
    signals: tuple[SignalScore, ...]

    @property
    def best(self) -> SignalScore:
        """Return the entity's strongest signal."""
        return self.signals[0]


def sampling_interval(timestamps: np.ndarray) -> float:
    """Return the median spacing of the samples (0 for fewer than two)."""
    if timestamps.size < 2:
        return 0.0
    return float(np.median(np.diff(timestamps)))


def scan_start(case: Case, config: RcaConfig) -> float:
    """Return where the search for the fault begins: a little before the given anomaly start.

    The margin is `start_tolerance_s` but never more than `history_share_for_tolerance` of the
    history before the start (per-second data with a short history would otherwise lose most of
    it), and at least one sampling interval.
    """
    ts = case.metrics.timestamps
    span = case.anomaly_start - float(ts[0]) if ts.size else 0.0
    margin = min(config.start_tolerance_s, config.history_share_for_tolerance * max(span, 0.0))
    return case.anomaly_start - max(margin, sampling_interval(ts))


def score_entities(case: Case, config: RcaConfig) -> list[EntityScore]:
    """Score all columns and return one `EntityScore` per entity that has a scored column."""
    start = scan_start(case, config)
    ts = case.metrics.timestamps
    by_entity: dict[str, list[SignalScore]] = {}
    names = list(case.metrics.columns)
    shares: list[float | None] = [None] * len(names)
    if config.explained_floor < 1.0:
        shares = unexplained_shares(
            [case.metrics.columns[n] for n in names],
            [split_column(n)[0] for n in names],
            history=ts < start,
            incident=(ts >= start) & (ts <= case.window_end),
        )
    for name, share in zip(names, shares, strict=True):
        entity, metric = split_column(name)
        kind = classify_metric(metric)
        result = score_column(
            ts,
            case.metrics.columns[name],
            kind,
            history_end=start,
            scan_start=start,
            window_end=case.window_end,
            config=config,
            rate_named=is_rate_like(metric),
        )
        if result is None:
            continue
        if share is not None:
            kept = config.explained_floor + (1.0 - config.explained_floor) * share
            result = replace(result, score=result.score * kept)
        # A fault keeps going; a burst that came and went inside the window (a batch job) is weaker evidence.
        kept = 1.0 - config.transient_weight * (1.0 - result.persistence)
        result = replace(result, score=result.score * kept)
        by_entity.setdefault(entity, []).append(SignalScore(metric, kind, result))
    scores: list[EntityScore] = []
    for entity, signals in by_entity.items():
        ordered = tuple(sorted(signals, key=lambda s: -s.result.score))
        rest = [s.result.score for s in ordered[1:3] if s.result.score > 0]
        combined = ordered[0].result.score + config.breadth_weight * (sum(rest) / 2.0)
        # Timing is only trusted from clear deviations; a borderline signal's first crossing is noise.
        onsets = [
            s.result.onset
            for s in ordered
            if s.result.onset is not None and s.result.z >= _TIMING_Z_FACTOR * config.onset_z
        ]
        scores.append(EntityScore(entity, combined, min(onsets) if onsets else None, ordered))
    return scores


def leading(entities: list[EntityScore], config: RcaConfig) -> list[EntityScore]:
    """Return the leading candidates: the `onset_pool` best scoring at least `onset_pool_share` of the best."""
    ordered = sorted(entities, key=lambda e: -e.score)
    if not ordered:
        return []
    top = ordered[0].score
    return [e for e in ordered[: config.onset_pool] if e.score > 0 and e.score >= config.onset_pool_share * top]
