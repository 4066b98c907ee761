"""Counters to increases and rates, and the exporters' series mapped to the manual's signals."""

from __future__ import annotations

import itertools
import math

import pytest

from services.collector.domain.exposition import Series
from services.collector.domain.samples import merge_samples
from services.collector.domain.signals import (
    HttpOptions,
    Interval,
    NodeOptions,
    SignalOptions,
    Snapshot,
    combined,
    derive,
    histogram_quantile,
    http_signals,
    in_window,
    increases,
    node_signals,
    passthrough_samples,
)
from shared import metric_names as mn
from shared.models import MAX_ITEMS, MetricSample


def counter(name: str, value: float, **labels: str) -> Series:
    return Series(name, tuple(sorted(labels.items())), value, "counter")


def gauge(name: str, value: float, **labels: str) -> Series:
    return Series(name, tuple(sorted(labels.items())), value, "gauge")


def bucket(le: str, value: float) -> Series:
    return Series("lat_seconds_bucket", (("le", le),), value, "histogram")


def values(samples: list[MetricSample]) -> dict[str, float]:
    return {s.name: s.value for s in samples}


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (10.0, 15.0, 5.0),  # an increase
        (10.0, 10.0, 0.0),  # none
        (10.0, 3.0, 3.0),  # a drop is a reset: the current value is the increase since
        (None, 4.0, 4.0),  # a series born since the last scrape: its value is its increase
    ],
)
def test_counter_increase_handles_resets_and_new_series(before: float | None, after: float, expected: float) -> None:
    previous = Snapshot(0.0, (counter("c_total", before),) if before is not None else ())
    assert increases(previous, Snapshot(2.0, (counter("c_total", after), gauge("g", 1.0)))) == {
        ("c_total", ()): expected
    }  # gauges have no increase


def test_series_missing_now_are_left_out() -> None:
    previous = Snapshot(0.0, (counter("a_total", 1.0), counter("b_total", 1.0)))
    assert increases(previous, Snapshot(1.0, (counter("a_total", 2.0),))) == {("a_total", ()): 1.0}


@pytest.mark.parametrize(
    ("q", "buckets", "expected"),
    [
        (0.5, [(0.1, 50.0), (0.5, 100.0), (math.inf, 100.0)], 0.1),  # exactly at a bound
        (0.75, [(0.1, 50.0), (0.5, 100.0), (math.inf, 100.0)], 0.3),  # half way through (0.1, 0.5]
        (0.25, [(0.1, 50.0), (0.5, 100.0), (math.inf, 100.0)], 0.05),  # first bucket from 0
        (0.99, [(0.1, 10.0), (0.5, 20.0), (math.inf, 100.0)], 0.5),  # in +Inf: the highest finite bound
        (0.5, [(0.1, 0.0), (math.inf, 0.0)], None),  # no observations
        (0.5, [(0.1, 3.0)], None),  # no +Inf bucket
        (0.5, [(0.1, 6.0), (0.5, 4.0), (math.inf, 10.0)], 0.1 * 5 / 6),  # non-monotonic after a reset: made monotonic
    ],
)
def test_histogram_quantile_as_prometheus(q: float, buckets: list[tuple[float, float]], expected: float | None) -> None:
    found = histogram_quantile(q, buckets)
    assert found == pytest.approx(expected) if expected is not None else found is None


def node(cpu_idle: float, cpu_user: float, rx: float, lo: float, *, at: float) -> Snapshot:
    return Snapshot(
        at,
        (
            counter("node_cpu_seconds_total", cpu_idle, cpu="0", mode="idle"),
            counter("node_cpu_seconds_total", cpu_user, cpu="0", mode="user"),
            counter("node_cpu_seconds_total", cpu_idle, cpu="1", mode="idle"),
            counter("node_cpu_seconds_total", cpu_user, cpu="1", mode="user"),
            counter("node_cpu_seconds_total", 5.0, cpu="1", mode="iowait"),
            gauge("node_memory_MemAvailable_bytes", 250.0),
            gauge("node_memory_MemTotal_bytes", 1000.0),
            gauge("node_filesystem_avail_bytes", 10.0, mountpoint="/", fstype="ext4"),
            gauge("node_filesystem_size_bytes", 100.0, mountpoint="/", fstype="ext4"),
            gauge("node_filesystem_avail_bytes", 1.0, mountpoint="/boot", fstype="ext4"),
            gauge("node_filesystem_size_bytes", 2.0, mountpoint="/boot", fstype="ext4"),
            gauge("node_load1", 0.7),
            counter("node_network_receive_bytes_total", rx, device="eth0"),
            counter("node_network_receive_bytes_total", lo, device="lo"),
            counter("node_network_transmit_bytes_total", rx / 2, device="eth0"),
        ),
    )


