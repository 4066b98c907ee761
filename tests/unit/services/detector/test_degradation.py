from __future__ import annotations

import pytest

from services.detector.domain.degradation import (
    Baseline,
    DegradationMonitor,
    DegradationPolicy,
    PerfSample,
    assess,
)

POLICY = DegradationPolicy(warmup_samples=10, confirm_samples=2, recover_samples=3)


def healthy(ts: float) -> PerfSample:
    wobble = 1.0 + 0.05 * ((int(ts) // 60) % 3 - 1)
    return PerfSample(ts, p50=100 * wobble, p95=200 * wobble, p99=400 * wobble, throughput=50 * wobble)


def feed(samples: list[PerfSample], state: Baseline | None = None):
    state = state or Baseline()
    out = []
    for s in samples:
        state, status = assess(state, s, POLICY)
        out.append(status)
    return state, out


def test_warm_up_then_healthy():
    _, statuses = feed([healthy(60 * i) for i in range(30)])
    assert statuses[0].warming_up
    assert not statuses[-1].warming_up
    assert not any(s.degraded for s in statuses)
    assert statuses[-1].baseline["p95"] == pytest.approx(200, rel=0.05)


def test_latency_degradation_reports_since_first_bad_sample_and_recovers():
    samples = [healthy(60 * i) for i in range(30)]
    samples += [PerfSample(60 * i, p50=110, p95=840, p99=900, throughput=50) for i in range(30, 90)]
    samples += [healthy(60 * i) for i in range(90, 100)]
    _, statuses = feed(samples)
    assert not statuses[30].degraded  # one bad sample is not yet a degradation
    assert statuses[31].degraded
    assert statuses[31].since == 60 * 30
    assert statuses[89].since == 60 * 30  # the baseline did not learn the slowdown
    assert statuses[89].signal == "p95"
    assert statuses[89].ratio == pytest.approx(4.2, rel=0.06)
    assert statuses[91].degraded  # recovery needs three healthy samples
    assert not statuses[92].degraded
    assert statuses[92].since is None


def test_throughput_drop_is_degradation():
    samples = [healthy(60 * i) for i in range(20)]
    samples += [PerfSample(60 * i, p50=100, p95=200, p99=400, throughput=10) for i in range(20, 25)]
    _, statuses = feed(samples)
    assert statuses[-1].degraded
    assert statuses[-1].signal == "throughput"
    assert statuses[-1].ratio == pytest.approx(0.2, rel=0.06)
    assert statuses[-1].since == 60 * 20


def test_brief_good_sample_does_not_move_since():
    samples = [healthy(60 * i) for i in range(20)]
    bad = [PerfSample(60 * i, p95=900) for i in range(20, 25)]
    samples += bad + [healthy(60 * 25)] + [PerfSample(60 * i, p95=900) for i in range(26, 30)]
    _, statuses = feed(samples)
    assert all(s.degraded and s.since == 60 * 20 for s in statuses[21:])


def test_missing_and_invalid_signals_are_ignored():
    samples = [healthy(60 * i) for i in range(20)]
    samples += [PerfSample(60 * 20, p50=None, p95=float("nan"), p99=-1.0, throughput=None)]
    _, statuses = feed(samples)
    assert statuses[-1].ratios == {}
    assert not statuses[-1].degraded


def test_monitor_keeps_targets_apart():
    monitor = DegradationMonitor(POLICY)
    for i in range(20):
        monitor.update("api", healthy(60 * i))
        monitor.update("db", healthy(60 * i))
    for i in range(20, 23):
        monitor.update("api", PerfSample(60 * i, p99=4000))
        status_db = monitor.update("db", healthy(60 * i))
    assert monitor.state("api").degraded
    assert not status_db.degraded
