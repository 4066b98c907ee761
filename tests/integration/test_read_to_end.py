"""``read_to_end`` on both brokers: a whole record batch is read, and reading on repeats and misses nothing."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.replay import read_to_end
from shared.settings import ServiceSettings
from shared.topic_admin import ensure_topics
from shared.topics import Topic

pytestmark = pytest.mark.integration


async def test_a_partition_written_in_one_record_batch_is_read_whole_and_a_reader_going_on_sees_each_new_record_once(
    bootstrap: str,
) -> None:
    name = f"rte-{uuid.uuid4().hex[:8]}"
    await ensure_topics(
        ServiceSettings(kafka_bootstrap_servers=bootstrap), [Topic(name, (), key="k", producer="t", partitions=1)]
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    try:
        sent = [await producer.send(name, str(n).encode(), key=b"k") for n in range(60)]  # one batch: queued unawaited
        await asyncio.gather(*sent)
        read = [r.value async for r in read_to_end(consumer, [TopicPartition(name, 0)])]
        assert read == [str(n).encode() for n in range(60)]  # Tansu's end offset says 1 here

        await producer.send_and_wait(name, b"after", key=b"k")
        later: list[bytes | None] = []
        async with asyncio.timeout(20):
            while not later:
                batch = await consumer.getmany(timeout_ms=200)
                later += [r.value for records in batch.values() for r in records]
        assert later == [b"after"]
    finally:
        await producer.stop()
        await consumer.stop()
