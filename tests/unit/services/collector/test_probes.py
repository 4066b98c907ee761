from __future__ import annotations

import pytest

from services.collector.domain.probes import ProbeResult, percentile, summarise


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 99, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 95, 4.8),
        ([3.0, 1.0, 2.0], 0, 1.0),
        ([3.0, 1.0, 2.0], 100, 3.0),
    ],
)
def test_percentile_interpolates(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        percentile([], 50)


def test_all_ok() -> None:
    s = summarise([ProbeResult(200, 10.0), ProbeResult(200, 20.0), ProbeResult(200, 30.0)])
    assert s.up and s.error_rate == 0.0 and s.requests == 3
    assert s.latency_mean_ms == pytest.approx(20.0)
    assert s.latency_p50_ms == pytest.approx(20.0)


def test_server_errors_count_but_target_is_reachable() -> None:
    s = summarise([ProbeResult(500, 5.0), ProbeResult(503, 5.0), ProbeResult(200, 5.0), ProbeResult(404, 5.0)])
    assert s.up
    assert s.error_rate == pytest.approx(0.5)


def test_nothing_answered_is_down_without_latency() -> None:
    s = summarise([ProbeResult(None, 0.3, "ConnectError"), ProbeResult(None, 5000.0, "ReadTimeout")])
    assert not s.up
    assert s.error_rate == 1.0
    assert s.latency_p99_ms is None and s.latency_mean_ms is None


def test_timeouts_are_errors_and_do_not_count_as_latency() -> None:
    s = summarise([ProbeResult(None, 5000.0, "ReadTimeout"), ProbeResult(200, 1500.0)])
    assert s.up and s.error_rate == pytest.approx(0.5)
    assert s.latency_p99_ms == pytest.approx(1500.0)


def test_empty_batch_is_down() -> None:
    assert not summarise([]).up
