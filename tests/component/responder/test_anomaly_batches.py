"""Anomalies a fetch at a time: one decision per anomaly, in order, also when the bus runs the batch again."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from aiokafka import ConsumerRecord

from services.responder.core import Responder
from services.responder.handlers import register
from services.responder.notify.sender import Sender
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import models as m
from shared.edge import Refused, admit
from shared.runtime import Service
from shared.topics import ANOMALIES, INCIDENTS
from tests.component.harness import BusHarness
from tests.unit.services.responder.helpers import anomaly, at, policy

pytestmark = pytest.mark.component


async def start(harness: BusHarness) -> Responder:
    settings = ResponderSettings()
    service = Service.create("responder", settings)
    core = Responder(service.bus, policy(), Sender({}), clock=lambda: at(0))
    register(service, core, settings)
    await harness.attach(service.bus)
    return core


def summary(harness: BusHarness) -> list[tuple[str, str]]:
    return [(e.type.rsplit(".", 1)[-1], e.data.incident.target) for e in harness.published(INCIDENTS)]


async def test_a_fetch_gives_what_one_fetch_per_anomaly_gives(harness: BusHarness) -> None:
    """Opened, joined, revised, resolved: the same events, ids included, as one fetch per anomaly."""
    anomalies = [
        anomaly("api", "latency", t=0),
        anomaly("api", "errors", t=1, impact=m.Impact.PARTIAL_OUTAGE),
        anomaly("api", "latency", t=2, revision=2, cls=ev.AnomalyUpdated),
        anomaly("db", "latency", t=2),
        anomaly("api", "errors", t=3, revision=2, cls=ev.AnomalyResolved, impact=m.Impact.PARTIAL_OUTAGE),
    ]
    await start(harness)
    await harness.feed(ANOMALIES, *anomalies)
    async with BusHarness() as apart:
        await start(apart)
        for event in anomalies:
            await apart.feed(ANOMALIES, event)
        expected = [(e.type, e.id) for e in apart.published(INCIDENTS)]
    assert [(e.type, e.id) for e in harness.published(INCIDENTS)] == expected
    assert len(expected) >= 4


async def test_a_batch_run_again_after_a_failure_decides_nothing_twice(harness: BusHarness) -> None:
    """The third decision's event cannot be sent once: the bus runs the batch again, which only retries that one.

    Deciding the first anomaly again would fire its cleared signal once more.
    """
    core = await start(harness)
    sends = 0

    async def second_send_fails() -> None:
        nonlocal sends
        sends += 1
        if sends == 3:
            raise RuntimeError("transient failure while sending")

    harness.on_publish(INCIDENTS, second_send_fails)
    cleared = anomaly("a", t=1, revision=2, cls=ev.AnomalyResolved)
    await harness.feed(ANOMALIES, anomaly("a", t=0), cleared, anomaly("b", t=0))
    assert summary(harness) == [("opened", "a"), ("updated", "a"), ("opened", "b")]
    assert len(core.book.incidents) == 2


async def test_a_record_the_edge_refuses_is_dead_lettered_with_its_reason_and_the_rest_decided(
    harness: BusHarness,
) -> None:
    """Refused records (schema, topic, time) among good ones: each dead letter gives the edge's reason."""
    await start(harness)
    good = anomaly("a", t=0)
    doc = json.loads(ev.encode_event(good))
    future = json.dumps(doc | {"id": "ahead", "time": "2099-01-01T00:00:00Z"}).encode()
    bad_score = json.dumps(doc | {"id": "bad-score", "data": doc["data"] | {"score": 2}}).encode()
    foreign = ev.encode_event(ev.MetricsObserved.create(
        m.MetricsObserved(target="a", host="h", observed_at=at(0), interval_s=2.0, samples=()),
        source="/test", id_parts=("x",), time=at(0),
    ))  # fmt: skip
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    refused = [b"\xff", future, bad_score, foreign]
    records = [ConsumerRecord(ANOMALIES.name, 0, i, now_ms, 0, b"a", raw, None, len(raw), 1, [])
               for i, raw in enumerate(refused)]  # fmt: skip
    await harness.deliver(ANOMALIES, records)
    await harness.feed(ANOMALIES, good)
    settings = ResponderSettings()
    expected = []
    for raw in refused:
        verdict = admit(raw, now_ms, allowed=ANOMALIES.events, now=datetime.now(UTC), max_skew=settings.max_event_skew)
        assert isinstance(verdict, Refused)
        expected.append(verdict.reason)
    reasons = [dict(r.headers)["dlq_reason"].decode() for r in harness.dead_letters(ANOMALIES)]
    assert [r.split(" after the record's")[0] for r in reasons] == [r.split(" after the record's")[0] for r in expected]
    assert summary(harness) == [("opened", "a")]
