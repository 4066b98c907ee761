"""Waiting seen from above: in-flight work judged by its latency, a callee covering its callers' wait."""

from __future__ import annotations

import numpy as np

from services.rca.domain import Case, MetricFrame, RcaConfig, rank_causes
from services.rca.domain.waiting import is_in_flight

T0 = 1_700_000_000.0
STEP = 60.0
TS = T0 + STEP * np.arange(-30, 6)
DURING = TS >= T0


def _series(rng: np.random.Generator, level: float, add: float, rel_noise: float) -> np.ndarray:
    return level * (1.0 + rel_noise * rng.standard_normal(TS.size)) + np.where(DURING, add, 0.0)


def _ranked(cols: dict[str, np.ndarray], config: RcaConfig | None = None) -> list[str]:
    case = Case(metrics=MetricFrame.build(TS, cols), anomaly_start=T0, window_end=float(TS[-1]))
    return [c.entity for c in rank_causes(case, config=config)]


def _caller_and_callee(rng: np.random.Generator, *, caller_add: float, threads: bool) -> dict[str, np.ndarray]:
    requests = rng.poisson(100, TS.size).astype(float)
    cols = {
        "callee|requests_total": requests,
        "callee|latency_p50": _series(rng, 0.05, 0.1, 0.05),
        "caller|requests_total": requests + rng.poisson(1, TS.size),
        "caller|latency_p50": _series(rng, 0.08, caller_add, 0.05 if threads else 0.01),
    }
    if threads:
        cols["caller|threads"] = _series(rng, 10.0, 100.0, 0.002)
    return cols


def test_in_flight_names() -> None:
    assert is_in_flight("threads") and is_in_flight("inflight_requests") and is_in_flight("db_connections")
    assert not is_in_flight("cpu_usage") and not is_in_flight("memory_rss_mb")


def test_a_caller_whose_threads_wait_follows_the_slow_callee() -> None:
    # The caller's strongest deviation is its busy threads (Little's law: they wait on the callee);
    # judged by its latency, which rose as much per request as the callee's, it is the callee's symptom.
    cols = _caller_and_callee(np.random.default_rng(5), caller_add=0.1, threads=True)
    assert _ranked(cols)[:2] == ["callee", "caller"]


def test_a_callee_covers_callers_that_also_wait_on_its_network_leg() -> None:
    # A delay on the callee's link adds to what the caller waits per call, while the callee's own
    # latency shows it only in part: half the caller's rise per request still covers it.
    cols = _caller_and_callee(np.random.default_rng(7), caller_add=0.2, threads=False)
    assert _ranked(cols)[:2] == ["callee", "caller"]
    assert _ranked(cols, RcaConfig(time_cover_share=0.8))[0] == "caller"
