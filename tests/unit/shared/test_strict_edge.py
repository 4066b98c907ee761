"""The strict contract and the edge check: the poison events of issue 11 never pass."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.detector.domain.target import DetectionConfig, TargetDetector
from shared import events as ev
from shared import models as m
from shared.edge import check_event, check_record_time
from shared.settings import ServiceSettings
from tests.factories import anomaly, at, metrics
from tests.unit.services.responder.api.builders import incident, transition

SKEW = timedelta(minutes=5)
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def tampered(event: ev.Envelope[Any], path: tuple[str, ...], value: object) -> bytes:
    """The event's JSON with the field at ``path`` replaced (as a careless or hostile producer would)."""
    doc = json.loads(ev.encode_event(event))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return json.dumps(doc).encode()


def silence_created() -> ev.SilenceCreated:
    data = m.Silence(silence_id="sil-1", matchers={"service": "demo"}, starts_at=at(0), ends_at=at(600),
                     author="bob", reason="deploy")  # fmt: skip
    return ev.SilenceCreated.create(data, source="/tests", id_parts=("sil-1",), time=at(0))


def test_a_silence_with_a_zone_less_start_is_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        ev.parse_event(tampered(silence_created(), ("data", "starts_at"), "2026-01-01T12:00:00"))


def test_an_incident_resolved_with_a_zone_less_opened_at_is_rejected() -> None:
    resolved = transition(ev.IncidentResolved, incident(), t=10)
    with pytest.raises(ValidationError, match="timezone"):
        ev.parse_event(tampered(resolved, ("data", "incident", "opened_at"), "2026-01-01T12:00:00"))


def test_metrics_dated_9999_pass_the_schema_but_not_the_edge() -> None:
    scrape = metrics(t=0, cpu_percent=1.0)
    raw = tampered(scrape, ("data", "observed_at"), "9999-01-01T00:00:00Z")
    event = ev.parse_event(raw)
    reason = check_event(event, NOW_MS, now=NOW, max_skew=SKEW)
    assert reason is not None and reason.startswith("data.observed_at") and "after the record" in reason
    envelope_only = ev.parse_event(tampered(scrape, ("time",), "9999-01-01T00:00:00Z"))
    assert (check_event(envelope_only, NOW_MS, now=NOW, max_skew=SKEW) or "").startswith("time:")


def test_a_forged_future_broker_time_is_caught_by_the_consumer_clock() -> None:
    event = ev.parse_event(tampered(metrics(t=0, cpu_percent=1.0), ("data", "observed_at"), "9999-01-01T00:00:00Z"))
    forged_ms = int(datetime(9999, 1, 1, tzinfo=UTC).timestamp() * 1000)
    assert check_event(event, forged_ms, now=NOW, max_skew=SKEW) is not None
    assert check_event(event, None, now=NOW, max_skew=SKEW) is not None


def test_past_times_pass_unless_an_age_bound_is_set() -> None:
    old = metrics(t=-86400 * 30, cpu_percent=1.0)  # a replay or a re-driven dead letter
    assert check_event(old, NOW_MS, now=NOW, max_skew=SKEW) is None
    reason = check_event(old, NOW_MS, now=NOW, max_skew=SKEW, max_age=timedelta(days=7))
    assert reason is not None and "older than" in reason


def test_a_silence_window_in_the_future_is_lawful() -> None:
    data = m.Silence(silence_id="sil-2", matchers={"a": "b"}, starts_at=NOW + timedelta(days=3),
                     ends_at=NOW + timedelta(days=4), author="bob", reason="planned")  # fmt: skip
    event = ev.SilenceCreated.create(data, source="/tests", id_parts=("sil-2",), time=NOW)
    assert check_event(event, NOW_MS, now=NOW, max_skew=SKEW) is None


@pytest.mark.parametrize(
    ("event_time", "expected"),
    [
        (NOW + timedelta(minutes=4), None),
        (NOW + timedelta(minutes=6), "after the record"),
        (NOW - timedelta(days=365), None),
        (datetime(9999, 1, 1, tzinfo=UTC), "after the record"),
        (datetime(2026, 1, 1, 12, 0), "no timezone"),
    ],
)
def test_check_record_time(event_time: datetime, expected: str | None) -> None:
    reason = check_record_time(event_time, NOW_MS, max_skew=SKEW)
    assert (reason is None) if expected is None else (expected in (reason or ""))


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_rejected(bad: str) -> None:
    raw = tampered(metrics(t=0, cpu_percent=1.0), ("data", "interval_s"), 0.0).replace(
        b'"interval_s": 0.0', f'"interval_s": {bad}'.encode()
    )
    with pytest.raises(ValidationError):
        ev.parse_event(raw)
    sample = tampered(metrics(t=0, cpu_percent=1.0), ("data", "samples"), [{"name": "x", "value": 1.0}])
    with pytest.raises(ValidationError):
        ev.parse_event(sample.replace(b'"value": 1.0', f'"value": {bad}'.encode()))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("data", "summary"), "x" * (m.MAX_TEXT + 1)),
        (("data", "samples"), ["line"] * (m.MAX_ITEMS + 1)),
        (("data", "labels"), {f"k{i}": "v" for i in range(m.MAX_ITEMS + 1)}),
        (("data", "target"), "demo\nConsole: http://evil.example/"),
        (("data", "target"), "t" * (m.MAX_ID + 1)),
        (("data", "anomaly_id"), "../../../x"),
        (("id",), ""),
    ],
)
def test_oversized_and_malformed_fields_are_rejected(path: tuple[str, ...], value: object) -> None:
    with pytest.raises(ValidationError):
        ev.parse_event(tampered(anomaly(t=0), path, value))


