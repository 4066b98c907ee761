"""Reading topics without a consumer group: read up to the current ends (rebuilds, postmortems), or follow."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError

from shared.events import Event, parse_event
from shared.fetch_wait import install_fetch_wait_floor
from shared.settings import ServiceSettings
from shared.stopping import stop_apart

READ_POLL_MS = 1000


async def read_to_end(
    consumer: AIOKafkaConsumer, partitions: Iterable[TopicPartition], *, tail: int | None = None
) -> AsyncIterator[ConsumerRecord[Any, Any]]:
    """Assign ``partitions`` to the started ``consumer`` and yield their records up to the ends they have now.

    From the beginning, or only the last ``tail`` records of each partition (a rebuild whose cost
    does not grow with the topic's history). The last fetch of a partition may bring records
    written after the call: they are yielded too, once, and the consumer is left after the last
    record yielded, so reading on with it (following) misses none and repeats none. That is also
    what makes the read whole on Tansu, whose end offset of a partition stops at the first record
    of its last record batch (a fetch from there brings the whole batch).
    """
    tps = list(partitions)
    consumer.assign(tps)
    if not tps:
        return
    await consumer.seek_to_beginning(*tps)
    ends = await consumer.end_offsets(tps)
    if tail is not None:
        starts = await consumer.beginning_offsets(tps)
        for tp in tps:
            if ends[tp] - starts[tp] > tail:
                consumer.seek(tp, ends[tp] - tail)
    pending = {tp for tp in tps if ends[tp] > 0 and await consumer.position(tp) < ends[tp]}
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=READ_POLL_MS)
        for records in batch.values():
            for record in records:
                yield record
        for tp in list(pending):
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)


async def partitions_of(consumer: AIOKafkaConsumer, topic_names: Iterable[str]) -> list[TopicPartition]:
    """Every partition of ``topic_names`` that exists (a missing topic has none), in order."""
    tps: list[TopicPartition] = []
    for name in topic_names:
        parts = consumer.partitions_for_topic(name)
        if parts is None:
            await consumer._client.force_metadata_update()  # aiokafka has no public metadata refresh
            parts = consumer.partitions_for_topic(name) or set()
        tps += [TopicPartition(name, p) for p in sorted(parts)]
    return tps


async def _started_consumer(settings: ServiceSettings) -> AIOKafkaConsumer:
    """Start a group-less consumer (nothing assigned yet)."""
    install_fetch_wait_floor(idle_share=settings.fetch_idle_share)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **settings.kafka_client_options(),
    )
    try:
        await consumer.start()
    except BaseException:
        # a broker that does not answer: close what start opened (no "Unclosed" warning)
        await stop_apart(consumer.stop(), name="replay-consumer-stop")
        raise
    return consumer


def _decode(record: ConsumerRecord[Any, Any], skip_invalid: bool) -> Event | None:
    try:
        return parse_event(record.value or b"")
    except ValidationError:
        if not skip_invalid:
            raise
        return None


async def replay(
    settings: ServiceSettings, topic_names: Iterable[str], *, skip_invalid: bool = True, tail: int | None = None
) -> AsyncIterator[tuple[ConsumerRecord[Any, Any], Event]]:
    """Yield every event now on ``topic_names`` up to their current ends (see ``read_to_end``)."""
    consumer = await _started_consumer(settings)
    try:
        async for record in read_to_end(consumer, await partitions_of(consumer, topic_names), tail=tail):
            event = _decode(record, skip_invalid)
            if event is not None:
                yield record, event
    finally:
        await stop_apart(consumer.stop(), name="replay-consumer-stop")


async def follow(
    settings: ServiceSettings, topic_names: Iterable[str], *, poll_ms: int = 500
) -> AsyncIterator[tuple[ConsumerRecord[Any, Any], Event]]:
    """Yield every event on ``topic_names`` from the beginning, then new ones as they arrive (no group)."""
    consumer = await _started_consumer(settings)
    try:
        tps = await partitions_of(consumer, topic_names)
        consumer.assign(tps)
        if tps:
            await consumer.seek_to_beginning(*tps)
        while True:
            batch = await consumer.getmany(timeout_ms=poll_ms)
            for records in batch.values():
                for record in records:
                    event = _decode(record, True)
                    if event is not None:
                        yield record, event
    finally:
        await stop_apart(consumer.stop(), name="replay-consumer-stop")
