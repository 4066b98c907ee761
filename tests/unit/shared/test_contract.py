"""Invariants of the event contract: every event has one topic, round-trips, and has stable ids."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared import events as ev
from shared import topics
from tests import factories


@pytest.mark.parametrize("event_cls", ev.ALL_EVENTS, ids=lambda c: c.__name__)
def test_every_event_type_is_on_exactly_one_topic(event_cls: type) -> None:
    owners = [t.name for t in topics.ALL_TOPICS if event_cls in t.events]
    assert len(owners) == 1, owners


def test_event_type_names_are_unique() -> None:
    assert len(ev.EVENT_TYPES) == len(ev.ALL_EVENTS)


def test_round_trip_keeps_type_and_payload() -> None:
    event = factories.anomaly(score=0.7)
    parsed = ev.parse_event(ev.encode_event(event))
    assert type(parsed) is ev.AnomalyDetected
    assert parsed == event


def test_encoding_is_the_compact_json_of_the_event_without_nones() -> None:
    events = [factories.anomaly(score=0.7), factories.metrics("svc", cpu=1.5)]
    events.append(factories.anomaly(score=0.1).model_copy(update={"subject": "cafe-\u00e9-\u2603-\U0001f525"}))
    for event in events:
        assert ev.encode_event(event) == event.model_dump_json(exclude_none=True).encode()


def test_derived_ids_are_deterministic_and_distinct() -> None:
    a, b = factories.anomaly(t=1), factories.anomaly(t=2)
    assert a.id == b.id  # same episode, same revision, same type: same fact
    assert factories.anomaly(revision=2).id != a.id
    assert factories.anomaly(cls=ev.AnomalyResolved).id != a.id


def test_causation_and_correlation_are_inherited() -> None:
    cause = factories.anomaly()
    child = ev.FaultInjected.create(
        ev.FaultInjected.model_fields["data"].annotation(fault="crash", target="demo"),  # type: ignore[misc]
        source="/tests",
        id_parts=("x",),
        causation=cause,
        correlationid="inc-1",
    )
    assert child.causationid == cause.id and child.correlationid == "inc-1"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"{}",
        b'{"specversion": "1.0", "type": "dev.incidentctl.nope", "id": "1"}',
        b'{"specversion":"1.0","id":"1","source":"/x","type":"dev.incidentctl.anomaly.detected","time":"2026-01-01T00:00:00Z","data":{}}',
    ],
)
def test_malformed_events_are_rejected_with_a_validation_error(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        ev.parse_event(raw)


def test_unknown_fields_are_tolerated() -> None:
    raw = ev.encode_event(factories.anomaly()).replace(b'"specversion"', b'"x_new_field":1,"specversion"')
    assert ev.parse_event(raw).data.signal == "cpu_percent"


def test_topic_names_follow_the_convention() -> None:
    for t in topics.ALL_TOPICS:
        domain, facts, version = t.name.split(".")
        assert version.startswith("v") and domain and facts


def test_only_topics_a_consumer_group_reads_have_a_dead_letter_topic() -> None:
    with_dlq = {t.name for t in topics.ALL_TOPICS if t.has_dlq}
    assert topics.RCA.name not in with_dlq and topics.CHAOS.name not in with_dlq
    assert {topics.METRICS.name, topics.ANOMALIES.name, topics.INCIDENTS.name, topics.HEARTBEATS.name} <= with_dlq
