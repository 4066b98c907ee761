"""The pure parts of ``incidentctl replay``: times, windows, topic names, the merge by event time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incidentctl.exits import UnknownTopic
from incidentctl.replay_cmd import Recorded, Window, in_time_order, of_incident, parse_when, resolve_topics
from tests.factories import anomaly, at, metrics

NOW = datetime(2026, 5, 1, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-30m", NOW - timedelta(minutes=30)),
        ("-2h", NOW - timedelta(hours=2)),
        ("-45s", NOW - timedelta(seconds=45)),
        ("-1d", NOW - timedelta(days=1)),
        ("-1.5h", NOW - timedelta(minutes=90)),
        ("now", NOW),
        ("2026-05-01T13:03:00Z", datetime(2026, 5, 1, 13, 3, tzinfo=UTC)),
        ("2026-05-01T22:03:00+09:00", datetime(2026, 5, 1, 13, 3, tzinfo=UTC)),
        ("2026-05-01T13:03:00", datetime(2026, 5, 1, 13, 3, tzinfo=UTC)),  # no zone: UTC
    ],
)
def test_times_are_iso_or_relative_to_now(text: str, expected: datetime) -> None:
    assert parse_when(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["30m", "-30x", "yesterday", "", "-m"])
def test_an_unreadable_time_is_a_usage_error_naming_both_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"ISO time .* relative one"):
        parse_when(text, now=NOW)


def test_the_window_is_half_open_and_may_be_open_on_either_side() -> None:
    window = Window.parse("-30m", "-10m", now=NOW)
    assert NOW - timedelta(minutes=30) in window
    assert NOW - timedelta(minutes=10) not in window
    assert NOW - timedelta(minutes=31) not in window
    assert NOW - timedelta(days=9) in Window.parse(None, "-10m", now=NOW)
    assert NOW + timedelta(days=9) in Window()


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="empty window"):
        Window.parse("-10m", "-30m", now=NOW)


def test_topics_resolve_with_or_without_the_prefix_and_default_to_every_event_topic() -> None:
    assert resolve_topics(["detector.anomalies.v1"], "p.") == ["p.detector.anomalies.v1"]
    assert resolve_topics(["p.detector.anomalies.v1"], "p.") == ["p.detector.anomalies.v1"]
    every = resolve_topics([], "p.")
    assert "p.collector.metrics.v1" in every and "p.detector.state.v1" not in every  # binary: no events


@pytest.mark.parametrize("name", ["nosuch", "detector.anomalies.v2", "detector.state.v1"])
def test_an_unknown_topic_is_an_error_that_points_at_the_topic_table(name: str) -> None:
    with pytest.raises(UnknownTopic, match="incidentctl topics"):
        resolve_topics([name])


def test_events_of_several_topics_are_merged_by_event_time_within_the_window() -> None:
    # Read topic by topic (metrics first, then anomalies), as the broker hands them out.
    read = [
        Recorded(metrics(t=0), "collector.metrics.v1", 0, 0),
        Recorded(metrics(t=20), "collector.metrics.v1", 0, 1),
        Recorded(metrics(t=40), "collector.metrics.v1", 1, 0),
        Recorded(anomaly(t=10), "detector.anomalies.v1", 0, 0),
        Recorded(anomaly(t=30), "detector.anomalies.v1", 2, 0),
    ]
    merged = in_time_order(read)
    assert [r.event.time for r in merged] == [at(0), at(10), at(20), at(30), at(40)]
    assert [r.topic.split(".")[0] for r in merged] == ["collector", "detector", "collector", "detector", "collector"]
    inside = in_time_order(read, Window(at(10), at(40)))
    assert [r.event.time for r in inside] == [at(10), at(20), at(30)]


def test_equal_times_keep_a_stable_order_by_topic_partition_offset() -> None:
    a, b = Recorded(metrics(t=5), "b.topic", 0, 3), Recorded(metrics(t=5, x=1.0), "a.topic", 1, 0)
    assert in_time_order([a, b]) == [b, a]


def test_of_incident_matches_correlation_or_subject() -> None:
    item = Recorded(anomaly(t=0), "detector.anomalies.v1", 0, 0)
    assert of_incident(item, None)
    assert not of_incident(item, "inc-nope")
    assert of_incident(item, item.event.subject)