def test_node_exporter_series_become_host_signals() -> None:
    first, second = node(100.0, 50.0, 1000.0, 0.0, at=10.0), node(103.0, 59.0, 3000.0, 10**9, at=12.0)
    got = values(node_signals(second, increases(first, second), 2.0, NodeOptions()))
    assert got[mn.HOST_CPU] == pytest.approx(100.0 * 18 / 24)  # 2 x 9 s user of 2 x (3 + 9) s
    assert got[mn.HOST_MEMORY] == pytest.approx(75.0)
    assert got[mn.HOST_DISK] == pytest.approx(90.0)  # "/", not "/boot"
    assert got[mn.HOST_LOAD1] == 0.7
    assert got[mn.HOST_NET_RECV] == pytest.approx(1000.0)  # loopback left out
    assert got[mn.HOST_NET_SENT] == pytest.approx(500.0)
    boot = values(node_signals(second, None, 0.0, NodeOptions(disk_mountpoint="/boot")))
    assert boot[mn.HOST_DISK] == pytest.approx(50.0) and mn.HOST_CPU not in boot  # no rates on a first scrape


def test_missing_node_series_give_no_signal() -> None:
    only_load = Snapshot(1.0, (gauge("node_load1", 2.0), gauge("node_memory_MemTotal_bytes", 0.0)))
    assert values(node_signals(only_load, {}, 1.0, NodeOptions())) == {mn.HOST_LOAD1: 2.0}


def app(ok: float, failed: float, lat: dict[str, float], *, at: float, status: str = "status") -> Snapshot:
    return Snapshot(
        at,
        (
            counter("http_requests_total", ok, path="/", **{status: "200"}),
            counter("http_requests_total", failed, path="/", **{status: "503"}),
            counter("http_requests_total", 1.0, path="/", **{status: "404"}),  # a client error is not a failure
            *(bucket(le, v) for le, v in lat.items()),
            Series("lat_seconds_count", (), lat["+Inf"], "histogram"),
            Series("lat_seconds_sum", (), lat["+Inf"] * 0.05, "histogram"),
        ),
    )


HTTP = HttpOptions(latency="lat_seconds")


@pytest.mark.parametrize("status", ["status", "code"])
def test_error_rate_is_failed_over_all_requests_of_the_interval(status: str) -> None:
    first = app(1000.0, 10.0, {"0.1": 500.0, "1": 1000.0, "+Inf": 1011.0}, at=0.0, status=status)
    second = app(1990.0, 20.0, {"0.1": 1000.0, "1": 2000.0, "+Inf": 2011.0}, at=5.0, status=status)
    got = values(http_signals(increases(first, second), 5.0, HTTP))
    assert got[mn.HTTP_ERROR_RATE] == pytest.approx(0.01)  # 10 of 1000: the manual's 1 % is measurable
    assert got[mn.HTTP_THROUGHPUT] == pytest.approx(200.0)
    assert got[mn.HTTP_LATENCY_MEAN] == pytest.approx(50.0)
    assert got[mn.HTTP_LATENCY_P50] == pytest.approx(100.0)  # 500 of 1000 below 0.1 s
    assert got[mn.HTTP_LATENCY_P95] == pytest.approx(100.0 + 900.0 * 450 / 500)
    assert got[mn.HTTP_LATENCY_P99] == pytest.approx(100.0 + 900.0 * 490 / 500)


def test_a_restarted_application_counts_from_zero() -> None:
    before = app(1000.0, 10.0, {"0.1": 10.0, "+Inf": 1011.0}, at=0.0)
    after = app(99.0, 1.0, {"0.1": 101.0, "+Inf": 101.0}, at=2.0)  # every counter dropped: reset
    got = values(http_signals(increases(before, after), 2.0, HTTP))
    assert got[mn.HTTP_ERROR_RATE] == pytest.approx(0.01) and got[mn.HTTP_THROUGHPUT] == pytest.approx(50.0)


def test_no_requests_means_no_error_rate_and_no_latency() -> None:
    same = app(5.0, 0.0, {"0.1": 6.0, "+Inf": 6.0}, at=0.0)
    got = values(http_signals(increases(same, Snapshot(1.0, same.series)), 1.0, HTTP))
    assert got == {mn.HTTP_THROUGHPUT: 0.0}


def test_an_application_without_the_histogram_gives_throughput_and_errors_only() -> None:
    a = Snapshot(0.0, (counter("http_requests_total", 1.0, code="500"),))
    b = Snapshot(1.0, (counter("http_requests_total", 3.0, code="500"), counter("http_requests_total", 2, code="200")))
    assert values(http_signals(increases(a, b), 1.0, HttpOptions())) == {
        mn.HTTP_THROUGHPUT: 4.0,
        mn.HTTP_ERROR_RATE: 0.5,
    }


