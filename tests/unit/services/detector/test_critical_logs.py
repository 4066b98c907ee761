"""A burst of security, leak or data-loss log lines is an anomaly of that class, explained."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.detector.domain.logmining.findings import LogRecord
from services.detector.domain.logmining.patterns import PatternConfig
from services.detector.domain.logwatch import LogWatch, LogWatchConfig
from services.detector.domain.tracker import Emission, TrackerConfig
from shared.models import AnomalyKind, Impact

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = LogWatchConfig(
    patterns=PatternConfig(bucket_seconds=5, learning_seconds=15, new_template_seconds=30, spike_min_count=5),
    tracker=TrackerConfig(close_delay_s=10),
)


def record(t: float, message: str, level: str = "INFO") -> LogRecord:
    return LogRecord(T0 + timedelta(seconds=t), message, level, "demo", "h1")


def run(watch: LogWatch, burst: list[tuple[str, str]]) -> list[Emission]:
    """Ordinary traffic for 60 s; from 30 s to 40 s, ``burst`` (message, level) three times a second."""
    out: list[Emission] = []
    for s in range(0, 60):
        watch.ingest(record(s, f"GET /items/{s} 200 in {s % 7} ms"))
        if 30 <= s < 40:
            for k in range(3):
                for message, level in burst:
                    watch.ingest(record(s + k / 10, message.format(n=3 * s + k), level))
        out += watch.tick(T0 + timedelta(seconds=s + 1))
    for s in range(60, 90):
        out += watch.tick(T0 + timedelta(seconds=s))
    return out


def test_a_burst_of_unauthorized_access_is_a_security_anomaly_with_the_reason() -> None:
    out = run(LogWatch(CONFIG), [("unauthorized access to customer table", "ERROR")])
    found = [e.anomaly for e in out if "unauthorized" in e.anomaly.summary]
    assert found, [e.anomaly.summary for e in out]
    anomaly = found[-1]
    assert anomaly.kind is AnomalyKind.LOG_PATTERN and anomaly.impact is Impact.SECURITY
    assert anomaly.labels["problem"] == "security"
    assert anomaly.labels["problem_reason"].startswith(
        "security-relevant template (words: unauthorized, customer table) "
    )
    assert anomaly.summary.startswith("security-relevant template")
    assert found[0].score >= 0.9 and found[0].impact is Impact.SECURITY


def test_bulk_export_is_a_leak_and_an_io_error_burst_is_data_loss() -> None:
    out = run(
        LogWatch(CONFIG),
        [
            ("bulk export of {n} customer records to external host 10.9.9.{n}", "ERROR"),
            ("blk_update_request: I/O error, dev sda{n}, sector {n}", "ERROR"),
        ],
    )
    classes = {e.anomaly.labels.get("problem"): e.anomaly for e in out if "problem" in e.anomaly.labels}
    assert set(classes) == {"leak", "data_loss"}, [e.anomaly.summary for e in out]
    assert classes["leak"].impact is Impact.DATA_LOSS and "bulk export" in classes["leak"].labels["problem_words"]
    loss = classes["data_loss"]
    assert loss.impact is Impact.DATA_LOSS and "i/o error" in loss.labels["problem_words"]


def test_ordinary_errors_and_successful_logins_keep_their_usual_impact() -> None:
    out = run(
        LogWatch(CONFIG),
        [
            ("Unhandled error in request {n}: database timeout", "ERROR"),
            ("authentication succeeded for user u{n}", "INFO"),
        ],
    )
    assert out and all("problem" not in e.anomaly.labels for e in out)
    assert {e.anomaly.impact for e in out} == {Impact.PARTIAL_FUNCTION}


def test_classification_can_be_turned_off() -> None:
    watch = LogWatch(LogWatchConfig(patterns=CONFIG.patterns, tracker=CONFIG.tracker, critical_classes=False))
    out = run(watch, [("unauthorized access to customer table", "ERROR")])
    assert out and {e.anomaly.impact for e in out} == {Impact.PARTIAL_FUNCTION}


def test_a_new_admin_session_is_reported_at_info_level() -> None:
    out = run(LogWatch(CONFIG), [("new admin session for user u{n} from 10.0.0.{n}", "INFO")])
    found = [e.anomaly for e in out if e.anomaly.labels.get("problem") == "security"]
    assert found and found[0].impact is Impact.SECURITY, [e.anomaly.summary for e in out]