@pytest.mark.parametrize("incident_id", ["../../../x", "/etc/passwd", "a/b", "..", ".hidden", "inc 1", "inc\x00"])
def test_incident_ids_that_could_name_other_files_are_rejected(incident_id: str) -> None:
    resolved = transition(ev.IncidentResolved, incident(), t=10)
    with pytest.raises(ValidationError):
        ev.parse_event(tampered(resolved, ("data", "incident", "incident_id"), incident_id))


def test_times_with_an_offset_are_normalised_to_utc() -> None:
    event = ev.parse_event(tampered(silence_created(), ("data", "starts_at"), "2026-01-01T21:00:00+09:00"))
    assert event.data.starts_at == at(0) and event.data.starts_at.utcoffset() == timedelta(0)


def test_the_skew_settings_have_safe_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ServiceSettings()
    assert settings.max_event_skew == timedelta(seconds=300) and settings.max_event_age is None
    monkeypatch.setenv("EVENT_MAX_SKEW_S", "60")
    monkeypatch.setenv("EVENT_MAX_AGE_S", "86400")
    tuned = ServiceSettings()
    assert (tuned.max_event_skew, tuned.max_event_age) == (timedelta(seconds=60), timedelta(days=1))


def test_a_far_future_scrape_never_blinds_the_detector() -> None:
    detector = TargetDetector("demo", DetectionConfig())
    received = at(0)
    future = m.MetricsObserved(target="demo", host="h", observed_at=datetime(9999, 1, 1, tzinfo=UTC),
                               interval_s=1.0, samples=(m.MetricSample(name="process.up", value=1.0),))  # fmt: skip
    assert detector.observe(future, received_at=received) == []
    assert detector.last_observed is None
    detector.last_observed = datetime(9999, 1, 1, tzinfo=UTC)  # as restored from a checkpoint taken before the fix
    emissions = []
    for t in range(1, 25):
        scrape = metrics(t=t, **{"process.up": 0.0}).data
        emissions += detector.observe(scrape, received_at=at(t))
    assert any(e.anomaly.signal == "process.up" for e in emissions), "a real crash must still be detected"


def _scan(
    event: ev.Event, record_ms: int | None, *, now: datetime, max_skew: timedelta, max_age: timedelta | None
) -> str | None:
    """``check_event`` as specified: every observation time against each reference, one by one."""
    from shared.edge import observation_times

    for name, moment in observation_times(event):
        for reference in (record_ms, int(now.timestamp() * 1000)):
            if (reason := check_record_time(moment, reference, max_skew=max_skew)) is not None:
                return f"{name}: {reason}"
        if max_age is not None:
            reason = check_record_time(moment, record_ms, max_skew=max_skew, max_age=max_age)
            if reason is not None:
                return f"{name}: {reason}"
    return None


@pytest.mark.parametrize("max_age", [None, timedelta(hours=1)])
@pytest.mark.parametrize("record_offset_s", [None, -7200.0, -301.0, 0.0, 299.0, 301.0, 7200.0])
@pytest.mark.parametrize("now_offset_s", [-400.0, 0.0, 400.0])
def test_the_fast_verdict_equals_the_scan(
    max_age: timedelta | None, record_offset_s: float | None, now_offset_s: float
) -> None:
    """The shortcut of ``check_event`` for credible events gives the scan's answer (nested payloads, both clocks)."""
    events: list[ev.Event] = [
        metrics(t=0.0),
        anomaly(t=0.0),
        anomaly(t=-3600.0),
        transition(ev.IncidentOpened, incident(t=-900.0), t=0.0),
        silence_created(),
    ]
    for event in events:
        record_ms = None if record_offset_s is None else int((at(0.0).timestamp() + record_offset_s) * 1000)
        now = at(0.0) + timedelta(seconds=now_offset_s)
        expected = _scan(event, record_ms, now=now, max_skew=SKEW, max_age=max_age)
        assert check_event(event, record_ms, now=now, max_skew=SKEW, max_age=max_age) == expected
