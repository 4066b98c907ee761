"""Log records -> one LOG_PATTERN anomaly per burst, with template, samples and counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.detector.domain.logmining.findings import LogRecord
from services.detector.domain.logmining.patterns import PatternConfig
from services.detector.domain.logwatch import LogWatch, LogWatchConfig
from services.detector.domain.tracker import Change, Emission, TrackerConfig
from shared.models import AnomalyKind, Impact

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = LogWatchConfig(
    patterns=PatternConfig(bucket_seconds=5, learning_seconds=15, new_template_seconds=30, spike_min_count=5),
    tracker=TrackerConfig(close_delay_s=10),
)


def info(t: float, i: int) -> LogRecord:
    return LogRecord(T0 + timedelta(seconds=t), f"GET /items/{i} 200 in {i % 7} ms", "INFO", "demo", "h1")


def error(t: float, i: int) -> LogRecord:
    return LogRecord(
        T0 + timedelta(seconds=t),
        f"Unhandled error in request {1000 + i}: database timeout\nTraceback ...",
        "ERROR",
        "demo",
        "h1",
    )


def run_burst(watch: LogWatch) -> list[Emission]:
    out: list[Emission] = []
    for s in range(0, 60):
        watch.ingest(info(s, s))
        if 30 <= s < 40:
            for k in range(3):
                watch.ingest(error(s + k / 10, 3 * s + k))
        out += watch.tick(T0 + timedelta(seconds=s + 1))
    for s in range(60, 90):
        out += watch.tick(T0 + timedelta(seconds=s))
    return out


def test_an_error_burst_is_one_anomaly_with_template_samples_and_counts() -> None:
    out = run_burst(LogWatch(CONFIG))
    errors = [e for e in out if "error" in e.anomaly.summary.lower()]
    assert errors, [e.anomaly.summary for e in out]
    assert len({e.anomaly.anomaly_id for e in errors}) == 1
    assert errors[0].change is Change.DETECTED and errors[-1].change is Change.RESOLVED
    anomaly = errors[-1].anomaly
    assert anomaly.kind is AnomalyKind.LOG_PATTERN and anomaly.impact is Impact.PARTIAL_FUNCTION
    assert anomaly.target == "demo" and anomaly.signal.startswith("log:")
    assert "database timeout" in anomaly.labels["template"]
    assert anomaly.samples and all("database timeout" in s for s in anomaly.samples)
    assert int(anomaly.labels["count"]) >= 5
    assert all(e.anomaly.signal == anomaly.signal for e in errors)


def test_info_lines_alone_raise_nothing() -> None:
    watch = LogWatch(CONFIG)
    out: list[Emission] = []
    for s in range(0, 90):
        watch.ingest(info(s, s))
        out += watch.tick(T0 + timedelta(seconds=s + 1))
    assert out == []


def test_state_round_trip_keeps_template_ids_cursor_and_open_episodes() -> None:
    watch = LogWatch(CONFIG)
    out: list[Emission] = []
    for s in range(0, 36):
        watch.ingest(info(s, s))
        if s >= 30:
            for k in range(3):
                watch.ingest(error(s + k / 10, 3 * s + k))
        out += watch.tick(T0 + timedelta(seconds=s + 1))
    assert watch.episodes
    restored = LogWatch.loads(watch.dumps(), CONFIG)
    assert restored.cursor == watch.cursor and set(restored.episodes) == set(watch.episodes)
    same = restored.miner.add(error(0, 1).message)
    assert same.template_id == watch.miner.add(error(0, 2).message).template_id
    later = [e for s in range(36, 120) for e in restored.tick(T0 + timedelta(seconds=s))]
    assert [e.change for e in later] == [Change.RESOLVED]
    assert later[0].anomaly.anomaly_id == out[0].anomaly.anomaly_id


def test_a_burst_longer_than_the_new_template_window_stays_one_anomaly_until_its_lines_stop() -> None:
    watch = LogWatch(CONFIG)
    out: list[Emission] = []
    for s in range(0, 150):
        watch.ingest(info(s, s))
        if 30 <= s < 100:
            watch.ingest(error(s + 0.5, s))
        out += watch.tick(T0 + timedelta(seconds=s + 1))
    errors = [e for e in out if "database timeout" in e.anomaly.summary]
    assert [e.change for e in errors if e.change is not Change.UPDATED] == [Change.DETECTED, Change.RESOLVED]
    resolved = errors[-1].anomaly
    assert resolved.last_seen >= T0 + timedelta(seconds=99)
    assert int(resolved.labels["count"]) >= 60
