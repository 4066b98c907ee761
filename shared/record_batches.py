"""Records queued per topic partition in aiokafka batch builders, sent a batch at a time.

``AIOKafkaProducer.send`` costs about 28 us a record on this client: a coroutine, a partitioner
call and a future per record, and a record batch rebuilt around each append. A hot path sends a
fetch's outputs together anyway, so ``RecordBatches`` appends them to one ``BatchBuilder`` per
partition (``create_batch``) and hands each builder to the producer once (``send_batch``): one
future per batch, shared by its records. The partition is the producer's own choice for the key
(``keyed_partitioner``, murmur2 as Java's), so a key's records land where ``send`` would put them.

Builders go out when ``submit`` is called (a consumer's flush before its commit) or, at the
latest, once the task that queued the first record yields to the event loop: a record is never
left waiting for a flush that does not come. Records of one partition keep their order: builders
are handed to the producer one at a time, in the order they were closed.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Sequence
from typing import Any, Final

from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from faststream.kafka import KafkaBroker

from shared.broker import keyed_partitioner

Headers = Sequence[tuple[str, bytes]]
DEFAULT_MAX_REQUEST_SIZE: Final = 1_048_576
"""aiokafka's default ``max_request_size``, for a producer that does not say its own."""
_NO_TIMESTAMP: Final = None


class RecordBatches:
    """One open ``BatchBuilder`` per topic partition of ``producer``; ``add`` queues, ``submit`` sends."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self._max_request_size: int = getattr(producer, "_max_request_size", DEFAULT_MAX_REQUEST_SIZE)
        self._open: dict[tuple[str, int], tuple[BatchBuilder, asyncio.Future[None]]] = {}
        self._partitions: dict[str, list[int]] = {}
        self._closed: deque[tuple[str, int, BatchBuilder, asyncio.Future[None]]] = deque()
        self._handing = asyncio.Lock()
        self._soon: asyncio.Handle | None = None
        self._submitting: set[asyncio.Task[None]] = set()

    async def add(
        self, topic: str, value: bytes, *, key: bytes | None, headers: Headers, partition: int | None = None
    ) -> asyncio.Future[None]:
        """Queue one record; return a future done when its batch is acknowledged (or failed).

        A record larger than the producer's ``max_request_size`` raises ``MessageSizeTooLargeError``
        here, as ``send`` does: a batch builder takes any record into an empty batch.
        """
        if len(value) > self._max_request_size // 2:
            self._check_size(key, value, headers)
        if partition is None:
            partition = await self._partition_of(topic, key)
        while True:  # another task may open the partition's next builder while a full one is handed over
            builder, acknowledged = self._open.get((topic, partition)) or self._start(topic, partition)
            if builder.append(timestamp=_NO_TIMESTAMP, key=key, value=value, headers=headers) is not None:
                return acknowledged
            if not builder.record_count():
                raise ValueError(f"a record of {len(value)} bytes does not fit an empty batch for {topic}")
            self._close(topic, partition)  # full: it goes now, the record starts the next one
            await self._hand_over()

    async def submit(self) -> None:
        """Send every open builder (each partition's records in the order added)."""
        if self._soon is not None:
            self._soon.cancel()
            self._soon = None
        for topic, partition in list(self._open):
            self._close(topic, partition)
        self._partitions.clear()  # looked up again for the next batches: partitions may be added
        await self._hand_over()

    def _check_size(self, key: bytes | None, value: bytes, headers: Headers) -> None:
        size = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers)
        if size > self._max_request_size:
            raise MessageSizeTooLargeError(
                f"a record of {size} bytes is larger than the producer's max_request_size ({self._max_request_size})"
            )

    def _start(self, topic: str, partition: int) -> tuple[BatchBuilder, asyncio.Future[None]]:
        loop = asyncio.get_running_loop()
        entry = self._open[topic, partition] = (self.producer.create_batch(), loop.create_future())
        if self._soon is None:
            self._soon = loop.call_soon(self._submit_soon)
        return entry

    def _submit_soon(self) -> None:
        """The queuing task yielded before any ``submit``: send what it queued now."""
        self._soon = None
        task = asyncio.get_running_loop().create_task(self.submit(), name="record-batches-submit")
        self._submitting.add(task)
        task.add_done_callback(self._submitting.discard)

    def _close(self, topic: str, partition: int) -> None:
        """Take the partition's builder out of the open ones and queue it to be handed over, in order."""
        builder, acknowledged = self._open.pop((topic, partition))
        self._closed.append((topic, partition, builder, acknowledged))

    async def _hand_over(self) -> None:
        """Give the closed builders to the producer in the order they were closed, one task at a time.

        ``send_batch`` may wait for the partition's previous batch to drain, and two tasks waiting
        there are not woken in order: handed over concurrently, a later batch of a partition could
        land before an earlier one. Each outcome becomes its records' future.
        """
        async with self._handing:
            while self._closed:
                topic, partition, builder, acknowledged = self._closed.popleft()
                try:
                    sent = await self.producer.send_batch(builder, topic, partition=partition)
                except asyncio.CancelledError:
                    acknowledged.cancel()  # not acknowledged: its waiters see it cancelled (the bus resends)
                    raise
                except Exception as exc:  # the records' waiters learn of it (the bus keeps them to resend)
                    if not acknowledged.done():
                        acknowledged.set_exception(exc)
                    continue
                sent.add_done_callback(lambda done, acknowledged=acknowledged: _settle(acknowledged, done))

    async def _partition_of(self, topic: str, key: bytes | None) -> int:
        partitions = self._partitions.get(topic)
        if partitions is None:
            partitions = self._partitions[topic] = list(await self.producer.partitions_for(topic))
        if key is None:
            return random.choice(partitions)
        return keyed_partitioner(key, partitions, partitions)


