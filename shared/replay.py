"""Reading topics without a consumer group: replay up to the current ends (rebuilds, postmortems), or follow."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError

from shared.events import Envelope, parse_event
from shared.fetch_wait import install_fetch_wait_floor
from shared.settings import ServiceSettings


async def _assigned_consumer(settings: ServiceSettings, topic_names: Iterable[str]) -> AIOKafkaConsumer:
    """Start a group-less consumer assigned to every partition of ``topic_names``."""
    install_fetch_wait_floor()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **settings.kafka_client_options(),
    )
    await consumer.start()
    tps = []
    for name in topic_names:
        parts = consumer.partitions_for_topic(name)
        if parts is None:
            await consumer._client.force_metadata_update()  # aiokafka has no public metadata refresh
            parts = consumer.partitions_for_topic(name) or set()
        tps += [TopicPartition(name, p) for p in sorted(parts)]
    consumer.assign(tps)
    if tps:
        await consumer.seek_to_beginning(*tps)
    return consumer


def _decode(record: ConsumerRecord[Any, Any], skip_invalid: bool) -> Envelope[Any] | None:
    try:
        return parse_event(record.value or b"")
    except ValidationError:
        if not skip_invalid:
            raise
        return None


async def replay(
    settings: ServiceSettings, topic_names: Iterable[str], *, skip_invalid: bool = True, tail: int | None = None
) -> AsyncIterator[tuple[ConsumerRecord[Any, Any], Envelope[Any]]]:
    """Yield every event now on ``topic_names`` up to their current ends.

    From the beginning, or only the last ``tail`` records of each partition: a rebuild whose cost
    does not grow with the topic's history.
    """
    consumer = await _assigned_consumer(settings, topic_names)
    try:
        tps = list(consumer.assignment())
        if not tps:
            return
        ends = await consumer.end_offsets(tps)
        if tail is not None:
            starts = await consumer.beginning_offsets(tps)
            for tp in tps:
                if ends[tp] - starts[tp] > tail:
                    consumer.seek(tp, ends[tp] - tail)
        pending = {tp for tp in tps if ends[tp] > 0 and await consumer.position(tp) < ends[tp]}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    event = _decode(record, skip_invalid) if record.offset < ends[tp] else None
                    if event is not None:
                        yield record, event
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()


async def follow(
    settings: ServiceSettings, topic_names: Iterable[str], *, poll_ms: int = 500
) -> AsyncIterator[tuple[ConsumerRecord[Any, Any], Envelope[Any]]]:
    """Yield every event on ``topic_names`` from the beginning, then new ones as they arrive (no group)."""
    consumer = await _assigned_consumer(settings, topic_names)
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=poll_ms)
            for records in batch.values():
                for record in records:
                    event = _decode(record, True)
                    if event is not None:
                        yield record, event
    finally:
        await consumer.stop()
