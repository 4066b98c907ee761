"""What every record carries on a real broker: a content type, and no correlation header of FastStream's own.

Events, their dead letters, a dead letter re-driven, and the detector's binary checkpoints.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from incidentctl.dlq_cmd import read_dead_letters, redrive
from services.detector.adapters.state_store import KafkaStateStore
from shared import events as ev
from shared import models as m
from shared import topics
from shared.bus import CONTENT_TYPE, Delivery, RejectedEvent
from shared.runtime import Service
from shared.settings import ServiceSettings
from shared.topic_admin import ensure_topics
from tests.kafka_reads import raw_records

pytestmark = pytest.mark.integration
CHAOS = replace(topics.CHAOS, dead_letters=True)  # consumed here, so dead-lettered here


async def test_event_dead_letter_and_state_records_carry_a_content_type_and_one_correlation(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=f"h{unique}.")
    await ensure_topics(settings, [CHAOS, topics.DETECTOR_STATE])
    service = Service.create("headers-test", settings)
    rejected: list[str] = []

    async def reject(event: ev.FaultInjected, delivery: Delivery) -> None:
        rejected.append(event.id)
        raise RejectedEvent("rejected on purpose")

    service.bus.subscribe(CHAOS, group_id=f"g-{unique}", handler=reject)
    store = KafkaStateStore(service.broker, settings)
    await service.start()
    try:
        event = ev.FaultInjected.create(
            m.FaultInjected(fault="crash", target="svc-1"), source="/t", id_parts=(1,), correlationid="inc-1"
        )
        assert await service.bus.publish(event, key="svc-1")
        await store.save("target:svc-1", b"\x00checkpoint")
        async with asyncio.timeout(20):
            while not (await raw_records(settings, settings.topic_prefix + CHAOS.dlq)):
                await asyncio.sleep(0.1)
    finally:
        await service.stop()

    expected = {
        CHAOS.name: CONTENT_TYPE,
        CHAOS.dlq: "application/octet-stream",
        topics.DETECTOR_STATE.name: "application/octet-stream",
    }
    (letter,) = (await read_dead_letters(settings, [CHAOS]))[CHAOS.name]
    assert (letter.headers["dlq_content_type"], letter.headers["ce_type"], letter.headers["ce_id"]) == (
        CONTENT_TYPE, event.type, event.id,
    )  # fmt: skip
    await redrive(settings, CHAOS, [letter])  # back on the topic as the CloudEvent it was
    for name, content_type in expected.items():
        records = await raw_records(settings, settings.topic_prefix + name)
        assert records, name
        for _, headers in records:
            assert headers["content-type"].decode() == content_type, name
            assert "correlation_id" not in headers, f"{name}: a second correlation header"
    original, redriven = await raw_records(settings, settings.topic_prefix + CHAOS.name)
    assert original[0] == redriven[0] and "dlq_redriven_from" in redriven[1]
    assert (redriven[1]["ce_type"].decode(), redriven[1]["ce_id"].decode()) == (event.type, event.id)
    assert ev.parse_event(original[0] or b"").correlationid == "inc-1"  # the one correlation: the CloudEvents one
