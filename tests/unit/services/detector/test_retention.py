"""Which targets the detector forgets, and when it looks: by each partition's newest scrape."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.detector.domain.retention import SWEEP_EVERY_SHARE, StreamTime, farewells, silent
from services.detector.domain.tracker import Change, Episode
from shared.models import Anomaly, AnomalyKind, Impact

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@dataclass
class Seen:
    target: str
    last_observed: datetime | None
    episodes: dict[str, Episode] = field(default_factory=dict)


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


def test_silent_targets_are_those_without_a_scrape_since_the_horizon() -> None:
    detectors = [Seen("recent", at(100)), Seen("old", at(10)), Seen("at-horizon", at(50)), Seen("never", None)]
    assert silent(detectors, at(50)) == ["never", "old"]


def test_a_forgotten_target_resolves_what_it_had_open_and_says_why() -> None:
    opened = Anomaly(
        anomaly_id="an-1", fingerprint="pod-7/http.up", kind=AnomalyKind.TARGET_DOWN, target="pod-7", signal="http.up",
        impact=Impact.SERVICE_DOWN, score=1.0, since=at(0), last_seen=at(30), revision=2, summary="http.up = 0",
        labels={"rule": "target-down"},
    )  # fmt: skip
    later = opened.model_copy(update={"last_seen": at(60)})
    target = Seen("pod-7", at(60), {"http.up": Episode(opened, at(60), later), "cpu": Episode(opened, at(5))})
    out = farewells(target)
    assert [e.change for e in out] == [Change.RESOLVED, Change.RESOLVED]
    resolved = out[1].anomaly  # signal order: cpu, then http.up
    assert resolved.revision == 3 and resolved.score == 0.0 and resolved.last_seen == at(60)
    assert resolved.labels == {"rule": "target-down", "resolved_by": "retention"}
    assert resolved.summary == f"http.up = 0; no scrape since {at(60).isoformat()}: the target is forgotten"
    assert farewells(Seen("quiet", at(60))) == []
