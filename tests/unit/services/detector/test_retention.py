"""Which targets the detector forgets, and when it looks: by each partition's newest scrape."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.detector.domain.retention import SWEEP_EVERY_SHARE, StreamTime, silent

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@dataclass
class Seen:
    target: str
    last_observed: datetime | None
    episodes: dict[str, object] = field(default_factory=dict)


def test_a_partition_is_looked_over_once_its_stream_moved_on_by_a_share_of_the_retention() -> None:
    stream = StreamTime(after_s=1000.0)
    step = 1000.0 * SWEEP_EVERY_SHARE
    stream.saw(0, at(0))
    assert stream.due([0]) == {}, "the first look waits for the stream to move on"
    stream.saw(0, at(step - 1))
    assert stream.due([0]) == {}
    stream.saw(0, at(step))
    assert stream.due([0]) == {0: at(step - 1000.0)}
    assert stream.due([0]) == {}, "looked over: not again until it moves on"


def test_an_older_scrape_does_not_move_the_stream_back() -> None:
    stream = StreamTime(after_s=1000.0)
    stream.saw(1, at(50))
    stream.saw(1, at(10))
    assert stream.newest == {1: at(50)}


def test_partitions_have_a_stream_time_each() -> None:
    stream = StreamTime(after_s=1000.0)
    for p in (0, 1):
        stream.saw(p, at(0))
        stream.due([p])
    stream.saw(0, at(500))
    assert stream.due([0, 1]) == {0: at(-500)}
    stream.forget([0])
    assert stream.newest == {1: at(0)} and stream.swept == {1: at(0)}


def test_no_retention_never_looks() -> None:
    stream = StreamTime(after_s=0.0)
    stream.saw(0, at(0))
    stream.due([0])
    stream.saw(0, at(10**9))
    assert stream.due([0]) == {}


def test_silent_targets_are_those_without_a_scrape_since_the_horizon_or_an_open_anomaly() -> None:
    detectors = [
        Seen("recent", at(100)),
        Seen("old", at(10)),
        Seen("old-down", at(10), {"http.up": object()}),
        Seen("at-horizon", at(50)),
        Seen("never", None),
    ]
    assert silent(detectors, at(50)) == ["never", "old"]
