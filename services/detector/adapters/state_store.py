"""Detector checkpoints on the compacted state topic: write a key's latest bytes, read them back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Final, NamedTuple, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker

from shared.errors import StorageError
from shared.record_batches import BrokerBatches
from shared.replay import partitions_of, read_to_end
from shared.settings import ServiceSettings
from shared.stopping import stop_apart
from shared.topics import DETECTOR_STATE

HEADERS: Final = [("content-type", b"application/octet-stream")]


class StateStoreError(StorageError):
    """Reading or writing checkpoints failed."""


class Stored(NamedTuple):
    """A key's latest value and the partition it is stored on."""

    partition: int
    value: bytes


class StateStore(Protocol):
    """Latest value per key, partitioned like the input it checkpoints."""

    async def save(self, key: str, value: bytes, *, partition: int | None = None) -> None:
        """Store ``value`` as the latest state of ``key`` (on ``partition`` if given)."""
        ...

    async def put(self, key: str, value: bytes, *, partition: int | None = None) -> None:
        """Start storing ``value`` as ``save`` does, without waiting; ``flush`` waits for every put."""
        ...

    async def delete(self, key: str, *, partition: int | None = None) -> None:
        """Start deleting ``key`` (on ``partition`` if given) as ``put`` stores; ``flush`` waits for it."""
        ...

    async def flush(self) -> None:
        """Wait until every ``put`` is stored; raise StateStoreError if one was not."""
        ...

    async def load(self, partitions: Iterable[int] | None = None) -> dict[str, Stored]:
        """Return the latest value of every key on ``partitions`` (all when None), with its partition."""
        ...

    async def partition_count(self) -> int:
        """Return how many partitions the store has."""
        ...


class KafkaStateStore:
    """Checkpoints as records keyed by series key; compaction keeps the latest one per key.

    Restoring reads the assigned partitions from the beginning up to their current end; the last
    record of a key wins and an empty value deletes the key, so the result is the same whether
    or not the broker has compacted the topic yet.
    """

    def __init__(self, broker: KafkaBroker, settings: ServiceSettings, *, load_timeout_s: float = 60.0) -> None:
        self._broker = broker
        self.load_timeout_s = load_timeout_s
        self._settings = settings
        self.topic = settings.topic_prefix + DETECTOR_STATE.name
        self._partitions: int | None = None
        self._unacked: list[tuple[str, asyncio.Future[Any]]] = []
        self._batches = BrokerBatches(broker)

    async def save(self, key: str, value: bytes, *, partition: int | None = None) -> None:
        """Publish ``value`` under ``key`` and wait for the broker's acknowledgement."""
        await self.put(key, value, partition=partition)
        await self.flush()

    async def put(self, key: str, value: bytes, *, partition: int | None = None) -> None:
        """Publish ``value`` under ``key`` without waiting for the acknowledgement (see ``flush``)."""
        try:
            sent = await self._batches.queue(self.topic, value, key=key.encode(), partition=partition, headers=HEADERS)
        except KafkaError as exc:
            raise StateStoreError(f"cannot write checkpoint {key!r}: {exc}") from exc
        self._unacked.append((key, sent))

    async def delete(self, key: str, *, partition: int | None = None) -> None:
        """Publish an empty value under ``key`` (a tombstone: ``load`` drops the key, compaction the records)."""
        await self.put(key, b"", partition=partition)

    async def flush(self) -> None:
        """Wait for the acknowledgement of every ``put``."""
        await self._batches.submit()
        pending, self._unacked = self._unacked, []
        results = await asyncio.gather(*(sent for _, sent in pending), return_exceptions=True)
        failed = [(key, r) for (key, _), r in zip(pending, results, strict=True) if isinstance(r, BaseException)]
        if failed:
            key, exc = failed[0]
            raise StateStoreError(f"cannot write {len(failed)} checkpoint(s), first {key!r}: {exc}")

    async def partition_count(self) -> int:
        """Return the state topic's partition count (looked up once)."""
        if self._partitions is None:
            consumer = await self._started_consumer()
            try:
                parts = await self._parts(consumer)
            finally:
                await stop_apart(consumer.stop(), name=f"state-store-stop:{self.topic}")
            if not parts:
                raise StateStoreError(f"state topic {self.topic} does not exist (create the topics first)")
            self._partitions = len(parts)
        return self._partitions

    async def load(self, partitions: Iterable[int] | None = None) -> dict[str, Stored]:
        """Replay ``partitions`` (all when None) and return the latest value of each key, with its partition."""
        try:
            async with asyncio.timeout(self.load_timeout_s):
                return await self._load(partitions)
        except TimeoutError as exc:
            raise StateStoreError(f"reading {self.topic} took longer than {self.load_timeout_s:g} s") from exc

    async def _load(self, partitions: Iterable[int] | None) -> dict[str, Stored]:
        latest: dict[str, Stored] = {}
        consumer = await self._started_consumer()
        try:
            parts = await self._parts(consumer)
            wanted = parts if partitions is None else parts & set(partitions)
            tps = [TopicPartition(self.topic, p) for p in sorted(wanted)]
            async for record in read_to_end(consumer, tps):
                if record.key is None:
                    continue
                key = record.key.decode()
                if record.value:
                    latest[key] = Stored(record.partition, record.value)
                else:
                    latest.pop(key, None)
        except KafkaError as exc:
            raise StateStoreError(f"cannot read checkpoints from {self.topic}: {exc}") from exc
        finally:
            await stop_apart(consumer.stop(), name=f"state-store-stop:{self.topic}")
        return latest

    async def _started_consumer(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **self._settings.kafka_client_options(),
        )
        try:
            await consumer.start()
        except KafkaError as exc:
            raise StateStoreError(f"cannot connect to read {self.topic}: {exc}") from exc
        # Let the consumer's background task start: aiokafka's stop() right after start() would
        # cancel it before it runs, and that surfaces as a CancelledError in the caller.
        await asyncio.sleep(0)
        return consumer

    async def _parts(self, consumer: AIOKafkaConsumer) -> set[int]:
        return {tp.partition for tp in await partitions_of(consumer, [self.topic])}
