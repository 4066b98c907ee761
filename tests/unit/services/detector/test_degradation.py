from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.detector.domain.degradation import (
    Baseline,
    DegradationMonitor,
    DegradationPolicy,
    Measured,
    PerfSample,
    assess,
    assess_degraded_at,
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


def test_a_latency_episode_is_dated_from_its_own_first_slow_sample_not_the_run_start() -> None:
    """Issue 15: a restart's throughput drop began the run; the slowdown injected later is dated itself."""
    samples = [healthy(60 * i) for i in range(20)]
    samples += [PerfSample(60 * i, p50=100, p95=200, p99=400, throughput=10) for i in range(20, 24)]  # restart
    samples += [PerfSample(60 * i, p50=300, p95=900, p99=1200, throughput=10) for i in range(24, 26)]  # slow fault
    samples += [PerfSample(60 * i, p50=300, p95=900, p99=1200, throughput=50) for i in range(26, 30)]
    _, statuses = feed(samples)
    last = statuses[-1]
    assert last.degraded and last.since == 60 * 20  # one run of the engine ...
    assert last.signal == "p95"
    assert last.since_of(("p50", "p95", "p99")) == 60 * 24  # ... but the latency episode began at the fault


def test_the_perf_evidence_says_since_the_episode_first_abnormal_sample() -> None:
    from datetime import UTC, datetime

    from services.detector.domain.perf import METRIC_OF, PerfConfig, observe_perf

    config = PerfConfig(policy=POLICY)
    state = Baseline()
    evidence = None
    for i in range(30):
        p95, throughput = (200.0, 50.0) if i < 20 else (200.0, 10.0) if i < 24 else (900.0, 50.0)
        values = {METRIC_OF["p50"]: 100.0, METRIC_OF["p95"]: p95, METRIC_OF["p99"]: 400.0,
                  METRIC_OF["throughput"]: throughput}  # fmt: skip
        state, evidence = observe_perf(state, 60.0 * i, values, config, ongoing=None)
    assert evidence is not None and evidence.since == datetime.fromtimestamp(60 * 24, UTC)
    assert evidence.summary.startswith(f"degraded since {datetime.fromtimestamp(60 * 24, UTC).isoformat()}")


_VALUE = st.one_of(
    st.none(),
    st.sampled_from([0.0, -1.0, math.nan, math.inf]),
    st.floats(min_value=1.0, max_value=400.0),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_VALUE, _VALUE, _VALUE, _VALUE), min_size=1, max_size=60))
def test_the_quiet_shortcut_learns_exactly_what_the_full_assessment_learns(values: list[Measured]) -> None:
    """``assess_degraded_at`` skips building the status of a quiet sample; its states must be the full path's."""
    policy = DegradationPolicy(warmup_samples=5, confirm_samples=2, recover_samples=3)
    short = full = Baseline()
    for ts, measured in enumerate(values):
        short, status = assess_degraded_at(short, float(ts), measured, policy)
        full, full_status = assess(full, PerfSample(float(ts), *measured), policy)
        assert short == full
        assert status == (full_status if full_status.degraded else None)
