"""The bus on real brokers (noida-db or the configured one, and Tansu): dedup, dead letters, replay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiokafka import AIOKafkaProducer

from shared import events as ev
from shared import models as m
from shared import topics
from shared.bus import Delivery, RejectedEvent
from shared.events import Envelope
from shared.rebuild import rebuild
from shared.replay import replay
from shared.runtime import Service
from shared.settings import ServiceSettings
from shared.topic_admin import ensure_topics
from tests.kafka_reads import dead_letters

pytestmark = pytest.mark.integration
CHAOS = replace(topics.CHAOS, dead_letters=True)  # one partition; consumed here, so dead-lettered here


@pytest.fixture
async def service(bootstrap: str) -> AsyncIterator[Service]:
    settings = ServiceSettings(kafka_bootstrap_servers=bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:8]}.")
    await ensure_topics(settings, [CHAOS])
    yield Service.create("bus-test", settings)


def fault(n: int) -> ev.FaultInjected:
    return ev.FaultInjected.create(m.FaultInjected(fault="crash", target=f"svc-{n}"), source="/t", id_parts=(n,))


async def _wait(predicate: object, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.05)


async def test_duplicates_are_dropped_and_bad_records_dead_lettered(service: Service) -> None:
    seen: list[str] = []

    async def handler(event: Envelope[object], delivery: Delivery) -> None:
        if event.data.target == "svc-3":  # type: ignore[attr-defined]
            raise RejectedEvent("svc-3 is not a known target")
        seen.append(event.id)

    service.bus.subscribe(CHAOS, group_id=f"g-{uuid.uuid4().hex[:6]}", handler=handler)
    await service.start()
    try:
        name = service.settings.topic_prefix + CHAOS.name
        first, second, rejected = fault(1), fault(2), fault(3)
        assert await service.bus.publish(first, key="svc-1")
        assert not await service.bus.publish(first, key="svc-1"), "same id published twice"
        await service.broker.publish(ev.encode_event(first), name, key=b"svc-1")  # a redelivery
        await service.broker.publish(b'{"oops": ', name, key=b"svc-1")
        await service.broker.publish(ev.encode_event(rejected), name, key=b"svc-1")
        await service.bus.publish(second, key="svc-1")
        await _wait(lambda: second.id in seen)
        assert seen == [first.id, second.id]
        letters = await dead_letters(service.settings, CHAOS)
        assert [value for value, _ in letters] == [b'{"oops": ', ev.encode_event(rejected)]
        reasons = [headers["dlq_reason"].decode() for _, headers in letters]
        assert reasons[0].startswith("invalid event") and "svc-3 is not a known target" in reasons[1]
    finally:
        await service.stop()


async def test_replay_sees_everything_published(service: Service) -> None:
    await service.start()
    try:
        sent = [fault(n) for n in range(20)]
        for event in sent:
            await service.bus.publish(event, key=event.data.target)
    finally:
        await service.stop()
    names = [service.settings.topic_prefix + CHAOS.name]
    got = [event.id async for _, event in replay(service.settings, names)]
    assert sorted(got) == sorted(e.id for e in sent)
    fresh = Service.create("bus-test-2", service.settings)
    assert (await rebuild(fresh.bus, [CHAOS])).applied == len(sent)
    assert all(e.id in fresh.bus.published for e in sent)


async def test_a_windowed_replay_reads_only_the_last_records_of_each_partition(service: Service) -> None:
    await service.start()
    try:
        sent = [fault(n) for n in range(30)]
        for event in sent:
            await service.bus.publish(event, key=event.data.target)
    finally:
        await service.stop()
    names = [service.settings.topic_prefix + CHAOS.name]  # one partition
    got = [event.id async for _, event in replay(service.settings, names, tail=7)]
    assert got == [e.id for e in sent[-7:]]
    everything = [event.id async for _, event in replay(service.settings, names, tail=1000)]
    assert everything == [e.id for e in sent]


async def test_undecodable_headers_and_records_near_the_size_limit_are_dead_lettered(service: Service) -> None:
    seen: list[str] = []

    async def handler(event: Envelope[object], delivery: Delivery) -> None:
        seen.append(event.id)

    service.bus.subscribe(CHAOS, group_id=f"g-{uuid.uuid4().hex[:6]}", handler=handler)
    await service.start()
    try:
        name = service.settings.topic_prefix + CHAOS.name
        huge = b'{"x": "' + b"a" * 950_000 + b'"}'
        raw = AIOKafkaProducer(bootstrap_servers=service.settings.kafka_bootstrap_servers, max_request_size=2_000_000)
        await raw.start()
        try:
            await raw.send_and_wait(name, ev.encode_event(fault(1)), key=b"k", headers=[("note", b"\xff\xfe")])
            await raw.send_and_wait(name, huge, key=b"k")
        finally:
            await raw.stop()
        after = fault(2)
        await service.bus.publish(after, key="k")
        await _wait(lambda: after.id in seen)
        letters = await dead_letters(service.settings, CHAOS)
        reasons = [headers["dlq_reason"].decode() for _, headers in letters]
        assert any("not UTF-8" in r for r in reasons), reasons
        big = [(value, headers) for value, headers in letters if "dlq_truncated_from" in headers]
        assert big and len(big[0][0]) == 900_000 and big[0][1]["dlq_truncated_from"] == str(len(huge)).encode()
        assert seen == [after.id], "the bad records were not handled, the good one after them was"
    finally:
        await service.stop()