class BrokerBatches:
    """``RecordBatches`` on the aiokafka producer under a FastStream broker, made again if it reconnects."""

    def __init__(self, broker: KafkaBroker) -> None:
        self.broker = broker
        self._batches: RecordBatches | None = None

    def current(self) -> RecordBatches | None:
        """The batches of the broker's connected producer; None where its publish must be used (``direct_producer``)."""
        producer = direct_producer(self.broker)
        if producer is None:
            return None
        if self._batches is None or self._batches.producer is not producer:
            self._batches = RecordBatches(producer)
        return self._batches

    async def queue(
        self, topic: str, value: bytes, *, key: bytes, headers: Headers, partition: int | None = None
    ) -> asyncio.Future[Any]:
        """Queue one record without waiting for the broker; return a future done when it is acknowledged.

        Into the batches where there is a direct producer, else through the broker's own publish.
        """
        batches = self.current()
        if batches is not None:
            return await batches.add(topic, value, key=key, partition=partition, headers=headers)
        sent: asyncio.Future[Any] = await self.broker.publish(
            value, topic, key=key, partition=partition, headers={k: v.decode() for k, v in headers}, no_confirm=True
        )
        return sent

    async def submit(self) -> None:
        """Send what is queued (nothing when no batch was made)."""
        if self._batches is not None:
            await self._batches.submit()


def direct_producer(broker: KafkaBroker) -> AIOKafkaProducer | None:
    """The connected aiokafka producer under ``broker`` when FastStream's publish would only wrap it, else None.

    With no publish middleware, ``KafkaBroker.publish`` builds a command object and hands the same
    value, key and headers to this producer: a third of a hot path's cost per event (``send``). A
    broker with middlewares, or FastStream's in-memory test broker, keeps its own publish.
    """
    if broker.middlewares:
        return None
    state = getattr(broker.config.producer, "_producer", None)  # FastStream's producer state once connected
    producer = getattr(state, "producer", None)
    return producer if isinstance(producer, AIOKafkaProducer) else None


def _settle(acknowledged: asyncio.Future[None], sent: asyncio.Future[object]) -> None:
    if acknowledged.done():
        return
    if sent.cancelled():
        acknowledged.cancel()
    elif (exc := sent.exception()) is not None:
        acknowledged.set_exception(exc)
    else:
        acknowledged.set_result(None)