def test_passthrough_publishes_selected_series_with_labels_and_counters_as_rates() -> None:
    a = Snapshot(0.0, (counter("jobs_total", 1.0, queue="q"), gauge("queue_depth", 3.0, queue="q")))
    b = Snapshot(2.0, (counter("jobs_total", 5.0, queue="q"), gauge("queue_depth", 4.0, queue="q")))
    samples, cut = passthrough_samples(b, increases(a, b), 2.0, ["jobs_total", "queue_.*"], 10)
    assert [(s.name, s.value, s.labels) for s in samples] == [
        ("jobs_per_s", 2.0, {"queue": "q"}),
        ("queue_depth", 4.0, {"queue": "q"}),
    ] and cut == 0
    first, _ = passthrough_samples(a, None, 0.0, [".*"], 10)
    assert [s.name for s in first] == ["queue_depth"]  # a rate needs two scrapes


def test_passthrough_is_bounded_and_refuses_what_does_not_fit_an_event() -> None:
    many = Snapshot(0.0, tuple(gauge("g", float(i), i=str(i)) for i in range(20)))
    samples, cut = passthrough_samples(many, None, 0.0, ["g"], 5)
    assert len(samples) == 5 and cut == 15
    hostile = Snapshot(0.0, (gauge("g", 1.0, x="a" * 500), gauge("g", 1.0, x="\x1b[31m"), gauge("g", 2.0, x="ok")))
    samples, cut = passthrough_samples(hostile, None, 0.0, ["g"], 5)
    assert [s.labels for s in samples] == [{"x": "ok"}] and cut == 2


def test_derive_maps_whichever_exporter_it_finds() -> None:
    first, second = node(100.0, 50.0, 0.0, 0.0, at=0.0), node(101.0, 51.0, 0.0, 0.0, at=1.0)
    samples, _ = derive(first, second, SignalOptions())
    assert {mn.HOST_CPU, mn.HOST_MEMORY, mn.HOST_DISK} <= set(values(samples))
    assert mn.HTTP_ERROR_RATE not in values(samples)  # no request counter: no HTTP signal
    alone, _ = derive(None, second, SignalOptions(node=None, http=None))
    assert alone == []


def test_an_endpoints_signal_replaces_the_probes_and_the_event_stays_bounded() -> None:
    probe = [MetricSample(name=mn.HTTP_UP, value=1.0), MetricSample(name=mn.HTTP_ERROR_RATE, value=0.2)]
    scraped = [MetricSample(name=mn.HTTP_ERROR_RATE, value=0.01)]
    assert [(s.name, s.value) for s in merge_samples(probe, scraped)] == [(mn.HTTP_UP, 1.0), (mn.HTTP_ERROR_RATE, 0.01)]
    labelled = [MetricSample(name=mn.HTTP_ERROR_RATE, value=0.5, labels={"x": "y"})] * (MAX_ITEMS + 5)
    merged = merge_samples(probe, labelled)
    assert len(merged) == MAX_ITEMS and merged[1].value == 0.2  # a labelled sample replaces nothing


def iv(start: float, end: float, **inc: float) -> Interval:
    return Interval(start, end, {(k, ()): v for k, v in inc.items()})


@pytest.mark.parametrize(
    ("kept", "latest", "window_s", "expected"),
    [
        ([], iv(0, 2, a=1), 0.0, [iv(0, 2, a=1)]),  # no window: since the last scrape
        ([iv(0, 2, a=1), iv(2, 4, a=2)], iv(4, 6, a=3), 0.0, [iv(4, 6, a=3)]),
        ([iv(0, 2, a=1), iv(2, 4, a=2)], iv(4, 6, a=3), 4.0, [iv(2, 4, a=2), iv(4, 6, a=3)]),
        ([iv(0, 2, a=1), iv(2, 4, a=2)], iv(4, 6, a=3), 60.0, [iv(0, 2, a=1), iv(2, 4, a=2), iv(4, 6, a=3)]),
        ([iv(0, 2, a=1)], iv(2, 30, a=3), 10.0, [iv(2, 30, a=3)]),  # a long gap: the last interval alone
    ],
)
def test_the_rate_window_covers_the_last_intervals(
    kept: list[Interval], latest: Interval, window_s: float, expected: list[Interval]
) -> None:
    assert list(in_window(kept, latest, window_s)) == expected


def test_a_window_sums_increases_interval_by_interval_so_a_reset_inside_it_counts() -> None:
    snaps = [Snapshot(t, (counter("req_total", v),)) for t, v in [(0.0, 100.0), (2.0, 150.0), (4.0, 20.0)]]
    intervals = [Interval(a.at, b.at, increases(a, b)) for a, b in itertools.pairwise(snaps)]
    assert combined(intervals) == ({("req_total", ()): 70.0}, 4.0)  # 50, then a restart and 20
    assert combined([]) == ({}, 0.0)
