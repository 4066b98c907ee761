"""Performance degradation of one target as evidence: latency or throughput against its baseline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from services.detector.domain.degradation import (
    Baseline,
    DegradationPolicy,
    DegradationStatus,
    PerfSample,
    assess_degraded_at,
)
from services.detector.domain.evidence import Evidence
from shared import metric_names as mn
from shared.models import AnomalyKind, Impact

SIGNAL_OF: Final = {
    "p50": mn.HTTP_LATENCY_P95,
    "p95": mn.HTTP_LATENCY_P95,
    "p99": mn.HTTP_LATENCY_P95,
    "throughput": mn.HTTP_THROUGHPUT,
}
"""Every latency percentile reports on the p95 signal, so one slowdown is one anomaly."""

METRIC_OF: Final = {
    "p50": mn.HTTP_LATENCY_P50,
    "p95": mn.HTTP_LATENCY_P95,
    "p99": mn.HTTP_LATENCY_P99,
    "throughput": mn.HTTP_THROUGHPUT,
}


@dataclass(frozen=True, slots=True)
class PerfConfig:
    """Degradation settings: the engine's policy plus the severe-degradation ratio."""

    enabled: bool = True
    policy: DegradationPolicy = field(default_factory=DegradationPolicy)
    severe_ratio: float = 3.0
    min_latency_delta_ms: float = 50.0
    """A slowdown smaller than this (observed minus baseline) is not reported, whatever its ratio."""


def perf_sample(now: datetime, values: Mapping[str, float]) -> PerfSample | None:
    """Build the degradation engine's sample from one scrape (None when nothing was measured)."""
    get = values.get
    p50, p95, p99, throughput = get(_P50), get(_P95), get(_P99), get(_THROUGHPUT)
    if p50 is None and p95 is None and p99 is None and throughput is None:
        return None
    return PerfSample(now.timestamp(), p50, p95, p99, throughput)


_P50, _P95, _P99, _THROUGHPUT = (METRIC_OF[sig] for sig in ("p50", "p95", "p99", "throughput"))
_UNMEASURED: Final = (None, None, None, None)


def badness(signal: str, ratio: float) -> float:
    """Return how many times worse than its baseline a signal is (throughput: how many times lower)."""
    if signal != "throughput":
        return ratio
    return 1.0 / ratio if ratio > 0 else float("inf")


def degradation_impact(signal: str, ratio: float, severe_ratio: float) -> Impact:
    """Return the impact of ``signal`` at ``ratio`` times its baseline."""
    return Impact.SEVERE_DEGRADATION if badness(signal, ratio) >= severe_ratio else Impact.SLIGHT_DEGRADATION


def observe_perf(
    baseline: Baseline, ts: float, values: Mapping[str, float], config: PerfConfig, *, ongoing: str | None = None
) -> tuple[Baseline, Evidence | None]:
    """Feed one scrape (taken at ``ts``, Unix seconds) to the degradation engine; return evidence while degraded.

    ``ongoing`` is the signal of the degradation already being reported: it is kept for the rest of
    the run, so a run whose worst signal flips between latency and throughput stays one anomaly.
    """
    get = values.get  # ``perf_sample``'s values, without building the sample
    measured = get(_P50), get(_P95), get(_P99), get(_THROUGHPUT)
    if measured == _UNMEASURED:
        return baseline, None
    baseline, status = assess_degraded_at(baseline, ts, measured, config.policy)
    if status is None or status.signal is None or status.since is None:
        return baseline, None
    worst = status.signal
    if ongoing is not None:
        same = [s for s in status.ratios if SIGNAL_OF[s] == ongoing]
        worst = max(same, key=lambda s: badness(s, status.ratios[s]), default=worst)
    elif worst != "throughput":
        slower = (values.get(METRIC_OF[worst]) or 0.0) - status.baseline.get(worst, 0.0)
        if slower < config.min_latency_delta_ms:
            return baseline, None  # 15 ms -> 26 ms is a ratio, not an incident
    return baseline, _evidence(status, worst, ongoing or SIGNAL_OF[worst], values, config)


def _evidence(
    status: DegradationStatus, worst: str, signal: str, values: Mapping[str, float], config: PerfConfig
) -> Evidence:
    metric = METRIC_OF[worst]
    base = status.baseline.get(worst)
    ratio = status.ratios.get(worst, status.ratio)
    episode_start = status.since_of(tuple(s for s in SIGNAL_OF if SIGNAL_OF[s] == signal))
    since = datetime.fromtimestamp(episode_start or status.ts, UTC)
    if worst == "throughput":
        what = f"throughput {values.get(metric, 0.0):.3g}/s, {ratio:.2f}× its baseline {base or 0.0:.3g}/s"
    else:
        what = f"{worst} latency {values.get(metric, 0.0):.4g} ms, {ratio:.1f}× its baseline {base or 0.0:.4g} ms"
    return Evidence(
        signal=signal,
        kind=AnomalyKind.DEGRADATION,
        impact=degradation_impact(worst, ratio, config.severe_ratio),
        score=max(0.0, 1.0 - 1.0 / max(badness(worst, ratio), 1.0)),
        since=since,
        summary=f"degraded since {since.isoformat()}: {what}",
        observed=values.get(metric),
        expected=base,
        unit="/s" if worst == "throughput" else "ms",
        direction="down" if worst == "throughput" else "up",
        labels={"degraded_since": since.isoformat(), "worst": worst},
    )
