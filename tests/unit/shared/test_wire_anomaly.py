"""The fast anomaly decoder against the schema: it admits only what the schema admits, with the same values."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest
from hypothesis import given
from pydantic import ValidationError

from shared import events as ev
from shared import models as m
from shared.edge import Admitted, admit, credible
from shared.topics import ANOMALIES
from shared.wire import AnomalyEvent, decode_anomaly
from tests.fuzz_records import NOW, record_times, records, seed_document

SKEW = timedelta(minutes=5)


def assert_same(view: AnomalyEvent, event: ev.Event) -> None:
    """Every field equal, of the same type (``97`` is the float ``97.0`` both ways), label order included."""
    assert isinstance(event, ev.AnomalyDetected | ev.AnomalyUpdated | ev.AnomalyResolved)
    envelope = ("id", "type", "time", "subject", "correlationid", "causationid")
    assert [getattr(view, name) for name in envelope] == [getattr(event, name) for name in envelope]
    for name in m.Anomaly.model_fields:
        mine, theirs = getattr(view.data, name), getattr(event.data, name)
        assert (mine, type(mine)) == (theirs, type(theirs)), name
    assert list(view.data.labels.items()) == list(event.data.labels.items())
    for moment in (view.time, view.data.since, view.data.last_seen):
        assert moment.tzinfo is UTC


@given(raw=records(ANOMALIES), record_time_ms=record_times())
def test_what_the_fast_path_admits_the_schema_admits_alike(raw: bytes, record_time_ms: int | None) -> None:
    view = decode_anomaly(raw)
    if view is None:
        return
    assert_same(view, ev.parse_event(raw))
    verdict = admit(raw, record_time_ms, allowed=ANOMALIES.events, now=NOW, max_skew=SKEW)
    fast = credible((view.time, view.data.since, view.data.last_seen), record_time_ms, now=NOW, max_skew=SKEW)
    assert fast == isinstance(verdict, Admitted)


def document(**data: object) -> dict[str, object]:
    doc = json.loads(seed_document(ev.AnomalyDetected))
    doc["data"] |= data
    return doc


@pytest.mark.parametrize("cls", [ev.AnomalyDetected, ev.AnomalyUpdated, ev.AnomalyResolved])
@pytest.mark.parametrize(
    "data",
    [
        {},
        {"since": "2026-06-01T21:00:00.5+09:00", "last_seen": "2026-06-01T12:00:00Z"},
        {"observed": 97, "expected": None, "score": 0},  # an integer where a float goes: the float both ways
        {"labels": {"b": "1", "a": "2"}},
    ],
)
def test_a_valid_anomaly_takes_the_fast_path(cls: type[ev.AnomalyEvent], data: dict[str, object]) -> None:
    doc = json.loads(seed_document(cls))
    doc["data"] |= data
    raw = json.dumps(doc).encode()
    view = decode_anomaly(raw)
    assert view is not None and view.type == cls.event_type
    assert_same(view, ev.parse_event(raw))


def test_absent_fields_take_the_schemas_defaults() -> None:
    doc = document()
    for name in ("host", "observed", "expected", "threshold", "unit", "direction", "revision", "labels", "samples"):
        doc["data"].pop(name, None)  # type: ignore[attr-defined]
    for name in ("subject", "correlationid", "causationid", "specversion", "datacontenttype", "schemaversion"):
        doc.pop(name, None)
    raw = json.dumps(doc).encode()
    view = decode_anomaly(raw)
    assert view is not None
    assert_same(view, ev.parse_event(raw))


def test_a_repeated_label_keeps_its_place_and_last_value_as_the_schema() -> None:
    raw = json.dumps(document(labels={})).encode().replace(b'"labels": {}', b'"labels": {"a": "1", "b": "2", "a": "3"}')
    view = decode_anomaly(raw)
    assert view is not None and dict(view.data.labels) == {"a": "3", "b": "2"}
    assert_same(view, ev.parse_event(raw))


@pytest.mark.parametrize(
    "data",
    [
        {"since": "2026-06-01T12:00:00.1234567Z"},  # the schema truncates to microseconds, msgspec rounds
        {"last_seen": "2026-06-01 12:00:00Z"},  # another spelling: the schema judges it
        {"since": "2026-06-01T12:00:00"},  # no zone: the schema refuses it
        {"target": "dé mo"},  # multi-byte text
        {"target": "de\\u006do"},  # an escape
        {"target": "de\x7fmo"},  # a control character the schema refuses
        {"target": "x" * (m.MAX_ID + 1)},
        {"anomaly_id": " an-1"},
        {"score": 1.5},
        {"score": "0.5"},  # the schema's lax number: it decides
        {"revision": 2.0},
        {"observed": 1e400},
        {"observed": True},
        {"kind": "unknown"},
        {"impact": "SERVICE_DOWN"},
        {"labels": {"k": 1}},
        {"host": None},
        {"summary": "x" * (m.MAX_TEXT + 1)},
    ],
)
def test_what_it_is_not_sure_of_goes_the_schemas_way(data: dict[str, object]) -> None:
    raw = json.dumps(document(**data), ensure_ascii=False).encode().replace(b"\\\\u006d", b"\\u006d")
    assert decode_anomaly(raw) is None


def test_a_raw_control_character_is_not_decoded() -> None:
    raw = json.dumps(document(target="demo")).encode().replace(b'"demo"', b'"de\x01mo"')
    assert decode_anomaly(raw) is None
    with pytest.raises(ValidationError):
        ev.parse_event(raw)


@pytest.mark.parametrize(
    "field,value",
    [("id", ""), ("id", " bad"), ("type", "dev.incidentctl.metrics.observed"), ("type", "dev.incidentctl.x")],
)
def test_an_envelope_the_schema_refuses_here_is_not_decoded(field: str, value: str) -> None:
    doc = document()
    doc[field] = value
    raw = json.dumps(doc).encode()
    assert decode_anomaly(raw) is None
    verdict = admit(raw, None, allowed=ANOMALIES.events, now=NOW, max_skew=SKEW)
    assert not isinstance(verdict, Admitted)
