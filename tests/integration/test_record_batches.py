"""``RecordBatches`` on both brokers: where its records land, in what order, and what it does when it cannot send."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import MessageSizeTooLargeError, ProducerClosed

from shared.broker import keyed_partitioner
from shared.record_batches import RecordBatches
from shared.replay import partitions_of, read_to_end
from shared.settings import ServiceSettings
from shared.topic_admin import ensure_topics
from shared.topics import Topic

pytestmark = pytest.mark.integration
HEADERS = [("ce_id", b"x")]
KEYS = [f"target-{n}".encode() for n in range(7)]


@dataclass
class Rig:
    """A topic of 3 partitions, a keyed producer with 4 kB batches (a few records fill one) and its batches."""

    settings: ServiceSettings
    topic: str
    producer: AIOKafkaProducer
    batches: RecordBatches

    async def records(self) -> list[ConsumerRecord[bytes, bytes]]:
        """Every record now on the topic."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap_servers, enable_auto_commit=False)
        await consumer.start()
        try:
            return [r async for r in read_to_end(consumer, await partitions_of(consumer, [self.topic]))]
        finally:
            await consumer.stop()


@contextlib.asynccontextmanager
async def rig(bootstrap: str, unique: str, *, max_batch_size: int = 4096) -> AsyncIterator[Rig]:
    settings = ServiceSettings(kafka_bootstrap_servers=bootstrap, topic_prefix=f"rb{unique}.")
    await ensure_topics(settings, [Topic("batches.v1", (), key="target", producer="test", partitions=3)])
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", partitioner=keyed_partitioner, max_batch_size=max_batch_size
    )
    await producer.start()
    try:
        yield Rig(settings, settings.topic_prefix + "batches.v1", producer, RecordBatches(producer))
    finally:
        await producer.stop()


async def test_each_key_lands_on_the_partition_send_picks_and_in_order_across_full_batches(
    bootstrap: str, unique: str
) -> None:
    async with rig(bootstrap, unique) as r:
        acknowledged = [
            await r.batches.add(r.topic, f"{n:04d}".encode() * 100, key=KEYS[n % 7], headers=HEADERS)
            for n in range(140)
        ]  # 400-byte records into 4 kB batches: each partition's builder fills and goes out several times
        await r.batches.submit()
        await asyncio.wait_for(asyncio.gather(*acknowledged), 20)
        by_send = (await r.producer.send_and_wait(r.topic, b"probe", key=KEYS[3])).partition
        partitions = sorted(await r.producer.partitions_for(r.topic))
        records = await r.records()

    assert len(set(map(id, acknowledged))) > 3  # more than one batch per partition
    assert len(records) == 141
    for record in records:
        assert record.key is not None and record.partition == keyed_partitioner(record.key, partitions, partitions)
    assert {record.partition for record in records if record.key == KEYS[3]} == {by_send}
    for key in KEYS:
        values = [int(v[:4]) for v in (x.value for x in records if x.key == key) if v and v != b"probe"]
        assert values == sorted(values) and len(values) == 20


async def test_records_queued_without_a_submit_go_out_once_the_task_yields(bootstrap: str, unique: str) -> None:
    async with rig(bootstrap, unique) as r:
        acknowledged = await r.batches.add(r.topic, b"alone", key=b"k", headers=HEADERS)
        await asyncio.wait_for(acknowledged, 20)  # nobody calls submit
        assert [record.value for record in await r.records()] == [b"alone"]


async def test_a_batch_the_producer_cannot_take_fails_its_records_waiters(bootstrap: str, unique: str) -> None:
    async with rig(bootstrap, unique) as r:
        acknowledged = await r.batches.add(r.topic, b"late", key=b"k", headers=HEADERS)
        await r.producer.stop()
        await r.batches.submit()
        with pytest.raises(ProducerClosed):
            await asyncio.wait_for(acknowledged, 20)


async def test_a_record_over_the_producers_request_size_is_refused_at_once_as_send_refuses_it(
    bootstrap: str, unique: str
) -> None:
    async with rig(bootstrap, unique) as r:
        with pytest.raises(MessageSizeTooLargeError):
            await r.producer.send(r.topic, b"x" * 2_000_000, key=b"k")
        with pytest.raises(MessageSizeTooLargeError):
            await r.batches.add(r.topic, b"x" * 2_000_000, key=b"k", headers=HEADERS)
        fits = await r.batches.add(r.topic, b"x" * 600_000, key=b"k", headers=HEADERS)  # over a batch, under a request
        await r.batches.submit()
        await asyncio.wait_for(fits, 20)
        assert [len(record.value or b"") for record in await r.records()] == [600_000]


async def test_tasks_adding_to_one_partition_at_once_lose_nothing_while_full_batches_are_handed_over(
    bootstrap: str, unique: str
) -> None:
    async with rig(bootstrap, unique) as r:

        async def writer(name: bytes) -> list[asyncio.Future[None]]:
            out = []
            for n in range(60):
                out.append(await r.batches.add(r.topic, name + b"%04d" % n + b"." * 400, key=b"one", headers=HEADERS))
                await asyncio.sleep(0)  # the other writer adds, and the queued builders may go out meanwhile
            return out

        futures = [f for done in await asyncio.gather(writer(b"a"), writer(b"b")) for f in done]
        await r.batches.submit()
        await asyncio.wait_for(asyncio.gather(*futures), 20)
        values = [record.value or b"" for record in await r.records()]
    for name in (b"a", b"b"):
        assert [v[1:5] for v in values if v.startswith(name)] == [b"%04d" % n for n in range(60)]
