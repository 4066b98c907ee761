"""Excess work: how many failed requests or how much waiting time an entity added in the incident.

Why: a fault shows on its entity and, through the call graph, on everything that calls it -- load
balancers, client-side views of the same service, gateways, callers. Those symptoms often deviate
*more* in relative terms than the culprit (a caller that sends it a small share of its traffic sees
a higher failing share; a caller with a steady, low latency shows a larger z-score). What is
conserved along a call graph is the absolute amount: every failed caller request needs at least one
failed call to the culprit, and the time a caller waits on a slow callee is at most the time the
callee added to those calls (sequential calls; less with parallel calls or timeouts). So among
entities deviating on the same kind of signal, the culprit added the most excess work:
    failures: sum over incident rows of requests x (failing share - usual failing share), or the
              excess of an error count (counters of packets or events, e.g. retransmits, are not
              failed requests);
    time:     sum over incident rows of requests x (latency - usual latency), for a mean-like and a
              median-like latency; only figures of the same statistic are compared.
Sums are net of the usual level, so noise around it cancels. Entities without a request-count
column (or without such a latency) get no figure and are left as they are. Nothing here depends on
a system: the columns are found by metric kind and name cues.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np

from services.rca.domain.config import RcaConfig
from services.rca.domain.entity_score import EntityScore, leading
from services.rca.domain.model import FloatArray, split_column
from services.rca.domain.signals import MetricKind, classify_metric, counts_fault_events, is_rate_like
from services.rca.domain.waiting import judged_signal

# Request counters, best cue first; byte and packet counters measure size, not requests.
_REQUEST_CUES: Final = (
    re.compile(r"request|\breq|_req"),
    re.compile(r"call|invocation|hits|ops|qps|rps|tps|throughput|workload"),
    re.compile(r"count|total|sum|rate"),
)
_NOT_REQUESTS: Final = re.compile(r"byte|packet|size|error|fail|fault|5xx|4xx|drop|loss")
_MEAN_LATENCY: Final = re.compile(r"mean|avg|average")
_MEDIAN_LATENCY: Final = re.compile(r"p50|median|50")


class WorkKind:
    """The two additive quantities compared between entities."""

    FAILURES: Final = "failures"
    TIME: Final = "time"


@dataclass(frozen=True)
class ExcessWork:
    """An entity's excess failures and excess waiting time in the incident (None / empty when not measurable).

    Waiting time is kept per latency statistic (mean-like first, then median-like): a mean moves
    with a slow tail and a median does not, so only figures of the same statistic are compared.
    """

    failures: float | None
    times: Mapping[str, float] = field(default_factory=dict)
    requests: float | None = None

    def per_request(self, amount: float) -> float | None:
        """Return `amount` per request served in the incident (None without a request count)."""
        return amount / self.requests if self.requests else None

    def of(self, kind: str) -> float | None:
        """Return the excess of `kind`; for time, on the entity's preferred statistic."""
        if kind == WorkKind.FAILURES:
            return self.failures
        return next(iter(self.times.values()), None)


def comparable(a: ExcessWork, b: ExcessWork, kind: str) -> tuple[float, float] | None:
    """Return the excess of `kind` of `a` and `b` measured alike (totals), or None when not comparable."""
    if kind == WorkKind.FAILURES:
        return (a.failures, b.failures) if a.failures is not None and b.failures is not None else None
    for metric in (*a.times, *b.times):
        if metric in a.times and metric in b.times:
            return a.times[metric], b.times[metric]
    return None


def _norm(metric: str) -> str:
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", metric).lower()


def _pick(metrics: list[str], cues: tuple[re.Pattern[str], ...]) -> str | None:
    for cue in cues:
        for metric in metrics:
            if cue.search(_norm(metric)):
                return metric
    return None


def _baseline(values: FloatArray, history: np.ndarray) -> float | None:
    hist = values[history & ~np.isnan(values)]
    return float(np.median(hist)) if hist.size else None


def _excess(values: FloatArray, weights: FloatArray | None, history: np.ndarray, incident: np.ndarray) -> float | None:
    base = _baseline(values, history)
    if base is None:
        return None
    # Net of the usual level: noise around it cancels instead of adding up to phantom work.
    rise = values[incident] - base
    if weights is not None:
        rise = rise * weights[incident]
    return max(float(np.nansum(rise)), 0.0)


