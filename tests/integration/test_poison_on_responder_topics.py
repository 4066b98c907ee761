"""Poison records already on the responder's own topics: start-up skips (and dead-letters) them and works on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.responder.app import build
from shared import events as ev
from shared import models as m
from shared.events import encode_event
from shared.replay import read_to_end
from shared.runtime import Service
from shared.topic_admin import ensure_topics
from shared.topics import ANOMALIES, INCIDENTS, SILENCES
from tests.integration.responder_support import (
    responder_settings,
    storm_anomaly,
    topic_events,
    webhook_receiver,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def tampered(event: ev.Envelope[Any], path: tuple[str, ...], value: object) -> bytes:
    doc = json.loads(encode_event(event))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return json.dumps(doc).encode()


def poison_events(now: datetime) -> dict[str, list[bytes]]:
    """The three poison events of issue 11 that concern the responder, as raw records per topic."""
    silence = m.Silence(silence_id="sil-poison", matchers={"service": "demo"}, starts_at=now,
                        ends_at=now + timedelta(hours=1), author="x", reason="x")  # fmt: skip
    created = ev.SilenceCreated.create(silence, source="/tests", id_parts=("sil-poison",), time=now)
    inc = m.Incident(incident_id="inc-poison", group_key="service=other", target="other", title="t",
                     severity=m.Severity.MINOR, severity_reason="r", status=m.IncidentStatus.RESOLVED,
                     opened_at=now)  # fmt: skip
    resolved = ev.IncidentResolved.create(m.IncidentTransition(incident=inc, reason="r"), source="/tests",
                                          id_parts=("inc-poison",), time=now)  # fmt: skip
    future = ev.IncidentOpened.create(
        m.IncidentTransition(incident=inc.model_copy(update={"status": m.IncidentStatus.TRIGGERED}), reason="r"),
        source="/tests", id_parts=("inc-future",), time=datetime(9999, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    return {
        SILENCES.name: [tampered(created, ("data", "starts_at"), now.replace(tzinfo=None).isoformat())],
        INCIDENTS.name: [
            tampered(resolved, ("data", "incident", "opened_at"), now.replace(tzinfo=None).isoformat()),
            encode_event(future),
        ],
    }


@pytest.fixture
async def producer(kafka_bootstrap: str, unique: str) -> AsyncIterator[Service]:
    with webhook_receiver() as receiver:
        settings = responder_settings(kafka_bootstrap, unique, receiver)
    await ensure_topics(settings)
    service = Service.create("test-producer", settings)
    await service.broker.start()
    yield service
    await service.broker.stop()


async def dead_letters(bootstrap: str, name: str) -> list[dict[str, str]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return [{k: v.decode() for k, v in r.headers} async for r in read_to_end(consumer, [TopicPartition(name, 0)])]
    finally:
        await consumer.stop()


async def test_poison_records_do_not_stop_the_responder_and_incidents_still_open(
    kafka_bootstrap: str, unique: str, producer: Service
) -> None:
    prefix = producer.settings.topic_prefix
    for topic, records in poison_events(datetime.now(UTC)).items():
        for raw in records:
            await producer.broker.publish(raw, prefix + topic, key=b"poison")
    with webhook_receiver() as receiver:
        settings = responder_settings(kafka_bootstrap, unique, receiver)
        runtime = build(settings)
        await runtime.start()  # failed with "Application startup failed" before the strict edge
        try:
            assert "inc-future" not in runtime.responder.book.incidents
            assert runtime.responder.book.silences == {}
            letters = await dead_letters(kafka_bootstrap, prefix + INCIDENTS.dlq)
            assert any("after the record" in h.get("dlq_reason", "") for h in letters), letters
            anomaly = storm_anomaly(1, target="demo")
            await producer.broker.publish(encode_event(anomaly), prefix + ANOMALIES.name, key=b"demo")
            opened: list[ev.Envelope[Any]] = []
            for _ in range(300):  # up to ~30 s
                opened = [e for e in await topic_events(settings, INCIDENTS) if isinstance(e, ev.IncidentOpened)]
                if any(e.data.incident.target == "demo" for e in opened):
                    break
                await asyncio.sleep(0.1)
            assert any(e.data.incident.target == "demo" for e in opened), "a real anomaly must still open an incident"
        finally:
            await runtime.stop()
