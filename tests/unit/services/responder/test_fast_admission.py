"""The responder's way in for anomalies (``handlers.FAST_ANOMALIES``): what it admits, the edge admits alike."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given

from services.responder.handlers import anomaly_moments, parsed_anomaly
from shared import events as ev
from shared.edge import Admitted, Refused, admit, credible, observation_times
from shared.topics import ANOMALIES
from tests.fuzz_records import NOW, NOW_MS, record_times, records, seed_document

SKEW = timedelta(minutes=5)


@given(raw=records(ANOMALIES), record_time_ms=record_times())
def test_what_the_fast_way_admits_the_edge_admits_with_equal_values(raw: bytes, record_time_ms: int | None) -> None:
    verdict = admit(raw, record_time_ms, allowed=ANOMALIES.events, now=NOW, max_skew=SKEW)
    event = parsed_anomaly(raw)
    if event is None:
        assert isinstance(verdict, Refused) or not isinstance(verdict.event, ANOMALIES.events)
        return
    fast = credible(anomaly_moments(event), record_time_ms, now=NOW, max_skew=SKEW)
    assert fast == isinstance(verdict, Admitted)
    if isinstance(verdict, Admitted):
        assert verdict.event == event
        assert type(verdict.event) is type(event)


@pytest.mark.parametrize("cls", [ev.AnomalyDetected, ev.AnomalyUpdated, ev.AnomalyResolved])
def test_the_moments_are_the_edges_observation_times(cls: type[ev.AnomalyEvent]) -> None:
    event = parsed_anomaly(seed_document(cls).encode())
    assert event is not None and type(event) is cls
    assert list(anomaly_moments(event)) == [moment for _, moment in observation_times(event)]


@pytest.mark.parametrize(
    "raw",
    [
        seed_document(ev.IncidentOpened).encode(),  # valid, but no anomaly: "does not belong on this topic"
        seed_document(ev.MetricsObserved).encode(),
        b'{"not": "an event"}',
        b"\xff\xfe",
        b"",
        json.dumps(json.loads(seed_document(ev.AnomalyDetected)) | {"id": ""}).encode(),
    ],
)
def test_what_the_edge_refuses_is_left_to_it(raw: bytes) -> None:
    assert parsed_anomaly(raw) is None
    assert isinstance(admit(raw, NOW_MS, allowed=ANOMALIES.events, now=NOW, max_skew=SKEW), Refused)


def test_a_score_out_of_range_is_left_to_the_edge() -> None:
    doc = json.loads(seed_document(ev.AnomalyDetected))
    doc["data"]["score"] = 2
    raw = json.dumps(doc).encode()
    assert parsed_anomaly(raw) is None
    verdict = admit(raw, NOW_MS, allowed=ANOMALIES.events, now=NOW, max_skew=SKEW)
    assert isinstance(verdict, Refused) and "score" in verdict.reason
