from __future__ import annotations

import pytest

from services.collector.domain.probes import ProbeSummary
from services.collector.domain.process_track import ProcessIdentity, ProcessTrack, observe_process
from services.collector.domain.rates import CounterReading, counter_rate
from services.collector.domain.samples import HostReading, ProcessReading, host_samples, target_samples
from shared import metric_names as mn

A, B = ProcessIdentity(100, 1.0), ProcessIdentity(200, 50.0)


def run(*seen: ProcessIdentity | None) -> ProcessTrack:
    track = ProcessTrack()
    for s in seen:
        track = observe_process(track, s)
    return track


@pytest.mark.parametrize(
    ("seen", "up", "restarts"),
    [
        ((A, A, A), True, 0),
        ((A, None), False, 0),
        ((A, None, B), True, 1),
        ((A, B), True, 1),
        ((A, B, A), True, 2),
        ((None, A), True, 0),
        ((A, ProcessIdentity(100, 9.0)), True, 1),  # pid reused by a new process
    ],
)
def test_restarts(seen: tuple[ProcessIdentity | None, ...], up: bool, restarts: int) -> None:
    track = run(*seen)
    assert track.up is up
    assert track.restarts == restarts


@pytest.mark.parametrize(
    ("prev", "cur", "rate"),
    [
        (None, CounterReading(10, 1.0), None),
        (CounterReading(100, 0.0), CounterReading(300, 2.0), 100.0),
        (CounterReading(100, 0.0), CounterReading(40, 2.0), 20.0),
        (CounterReading(100, 2.0), CounterReading(300, 2.0), None),
    ],
)
def test_counter_rate(prev: CounterReading | None, cur: CounterReading, rate: float | None) -> None:
    assert counter_rate(prev, cur) == rate


def test_host_samples_skip_unknown_rates() -> None:
    names = [s.name for s in host_samples(HostReading(10, 20, 30, 0.5))]
    assert names == [mn.HOST_CPU, mn.HOST_MEMORY, mn.HOST_DISK, mn.HOST_LOAD1]


def test_down_process_and_unreachable_http() -> None:
    probe = ProbeSummary(5, False, 1.0, None, None, None, None)
    values = {s.name: s.value for s in target_samples(ProcessReading(up=False, restarts=2), probe)}
    assert values == {mn.PROCESS_UP: 0.0, mn.PROCESS_RESTARTS: 2.0, mn.HTTP_UP: 0.0, mn.HTTP_ERROR_RATE: 1.0}


def test_up_process_and_http() -> None:
    probe = ProbeSummary(5, True, 0.2, 3.0, 2.0, 9.0, 10.0)
    reading = ProcessReading(up=True, restarts=0, cpu_percent=97.0, rss_bytes=1e6, threads=4)
    values = {s.name: s.value for s in target_samples(reading, probe)}
    assert values[mn.PROCESS_UP] == 1.0 and values[mn.PROCESS_CPU] == 97.0
    assert values[mn.HTTP_UP] == 1.0 and values[mn.HTTP_LATENCY_P95] == 9.0 and values[mn.HTTP_ERROR_RATE] == 0.2
