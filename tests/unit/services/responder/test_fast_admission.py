"""The responder's way in for anomalies (``handlers.FAST_ANOMALIES``): the edge's times, the schema's events alike."""

from __future__ import annotations

import pytest

from services.responder.domain import lifecycle
from services.responder.domain.state import Book, fold_incident_event, fold_suppressed
from services.responder.handlers import FAST_ANOMALIES, anomaly_moments
from shared import events as ev
from shared.edge import observation_times
from shared.wire import decode_anomaly
from tests.fuzz_records import seed_document
from tests.unit.services.responder.helpers import anomaly, at, policy


@pytest.mark.parametrize("cls", [ev.AnomalyDetected, ev.AnomalyUpdated, ev.AnomalyResolved])
def test_the_moments_are_the_edges_observation_times(cls: type[ev.AnomalyEvent]) -> None:
    event = ev.parse_event(seed_document(cls))
    assert isinstance(event, cls)
    assert list(anomaly_moments(FAST_ANOMALIES.view(event))) == [moment for _, moment in observation_times(event)]
    view = decode_anomaly(seed_document(cls).encode())
    assert view is not None and anomaly_moments(view) == anomaly_moments(event)


def test_a_view_decides_what_the_schemas_event_decides() -> None:
    """The same anomalies, as views and as the schema's events, into two books: the same events out."""
    cleared = anomaly("api", "latency", t=2, revision=2, cls=ev.AnomalyResolved)
    events = [anomaly("api", "latency", t=0), anomaly("api", "errors", t=1), cleared, anomaly("db", "latency", t=3)]
    out: list[list[bytes]] = []
    for as_view in (False, True):
        book, encoded = Book(), []
        for event in events:
            seen = decode_anomaly(ev.encode_event(event)) if as_view else event
            assert seen is not None
            decision = lifecycle.decide_anomaly(book, seen, now=at(5), policy=policy())
            for emitted in decision.events:
                encoded.append(ev.encode_event(emitted))
                fold_incident_event(book, emitted)
            fold_suppressed(book, seen, silenced=decision.outcome.startswith("silenced"))
        out.append(encoded)
    assert out[0] == out[1]
    assert len(out[0]) >= 3
