"""Performance degradation: latency percentiles and throughput against a learned per-target baseline.

Each signal (p50, p95, p99, throughput) keeps an exponentially weighted baseline of its logarithm,
the geometric mean that suits skewed latencies. Unlike the anomaly detector, whose levels follow
the data, the baseline is frozen while the target is degraded, so a long slowdown is never learned
as the new normal and 'degraded since' stays the first sample of the run. A target is degraded
once a latency reaches `latency_ratio` times its baseline, or throughput falls to
`throughput_ratio` of it, for `confirm_samples` samples in a row; it recovers after
`recover_samples` healthy samples in a row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from math import isfinite
from types import MappingProxyType
from typing import Final, TypeAlias

import msgspec

LATENCY_SIGNALS: Final = ("p50", "p95", "p99")
SIGNALS: Final = (*LATENCY_SIGNALS, "throughput")


@dataclass(frozen=True, slots=True)
class DegradationPolicy:
    """When a target counts as degraded."""

    latency_ratio: float = 1.5
    throughput_ratio: float = 0.5
    warmup_samples: int = 20
    baseline_alpha: float = 0.05
    confirm_samples: int = 2
    recover_samples: int = 3


@dataclass(frozen=True, slots=True)
class PerfSample:
    """One observation of a target; a signal that was not measured is None."""

    ts: float
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    throughput: float | None = None

    def get(self, signal: str) -> float | None:
        """Return the value of `signal` if it was measured and is a finite, non-negative number."""
        value = getattr(self, signal)
        return value if value is not None and math.isfinite(value) and value >= 0 else None


class Baseline(msgspec.Struct, frozen=True, gc=False):
    """Learned state of one target (a struct: one is built per scrape, several times cheaper than a dataclass)."""

    log_mean: MappingProxyType[str, float] = msgspec.field(default_factory=lambda: MappingProxyType({}))
    counts: MappingProxyType[str, int] = msgspec.field(default_factory=lambda: MappingProxyType({}))
    run_start: float | None = None  # first sample of the current bad run
    bad_streak: int = 0
    good_streak: int = 0
    degraded: bool = False
    signal_since: MappingProxyType[str, float] = msgspec.field(default_factory=lambda: MappingProxyType({}))
    """First sample, within the current run, at which each signal was beyond its limit."""


@dataclass(frozen=True, slots=True)
class DegradationStatus:
    """Verdict for one sample: `ratio` is observed/baseline of the worst signal (`signal`)."""

    ts: float
    degraded: bool
    since: float | None
    signal: str | None
    ratio: float
    ratios: MappingProxyType[str, float]
    baseline: MappingProxyType[str, float]
    warming_up: bool
    signal_since: MappingProxyType[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def since_of(self, signals: tuple[str, ...]) -> float | None:
        """Return when the first of ``signals`` went beyond its limit in this run (the episode's first sample).

        A run can outlast the fault that began it (a restart drops throughput, then an injected
        slowdown raises latency before three healthy samples end the run): a latency episode is
        dated from its own first slow sample, not from the run's.
        """
        starts = [self.signal_since[s] for s in signals if s in self.signal_since]
        return min(starts) if starts else self.since


def _badness(signal: str, ratio: float, policy: DegradationPolicy) -> float:
    """Return how far past its limit a ratio is (>= 1 means beyond the limit)."""
    if signal == "throughput":
        return policy.throughput_ratio / ratio if ratio > 0 else math.inf
    return ratio / policy.latency_ratio


_NONE: Final[MappingProxyType[str, float]] = MappingProxyType({})


def assess(
    state: Baseline, sample: PerfSample, policy: DegradationPolicy | None = None
) -> tuple[Baseline, DegradationStatus]:
    """Compare one sample with the target's baseline; return the new state and the status."""
    new_state, status = _assess(state, sample.ts, _values_of(sample), policy or DegradationPolicy(), always=True)
    assert status is not None
    return new_state, status


def assess_degraded(
    state: Baseline, sample: PerfSample, policy: DegradationPolicy
) -> tuple[Baseline, DegradationStatus | None]:
    """``assess``, with the status only while the target is degraded (None otherwise, built for nothing)."""
    return _assess(state, sample.ts, _values_of(sample), policy, always=False)


def assess_degraded_at(
    state: Baseline, ts: float, values: Measured, policy: DegradationPolicy
) -> tuple[Baseline, DegradationStatus | None]:
    """``assess_degraded`` of ``PerfSample(ts, *values)``, without building the sample."""
    return _assess(state, ts, values, policy, always=False)


Measured: TypeAlias = tuple[float | None, float | None, float | None, float | None]
"""A sample's p50, p95, p99 and throughput (SIGNALS' order; None: not measured)."""


def _values_of(sample: PerfSample) -> Measured:
    return sample.p50, sample.p95, sample.p99, sample.throughput


def _learned(
    state: Baseline, values: Measured, p: DegradationPolicy
) -> tuple[MappingProxyType[str, float], MappingProxyType[str, int]] | None:
    """The baseline's log means and counts with the sample learned; None if a signal is beyond its limit.

    In one pass: each measured signal past warm-up is compared with its baseline before it is learned.
    """
    counts, log_mean = state.counts.copy(), state.log_mean.copy()  # a proxy copies its dict faster than dict()
    warmup, floor = p.warmup_samples, p.baseline_alpha
    for sig, value in zip(SIGNALS, values, strict=True):
        if value is None or not (value >= 0 and isfinite(value)):
            continue
        seen = counts.get(sig, 0)
        if seen >= warmup:
            base = math.exp(log_mean[sig])
            ratio = value / base if base > 0 else (math.inf if value > 0 else 1.0)
            if _badness(sig, ratio, p) >= 1.0:
                return None
        if value <= 0:
            continue
        logged = math.log(value)
        previous = log_mean.get(sig, logged)
        alpha = 1.0 / (seen + 1)
        log_mean[sig] = previous + (alpha if alpha > floor else floor) * (logged - previous)
        counts[sig] = seen + 1
    return MappingProxyType(log_mean), MappingProxyType(counts)


def _assess(
    state: Baseline, ts: float, values: Measured, p: DegradationPolicy, *, always: bool
) -> tuple[Baseline, DegradationStatus | None]:
    if not (always or state.degraded) and (quiet := _learned(state, values, p)) is not None:
        # The common case, without the status: not degraded, and the sample within every limit.
        return Baseline(*quiet, None, 0, state.good_streak + 1, False, _NONE), None
    # filtered as ``PerfSample.get`` filters
    measured = [(sig, v) for sig, v in zip(SIGNALS, values, strict=True) if v is not None and v >= 0 and isfinite(v)]
    compared: list[tuple[str, float, float, float]] = []  # (signal, baseline, ratio, badness) past warm-up
    worst, worst_badness = None, 0.0  # the first signal of the highest badness, as ``max`` picks it
    counts_of, log_means, warmup = state.counts.get, state.log_mean, p.warmup_samples
    for sig, value in measured:
        if counts_of(sig, 0) >= warmup:
            base = math.exp(log_means[sig])
            ratio = value / base if base > 0 else (math.inf if value > 0 else 1.0)
            how_bad = _badness(sig, ratio, p)
            if worst is None or how_bad > worst_badness:
                worst, worst_badness = sig, how_bad
            compared.append((sig, base, ratio, how_bad))
    bad = worst is not None and worst_badness >= 1.0

    if bad:
        bad_streak, good_streak = state.bad_streak + 1, 0
        continuing = (state.bad_streak > 0 or state.degraded) and state.run_start is not None
        run_start = state.run_start if continuing else ts
    else:
        bad_streak, good_streak = 0, state.good_streak + 1
        run_start = state.run_start if state.degraded else None
    degraded = state.degraded
    if not degraded and bad_streak >= p.confirm_samples:
        degraded = True
    elif degraded and good_streak >= p.recover_samples:
        degraded, run_start = False, None
    since = run_start if degraded else None
    signal_since = _NONE
    if run_start is not None:
        starts = state.signal_since.copy()
        for sig, _, _, how_bad in compared:
            if how_bad >= 1.0:
                starts.setdefault(sig, ts)
        signal_since = MappingProxyType(starts)

    learned, seen = state.log_mean, state.counts  # frozen while degraded or bad: kept as they are
    if not degraded and not bad and (relearned := _learned(state, values, p)) is not None:
        learned, seen = relearned  # (never None here: no signal is beyond its limit)
    new_state = Baseline(learned, seen, run_start, bad_streak, good_streak, degraded, signal_since)
    if not (always or degraded):
        return new_state, None
    ratios = {sig: ratio for sig, _, ratio, _ in compared}
    status = DegradationStatus(
        ts=ts,
        degraded=degraded,
        since=since,
        signal=worst if (bad or degraded) else None,
        ratio=ratios[worst] if worst is not None else 1.0,
        ratios=MappingProxyType(ratios),
        baseline=MappingProxyType({sig: base for sig, base, _, _ in compared}),
        warming_up=not ratios,
        signal_since=signal_since if degraded else _NONE,
    )
    return new_state, status


class DegradationMonitor:
    """Baselines of many targets, keyed by target name (a thin holder around `assess`)."""

    __slots__ = ("_policy", "_states")

    def __init__(self, policy: DegradationPolicy | None = None) -> None:
        self._policy = policy or DegradationPolicy()
        self._states: dict[str, Baseline] = {}

    def update(self, target: str, sample: PerfSample) -> DegradationStatus:
        """Assess one sample of `target` and remember the new baseline."""
        state, status = assess(self._states.get(target, Baseline()), sample, self._policy)
        self._states[target] = state
        return status

    def state(self, target: str) -> Baseline:
        """Return the learned state of `target` (for checkpointing)."""
        return self._states.get(target, Baseline())
