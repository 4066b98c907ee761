from __future__ import annotations

import pytest

from services.recovery.domain.verify import (
    HealthPolicy,
    Verdict,
    Verification,
    assess,
    baseline_latency,
    expire,
    observe,
)

POLICY = HealthPolicy(healthy_scrapes=3, timeout_s=60.0, latency_floor_ms=100.0)
HEALTHY = {"process.up": 1.0, "http.up": 1.0, "http.error_rate": 0.0, "process.cpu_percent": 5.0,
           "http.latency_p95_ms": 40.0}  # fmt: skip


def pending() -> Verification:
    return Verification(plan_id="p", incident_id="i", target="demo", since=100.0, deadline=160.0, baseline_p95_ms=80.0)


@pytest.mark.parametrize(
    ("change", "healthy"),
    [
        ({}, True),
        ({"process.up": 0.0}, False),
        ({"http.up": 0.0}, False),
        ({"http.error_rate": 0.2}, False),
        ({"process.cpu_percent": 99.0}, False),
        ({"http.latency_p95_ms": 170.0}, False),  # >= 2 x baseline 80
        ({"http.latency_p95_ms": 150.0}, True),
    ],
)
def test_assess(change: dict[str, float], healthy: bool) -> None:
    assert assess(HEALTHY | change, POLICY, 80.0)[0] is healthy


def test_scrape_without_health_signal_is_not_healthy() -> None:
    assert assess({"process.cpu_percent": 1.0}, POLICY, None) == (False, "no process.up/http.up in scrape")


def test_latency_floor_applies_without_baseline() -> None:
    assert assess(HEALTHY | {"http.latency_p95_ms": 90.0}, POLICY, None)[0]
    assert not assess(HEALTHY | {"http.latency_p95_ms": 120.0}, POLICY, None)[0]


def test_verified_after_consecutive_healthy_scrapes() -> None:
    state = pending()
    verdicts = []
    for t, scrape in [(101, HEALTHY), (102, HEALTHY), (103, HEALTHY | {"process.up": 0}), (104, HEALTHY),
                      (105, HEALTHY), (106, HEALTHY)]:  # fmt: skip
        state, verdict = observe(state, scrape, observed_at=t, policy=POLICY)
        verdicts.append(verdict)
    assert verdicts == [None, None, None, None, None, Verdict.VERIFIED]


def test_scrapes_before_the_last_step_do_not_count() -> None:
    state = pending()
    for t in (90.0, 95.0, 100.0):
        state, verdict = observe(state, HEALTHY, observed_at=t, policy=POLICY)
        assert verdict is None
    assert state.streak == 0


def test_deadline_fails() -> None:
    assert expire(pending(), now=150.0) is None
    assert expire(pending(), now=161.0) is Verdict.FAILED
    assert observe(pending(), HEALTHY, observed_at=170.0, policy=POLICY)[1] is Verdict.FAILED


def test_baseline_is_the_median() -> None:
    assert baseline_latency([10.0, 30.0, 20.0, float("nan")]) == 20.0
    assert baseline_latency([]) is None
