"""``RecordBatches`` on a real broker: where its records land, in what order, and what it does when it cannot send."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

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


@pytest.fixture(params=["primary", "tansu"])
def bootstrap(request: pytest.FixtureRequest) -> str:
    """Both Kafka-protocol brokers the services must work on."""
    name = "kafka_bootstrap" if request.param == "primary" else "tansu"
    return str(request.getfixturevalue(name))


@contextlib.asynccontextmanager
async def started(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    """A keyed producer with 4 kB batches, so a few records fill one."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", partitioner=keyed_partitioner, max_batch_size=4096
    )
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def _topic(bootstrap: str, unique: str) -> tuple[ServiceSettings, str]:
    settings = ServiceSettings(kafka_bootstrap_servers=bootstrap, topic_prefix=f"rb{unique}.")
    await ensure_topics(settings, [Topic("batches.v1", (), key="target", producer="test", partitions=3)])
    return settings, settings.topic_prefix + "batches.v1"


async def _records(settings: ServiceSettings, name: str) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        return [r async for r in read_to_end(consumer, await partitions_of(consumer, [name]))]
    finally:
        await consumer.stop()


async def test_each_key_lands_on_the_partition_send_picks_and_in_order_across_full_batches(
    bootstrap: str, unique: str
) -> None:
    settings, topic = await _topic(bootstrap, unique)
    async with started(bootstrap) as producer:
        records, by_send, partitions, acknowledged = await _send_in_batches(producer, settings, topic)
    assert len(set(map(id, acknowledged))) > 3  # more than one batch per partition
    assert len(records) == 141
    for record in records:
        assert record.key is not None and record.partition == keyed_partitioner(record.key, partitions, partitions)
    assert {r.partition for r in records if r.key == KEYS[3]} == {by_send}
    for key in KEYS:
        values = [int(r.value[:4]) for r in records if r.key == key and r.value and r.value != b"probe"]
        assert values == sorted(values) and len(values) == 20


async def _send_in_batches(
    producer: AIOKafkaProducer, settings: ServiceSettings, topic: str
) -> tuple[list[ConsumerRecord[bytes, bytes]], int, list[int], list[asyncio.Future[None]]]:
    batches = RecordBatches(producer)
    acknowledged = [
        await batches.add(topic, f"{n:04d}".encode() * 100, key=KEYS[n % 7], headers=HEADERS) for n in range(140)
    ]  # 400-byte records into 4 kB batches: each partition's builder fills and goes out several times
    await batches.submit()
    await asyncio.wait_for(asyncio.gather(*acknowledged), 20)
    by_send = await producer.send_and_wait(topic, b"probe", key=KEYS[3])
    partitions = sorted(await producer.partitions_for(topic))
    return await _records(settings, topic), by_send.partition, partitions, acknowledged


async def test_records_queued_without_a_submit_go_out_once_the_task_yields(bootstrap: str, unique: str) -> None:
    settings, topic = await _topic(bootstrap, unique)
    async with started(bootstrap) as producer:
        acknowledged = await RecordBatches(producer).add(topic, b"alone", key=b"k", headers=HEADERS)
        await asyncio.wait_for(acknowledged, 20)  # nobody calls submit
    assert [r.value for r in await _records(settings, topic)] == [b"alone"]


async def test_a_batch_the_producer_cannot_take_fails_its_records_waiters(bootstrap: str, unique: str) -> None:
    _, topic = await _topic(bootstrap, unique)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, partitioner=keyed_partitioner)
    await producer.start()
    batches = RecordBatches(producer)
    acknowledged = await batches.add(topic, b"late", key=b"k", headers=HEADERS)
    await producer.stop()
    await batches.submit()
    with pytest.raises(ProducerClosed):
        await asyncio.wait_for(acknowledged, 20)


async def test_a_record_over_the_producers_request_size_is_refused_at_once_as_send_refuses_it(
    bootstrap: str, unique: str
) -> None:
    settings, topic = await _topic(bootstrap, unique)
    async with started(bootstrap) as producer:
        batches = RecordBatches(producer)
        with pytest.raises(MessageSizeTooLargeError):
            await producer.send(topic, b"x" * 2_000_000, key=b"k")
        with pytest.raises(MessageSizeTooLargeError):
            await batches.add(topic, b"x" * 2_000_000, key=b"k", headers=HEADERS)
        fits = await batches.add(topic, b"x" * 600_000, key=b"k", headers=HEADERS)  # over a batch, under a request
        await batches.submit()
        await asyncio.wait_for(fits, 20)
    assert [len(r.value or b"") for r in await _records(settings, topic)] == [600_000]


async def test_tasks_adding_to_one_partition_at_once_lose_nothing_while_full_batches_are_handed_over(
    bootstrap: str, unique: str
) -> None:
    settings, topic = await _topic(bootstrap, unique)
    async with started(bootstrap) as producer:
        batches = RecordBatches(producer)

        async def writer(name: bytes) -> list[asyncio.Future[None]]:
            out = []
            for n in range(60):
                out.append(await batches.add(topic, name + b"%04d" % n + b"." * 400, key=b"one", headers=HEADERS))
                await asyncio.sleep(0)
            return out

        futures = [f for done in await asyncio.gather(writer(b"a"), writer(b"b")) for f in done]
        await batches.submit()
        await asyncio.wait_for(asyncio.gather(*futures), 20)
    values = [r.value or b"" for r in await _records(settings, topic)]
    for name in (b"a", b"b"):
        assert [v[1:5] for v in values if v.startswith(name)] == [b"%04d" % n for n in range(60)]
