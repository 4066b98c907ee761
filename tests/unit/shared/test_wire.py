"""The fast scrape decoder against the schema: it admits only what the schema admits, with the same values."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest
from hypothesis import given
from pydantic import ValidationError

from shared import events as ev
from shared import models as m
from shared.edge import Admitted, admit, credible
from shared.topics import METRICS
from shared.wire import ScrapeEvent, decode_scrape, values_of
from tests.fuzz_records import NOW, record_times, records, seed_document

SKEW = timedelta(minutes=5)


def assert_same(view: ScrapeEvent, event: ev.Event) -> None:
    assert isinstance(event, ev.MetricsObserved)
    envelope = (event.id, event.type, event.time, event.correlationid)
    assert (view.id, view.type, view.time, view.correlationid) == envelope
    data = event.data
    scrape = view.data
    assert (scrape.target, scrape.host, scrape.observed_at, scrape.interval_s) == (
        data.target,
        data.host,
        data.observed_at,
        data.interval_s,
    )
    for moment in (view.time, scrape.observed_at):
        assert moment.tzinfo is UTC
    assert [(s.name, s.value, s.unit, s.labels) for s in scrape.samples] == [
        (s.name, s.value, s.unit, s.labels) for s in data.samples
    ]
    assert scrape.values == values_of(data.samples)


@given(raw=records(METRICS), record_time_ms=record_times())
def test_what_the_fast_path_admits_the_schema_admits_alike(raw: bytes, record_time_ms: int | None) -> None:
    view = decode_scrape(raw)
    if view is None:
        return
    assert_same(view, ev.parse_event(raw))
    verdict = admit(raw, record_time_ms, allowed=METRICS.events, now=NOW, max_skew=SKEW)
    fast = credible((view.time, view.data.observed_at), record_time_ms, now=NOW, max_skew=SKEW)
    assert fast == isinstance(verdict, Admitted)


def scrape(**data: object) -> dict[str, object]:
    doc = json.loads(seed_document(ev.MetricsObserved))
    doc["data"] |= data
    return doc


@pytest.mark.parametrize("observed_at", ["2026-06-01T21:00:00.5+09:00", "2026-06-01T12:00:00Z"])
def test_a_valid_scrape_takes_the_fast_path(observed_at: str) -> None:
    raw = json.dumps(scrape(observed_at=observed_at) | {"time": observed_at}).encode()
    view = decode_scrape(raw)
    assert view is not None
    assert_same(view, ev.parse_event(raw))


@pytest.mark.parametrize(
    "data",
    [
        {"observed_at": "2026-06-01T12:00:00.1234567Z"},  # the schema truncates to microseconds, msgspec rounds
        {"observed_at": "2026-06-01 12:00:00Z"},  # another spelling: the schema judges it
        {"observed_at": "2026-06-01T12:00:00"},  # no zone: the schema refuses it
        {"target": "dé mo"},  # multi-byte text
        {"target": "de\\u006do"},  # an escape
        {"target": "de\x7fmo"},  # a control character the schema refuses
        {"target": "x" * (m.MAX_ID + 1)},
        {"interval_s": "2"},  # the schema's lax number: it decides
        {"samples": [{"name": "cpu", "value": 1e400}]},
        {"samples": [{"name": "cpu", "value": True}]},
        {"samples": [{"name": "cpu", "value": 1.0, "labels": {"k": 1}}]},
    ],
)
def test_what_it_is_not_sure_of_goes_the_schemas_way(data: dict[str, object]) -> None:
    doc = scrape(**data)
    raw = json.dumps(doc, ensure_ascii=False).encode().replace(b"\\\\u006d", b"\\u006d")
    assert decode_scrape(raw) is None


def test_a_raw_control_character_is_not_decoded() -> None:
    raw = json.dumps(scrape(target="demo")).encode().replace(b'"demo"', b'"de\x01mo"')
    assert decode_scrape(raw) is None
    with pytest.raises(ValidationError):
        ev.MetricsObserved.model_validate_json(raw)


@pytest.mark.parametrize("field,value", [("id", ""), ("id", " bad"), ("type", "dev.incidentctl.anomaly.detected")])
def test_an_envelope_the_schema_refuses_is_not_decoded(field: str, value: str) -> None:
    doc = scrape()
    doc[field] = value
    raw = json.dumps(doc).encode()
    assert decode_scrape(raw) is None
    with pytest.raises(ValidationError):
        ev.MetricsObserved.model_validate_json(raw)


def test_a_scrape_reads_the_unlabelled_sample_of_a_metric_first() -> None:
    samples = [
        {"name": "cpu", "value": 1.0, "labels": {"core": "0"}},
        {"name": "cpu", "value": 2.0},
        {"name": "mem", "value": 3.0, "labels": {"kind": "rss"}},
    ]
    raw = json.dumps(scrape(samples=samples)).encode()
    view = decode_scrape(raw)
    assert view is not None
    assert view.data.values == {"cpu": 2.0, "mem": 3.0}
    assert_same(view, ev.parse_event(raw))