def excess_work(
    columns: Mapping[str, FloatArray],
    timestamps: FloatArray,
    *,
    history_end: float,
    scan_start: float,
    window_end: float,
) -> dict[str, ExcessWork]:
    """Return, per entity, its excess failures and excess time in the incident window.

    Args:
        columns: metric columns `<entity>|<metric>`.
        timestamps: sample times.
        history_end: samples before this time give the usual level.
        scan_start: first time of the incident window searched.
        window_end: end of the incident window.

    """
    history = timestamps < history_end
    incident = (timestamps >= scan_start) & (timestamps <= window_end)
    by_entity: dict[str, list[str]] = {}
    for name in columns:
        entity, metric = split_column(name)
        by_entity.setdefault(entity, []).append(metric)
    out: dict[str, ExcessWork] = {}
    for entity, metrics in by_entity.items():
        kinds = {m: classify_metric(m) for m in metrics}
        traffic = [m for m in metrics if kinds[m] is MetricKind.TRAFFIC and not _NOT_REQUESTS.search(_norm(m))]
        req_name = _pick(traffic, _REQUEST_CUES)
        requests = np.nan_to_num(columns[f"{entity}|{req_name}"]) if req_name is not None else None
        failures = _failures(entity, metrics, kinds, columns, requests, history, incident)
        times: dict[str, float] = {}
        latencies = [m for m in metrics if kinds[m] is MetricKind.LATENCY]
        for cue in (_MEAN_LATENCY, _MEDIAN_LATENCY) if requests is not None else ():
            lat_name = _pick(latencies, (cue,))
            found = _excess(columns[f"{entity}|{lat_name}"], requests, history, incident) if lat_name else None
            if lat_name is not None and found is not None and lat_name not in times:
                times[lat_name] = found
        if failures is not None or times:
            served = float(np.sum(requests[incident])) if requests is not None else None
            out[entity] = ExcessWork(failures, times, served)
    return out


def _failures(
    entity: str,
    metrics: list[str],
    kinds: dict[str, MetricKind],
    columns: Mapping[str, FloatArray],
    requests: FloatArray | None,
    history: np.ndarray,
    incident: np.ndarray,
) -> float | None:
    best: float | None = None
    for metric in metrics:
        values = columns[f"{entity}|{metric}"]
        present = values[~np.isnan(values)]
        if present.size == 0 or counts_fault_events(metric):
            continue
        if kinds[metric] is MetricKind.SUCCESS_SHARE:
            if requests is None:
                continue
            top = 1.0 if float(np.max(present)) <= 1.0 + 1e-9 else 100.0
            found = _excess((top - values) / top, requests, history, incident)
        elif kinds[metric] is MetricKind.ERRORS:
            rate = is_rate_like(metric) or float(np.max(np.abs(present))) <= 1.0
            if rate and requests is None:
                continue
            scale = 100.0 if rate and float(np.max(np.abs(present))) > 1.0 else 1.0
            found = _excess(values / scale, requests if rate else None, history, incident)
        else:
            continue
        if found is not None and (best is None or found > best):
            best = found
    return best


def work_kind(kind: MetricKind, metric: str = "") -> str | None:
    """Return which excess work a deviation of `kind` on `metric` is judged by (None: not an additive symptom)."""
    if kind is MetricKind.ERRORS and counts_fault_events(metric):
        return None
    if kind in (MetricKind.SUCCESS_SHARE, MetricKind.ERRORS):
        return WorkKind.FAILURES
    if kind is MetricKind.LATENCY:
        return WorkKind.TIME
    return None


def impact_penalty(own: float, best: float, floor: float) -> float:
    """Return log(own / best), not below log(floor): 0 for the entity that added the most."""
    if best <= 0:
        return 0.0
    return max(math.log(max(own, 0.0) / best) if own > 0 else -math.inf, math.log(floor))


def weigh_by_impact(
    entities: list[EntityScore],
    works: Mapping[str, ExcessWork],
    config: RcaConfig,
) -> tuple[list[EntityScore], dict[str, str]]:
    """Lower the leading candidates that added less excess work than another one of the same kind.

    The leading candidates are the `onset_pool` best scoring at least `onset_pool_share` of the best
    score. A candidate is judged by the work kind of its strongest signal (failures for error and
    success-share signals, time for latency); it loses `impact_weight` x log(own / most), bounded by
    `impact_floor`. Returns the adjusted scores and, per judged entity, a phrase for its evidence.
    """
    if not entities or config.impact_weight <= 0:
        return entities, {}
    judged: dict[str, tuple[str, ExcessWork]] = {}
    for entity in leading(entities, config):
        signal = judged_signal(entity, config.onset_z)
        kind = work_kind(signal.kind, signal.metric)
        work = works.get(entity.entity)
        if kind is not None and work is not None and work.of(kind) is not None:
            judged[entity.entity] = (kind, work)
    notes: dict[str, str] = {}
    adjusted: list[EntityScore] = []
    for entity in entities:
        if entity.entity in judged:
            kind, work = judged[entity.entity]
            own = work.of(kind) or 0.0
            pairs = [comparable(work, other, kind) for k, other in judged.values() if k == kind]
            most = max((p[1] for p in pairs if p is not None), default=own)
            penalty = impact_penalty(own, most, config.impact_floor)
            unit = "failed requests" if kind == WorkKind.FAILURES else "s of waiting"
            share = own / most if most > 0 else 1.0
            notes[entity.entity] = f"added {own:.4g} excess {unit} ({share:.0%} of the most among the leaders)"
            entity = replace(entity, score=entity.score + config.impact_weight * penalty)
        adjusted.append(entity)
    return adjusted, notes
