"""Reading raw records back from a real broker in tests (dead-letter topics, mostly)."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.settings import ServiceSettings
from shared.topics import Topic


async def dead_letters(settings: ServiceSettings, topic: Topic) -> list[tuple[bytes, dict[str, bytes]]]:
    """Return every record (value, headers) now on ``topic``'s dead-letter topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(settings.topic_prefix + topic.dlq, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        out: list[tuple[bytes, dict[str, bytes]]] = []
        while await consumer.position(tp) < end:
            for records in (await consumer.getmany(tp, timeout_ms=1000)).values():
                out += [(r.value, dict(r.headers)) for r in records]
        return out
    finally:
        await consumer.stop()
