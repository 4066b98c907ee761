from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from incidentctl.chaos import inject
from incidentctl.demo_service import Chaos, RedMetrics
from services.collector.domain.exposition import is_openmetrics, parse_exposition


class Clock:
    t = 100.0

    def __call__(self) -> float:
        return self.t


def test_slow_fault_expires_after_its_duration() -> None:
    clock = Clock()
    chaos = Chaos(clock)
    chaos.inject("slow", 5.0)
    assert chaos.active("slow") and chaos.active_faults() == ["slow"]
    clock.t += 5.0
    assert not chaos.active("slow")


def test_fault_without_duration_lasts_until_reset() -> None:
    clock = Clock()
    chaos = Chaos(clock)
    chaos.inject("slow", None)
    clock.t += 1e6
    assert chaos.active("slow")
    chaos.reset()
    assert chaos.active_faults() == []


def test_unknown_fault_is_refused_before_any_request() -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        inject("meteor", "http://127.0.0.1:9")


@pytest.fixture
def chaos() -> Iterator[Chaos]:
    """A demo's chaos state whose faults end with the test (error-burst's logging thread stops with them)."""
    chaos = Chaos(Clock())
    yield chaos
    chaos.reset()


@pytest.mark.parametrize(("ratio", "failed"), [(1.0, 300), (0.5, 150), (0.02, 6), (0.01, 3), (1 / 3, 100)])
def test_error_burst_fails_exactly_its_ratio_of_requests_evenly(chaos: Chaos, ratio: float, failed: int) -> None:
    assert not chaos.fail_request()  # no fault, no failure
    chaos.inject("error-burst", None, ratio=ratio)
    outcomes = [chaos.fail_request() for _ in range(300)]
    assert sum(outcomes) == failed
    gaps = {b - a for a, b in itertools.pairwise(i for i, bad in enumerate(outcomes) if bad)}
    assert gaps == {round(1 / ratio)}  # evenly spread: every n-th request


@pytest.mark.parametrize("accept", ["", "application/openmetrics-text; version=1.0.0"])
def test_red_metrics_count_requests_by_route_and_status_in_either_format(accept: str) -> None:
    red = RedMetrics()
    for status in (200, 200, 500):
        red.observe("GET", "/", status, 0.02)
    red.observe("POST", "/chaos/slow", 200, 0.001)
    red.observe("GET", "/../../etc/passwd", 404, 0.001)  # an unknown path is one route, not a series each
    body, content_type = red.render(accept)
    series = parse_exposition(body.decode(), openmetrics=is_openmetrics(content_type), max_series=1000)
    counts = {(s.label("path"), s.label("status")): s.value for s in series if s.name == "http_requests_total"}
    expected = {("/", "200"): 2, ("/", "500"): 1, ("/chaos/*", "200"): 1, ("other", "404"): 1}
    assert counts == expected | {("/login", "401"): 0}  # failed logins: a series from the start
    assert is_openmetrics(content_type) is bool(accept)
    buckets = {s.label("le"): s.value for s in series if s.name.endswith("_bucket") and s.label("path") == "/"}
    assert buckets["0.01"] == 0 and buckets["0.025"] == 3 and buckets["+Inf"] == 3
