"""Reading raw records back from a real broker in tests (dead-letter topics, mostly)."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.events import Event
from shared.replay import partitions_of, read_to_end
from shared.settings import ServiceSettings
from shared.topics import Topic


async def dead_letters(settings: ServiceSettings, topic: Topic[Event]) -> list[tuple[bytes, dict[str, bytes]]]:
    """Return every record (value, headers) now on ``topic``'s dead-letter topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(settings.topic_prefix + topic.dlq, 0)
        return [(r.value, dict(r.headers)) async for r in read_to_end(consumer, [tp])]
    finally:
        await consumer.stop()


async def raw_records(settings: ServiceSettings, name: str) -> list[tuple[bytes | None, dict[str, bytes]]]:
    """Return every record (value, headers) now on topic ``name``, all partitions."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = await partitions_of(consumer, [name])
        return [(r.value, dict(r.headers)) async for r in read_to_end(consumer, tps)]
    finally:
        await consumer.stop()
