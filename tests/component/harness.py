"""In-memory Kafka for component tests: a service's real EventBus over FastStream's ``TestKafkaBroker``.

Nothing of the bus is replaced: its ledgers, dedup, dead letters and send/flush run as in production.
What stands in for Kafka:

- publishing: the bus's FastStream broker runs under ``faststream.kafka.TestKafkaBroker``, which
  routes each publish in memory; a recording subscriber (a pattern matching every topic) appends
  what arrives to the harness's log, with the partition (the default partitioner's, from the key)
  and the next offset that Kafka would give it. One FastStream publish middleware fills the gap of
  the test broker, whose ``publish`` returns nothing: it answers as aiokafka does, with the
  record's ``RecordMetadata``, or with a future of it for ``no_confirm=True`` (the bus's ``send``);
  it is also the failure switch (``publishes_fail``) and the hook that runs something while a
  publish is in flight (``on_publish``).
- consuming: ``feed`` and ``deliver`` hand aiokafka ``ConsumerRecord`` batches to the callbacks the
  bus gave its group members (``on_records``, then ``on_batch_done``), as a member does after each
  fetch; what they raise propagates, as it would end the member's fetch loop (no commit: the
  next delivery of the same records is a redelivery). ``assign`` and ``revoke`` run the members'
  rebalance listeners as aiokafka does.
- start-up: ``rebuild`` folds the log as ``shared.rebuild.rebuild`` folds the topics it reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack
from typing import Any, Final, TypeAlias, TypeVar

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import RecordMetadata
from faststream import BaseMiddleware, ContextRepo
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.response import KafkaPublishCommand
from pydantic import ValidationError

from shared.bus import CONTENT_TYPE, EventBus
from shared.consumer import GroupMember, partition_of
from shared.events import Event, encode_event, parse_event
from shared.rebuild import Clock, Fold, Rebuilt, fold_replayed, utcnow
from shared.topics import ALL_TOPICS, Topic

E = TypeVar("E", bound=Event)
Record: TypeAlias = ConsumerRecord[Any, Any]
OnPublish = Callable[[], Awaitable[None]]

CREATE_TIME: Final = 0  # aiokafka's timestamp_type of a producer-stamped record
PARTITIONS: Final = {topic.name: topic.partitions for topic in ALL_TOPICS}


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """One record of a topic's log, and the bus that published it (None: fed by the test)."""

    record: Record
    by: EventBus | None


@dataclasses.dataclass
class _Failure:
    topics: frozenset[str] | None  # None: every topic


class BusHarness:
    """An in-memory Kafka log shared by the buses attached to it (one per service instance).

    Use it as an async context manager; ``attach`` each bus (its subscriptions may come before or
    after), then ``feed`` its inputs and read what it published with ``published``.
    """

    def __init__(self) -> None:
        self.prefix: str | None = None
        self.log: dict[str, list[Entry]] = defaultdict(list)
        self._attached: dict[EventBus, AsyncExitStack] = {}
        self._failures: list[_Failure] = []
        self._on_publish: dict[str, list[OnPublish]] = defaultdict(list)
        self._recorders: dict[EventBus, object] = {}  # a broker holds its recording subscriber weakly
        self._tokens = 0
        self._in_flight: dict[str, int | None] = {}  # correlation id -> partition the publish named
        self._acknowledged: dict[str, Record] = {}  # correlation id -> record, until the publish returns
        self.acks_held: asyncio.Event | None = None  # see hold_acks
        self._late_acks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> BusHarness:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for bus in list(self._attached):
            await self.detach(bus)

    # --- buses -----------------------------------------------------------------------------------------

    async def attach(self, bus: EventBus) -> EventBus:
        """Run ``bus``'s broker in memory, recording what it publishes here; return the bus."""
        if self.prefix is None:
            self.prefix = bus.prefix
        if bus.prefix != self.prefix:
            raise ValueError(f"buses of one harness share a topic prefix: {bus.prefix!r} != {self.prefix!r}")
        broker = bus.broker
        stack = AsyncExitStack()
        middlewares = broker.config.broker_config.broker_middlewares
        broker.add_middleware(self._middleware)
        stack.callback(setattr, broker.config.broker_config, "broker_middlewares", middlewares)

        async def record(message: KafkaMessage) -> None:
            self._record(message.raw_message, bus)

        recorder = broker.subscriber(pattern=".*", persistent=False)
        recorder(record)
        self._recorders[bus] = recorder
        stack.callback(self._recorders.pop, bus)
        await stack.enter_async_context(TestKafkaBroker(broker))
        self._attached[bus] = stack
        return bus

    async def detach(self, bus: EventBus) -> None:
        """Stop delivering to ``bus`` and give its broker back (the instance stopped); its records stay."""
        stack = self._attached.pop(bus)
        await stack.aclose()

    # --- consuming ------------------------------------------------------------------------------------

    async def feed(
        self, topic: Topic[Event], *events: Event, key: str | None = None, timestamp_ms: int | None = None
    ) -> list[Record]:
        """Append ``events`` to ``topic`` as one producer would, and deliver them as one fetch; return the records.

        The key defaults to the event's subject (else its correlation id, else its id); the
        record's broker time to now.
        """
        records = [
            self._append(topic.name, self._new_record(topic, event, key, timestamp_ms), None) for event in events
        ]
        await self.deliver(topic, records)
        return records

    async def deliver(self, topic: Topic[Event], records: Sequence[Record]) -> None:
        """Hand ``records`` as one fetch to every consumer group of the attached buses subscribed to ``topic``.

        Each group's member gets them as after ``getmany``: ``on_records``, then ``on_batch_done``
        (the bus's flush). Records already delivered are redelivered, as after a failed batch; records
        that are not on the log (hostile bytes, say) are delivered as they are.
        """
        members = self.members(topic)
        if not members:
            raise LookupError(f"no attached bus subscribes to {topic.name}")
        for member in members:
            await member.on_records(list(records))
            member.progress.handled += len(records)
            await member.on_batch_done()

    def members(self, topic: Topic[Event]) -> list[GroupMember]:
        """The member of each consumer group on ``topic`` that gets its records (the first attached, per group)."""
        groups: dict[str, GroupMember] = {}
        for bus in self._attached:
            for member in bus.members:
                if member.topic == self._name(topic.name):
                    groups.setdefault(member.group_id, member)
        return list(groups.values())

    async def assign(self, topic: Topic[Event], partitions: Sequence[int]) -> None:
        """Run the rebalance listeners of ``topic``'s members as aiokafka does when it assigns ``partitions``."""
        tps = [TopicPartition(self._name(topic.name), p) for p in partitions]
        for member in self.members(topic):
            await member.listener.on_partitions_assigned(tps)

    async def revoke(self, topic: Topic[Event], partitions: Sequence[int]) -> None:
        """Run the rebalance listeners of ``topic``'s members as aiokafka does when it revokes ``partitions``."""
        tps = [TopicPartition(self._name(topic.name), p) for p in partitions]
        for member in self.members(topic):
            await member.listener.on_partitions_revoked(tps)

    async def rebuild(
        self,
        bus: EventBus,
        own_topics: Sequence[Topic[E]],
        fold: Fold[E] | None = None,
        *,
        inputs: Sequence[Topic[E]] = (),
        clock: Clock = utcnow,
    ) -> Rebuilt:
        """What ``shared.rebuild.rebuild`` does at start-up, over this log instead of the topics it reads.

        The last ``rebuild_window_records`` records of each partition of ``own_topics``, then of
        ``inputs``, go through the same fold (``shared.rebuild.fold_replayed``): the edge, ``fold``
        and the ids of the own topics' events into ``bus.published``.
        """
        tail = bus.settings.rebuild_window_records

        async def replayed() -> AsyncIterator[tuple[Topic[E], Record, Event]]:
            for topic in (*own_topics, *inputs):
                by_partition: dict[int, list[Record]] = defaultdict(list)
                for record in self.records(topic):
                    by_partition[record.partition].append(record)
                for partition in sorted(by_partition):
                    for record in by_partition[partition][-tail:]:
                        try:
                            event = parse_event(record.value or b"")
                        except ValidationError:
                            continue  # as shared.replay.replay: what does not parse is not replayed
                        yield topic, record, event

        replay = replayed()
        return await fold_replayed(
            replay, fold, own=own_topics, ledger=bus.published, settings=bus.settings, clock=clock
        )

    # --- reading back -----------------------------------------------------------------------------------

    def records(self, topic: Topic[Event] | str) -> list[Record]:
        """Every record on ``topic`` (a Topic, or a name without the prefix: ``topic.dlq``), in the order appended."""
        name = topic if isinstance(topic, str) else topic.name
        return [entry.record for entry in self.log.get(name, ())]

    def published(self, topic: Topic[E], *, by: EventBus | None = None) -> list[E]:
        """The events the attached buses (or only ``by``) published on ``topic``, in order."""
        events: list[E] = []
        for entry in self.log.get(topic.name, ()):
            if entry.by is None or by not in (None, entry.by):
                continue
            event = parse_event(entry.record.value or b"")
            if not isinstance(event, topic.events):
                raise AssertionError(f"{event.type} published on {topic.name}, where it does not belong")
            events.append(event)
        return events

    def dead_letters(self, topic: Topic[Event]) -> list[Record]:
        """The records dead-lettered from ``topic`` (original bytes, ``dlq_*`` headers)."""
        return self.records(topic.dlq)

    # --- faults and interleavings ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def publishes_fail(self, *topics: Topic[Event] | str) -> Iterator[None]:
        """While inside, publishes to ``topics`` (every topic when none given) fail as with the broker unreachable.

        An awaited publish raises ``KafkaConnectionError``; a ``send``'s future fails with it. Nothing
        reaches the log.
        """
        names = frozenset(t if isinstance(t, str) else t.name for t in topics) or None
        failure = _Failure(names)
        self._failures.append(failure)
        try:
            yield
        finally:
            self._failures.remove(failure)

    def hold_acks(self) -> asyncio.Event:
        """From now on a ``send``'s acknowledgement waits until the returned event is set (the record is logged)."""
        self.acks_held = asyncio.Event()
        return self.acks_held

    def on_publish(self, topic: Topic[Event], action: OnPublish) -> None:
        """Run ``action`` during every publish to ``topic``, before the broker acknowledges it."""
        self._on_publish[topic.name].append(action)

    # --- inside -------------------------------------------------------------------------------------------

    def _name(self, name: str) -> str:
        return (self.prefix or "") + name

    def _bare(self, name: str) -> str:
        return name.removeprefix(self.prefix or "")

    def _fails(self, name: str) -> bool:
        return any(f.topics is None or name in f.topics for f in self._failures)

    def _new_record(self, topic: Topic[Event], event: Event, key: str | None, timestamp_ms: int | None) -> Record:
        value = encode_event(event)
        raw_key = (key or event.subject or event.correlationid or event.id).encode()
        headers = [
            ("content-type", CONTENT_TYPE.encode()),
            ("ce_type", event.type.encode()),
            ("ce_id", event.id.encode()),
        ]
        return ConsumerRecord(
            topic=self._name(topic.name), partition=0, offset=0,
            timestamp=timestamp_ms if timestamp_ms is not None else int(time.time() * 1000), timestamp_type=CREATE_TIME,
            key=raw_key, value=value, checksum=None, serialized_key_size=len(raw_key),
            serialized_value_size=len(value), headers=headers,
        )  # fmt: skip

    def _append(self, name: str, record: Record, by: EventBus | None, partition: int | None = None) -> Record:
        """Put ``record`` on the log of ``name`` at the partition Kafka would choose and its next offset."""
        if partition is None:
            partitions = PARTITIONS.get(name, 1)
            partition = partition_of(record.key.decode(), partitions) if record.key else 0
        offset = sum(1 for entry in self.log[name] if entry.record.partition == partition)
        stamped = dataclasses.replace(record, partition=partition, offset=offset)
        self.log[name].append(Entry(stamped, by))
        return stamped

    def _record(self, record: Record, bus: EventBus) -> None:
        """What the recording subscriber got from the test broker: on the log, and the acknowledgement for it."""
        correlation = dict(record.headers)["correlation_id"].decode()
        # the token is the harness's own (see _publish_scope): the real broker writes no correlation_id header
        record = dataclasses.replace(record, headers=[(k, v) for k, v in record.headers if k != "correlation_id"])
        stamped = self._append(self._bare(record.topic), record, bus, self._in_flight.pop(correlation))
        self._acknowledged[correlation] = stamped

    async def _publish_scope(
        self, call_next: Callable[[KafkaPublishCommand], Awaitable[Any]], cmd: KafkaPublishCommand
    ) -> Any:
        name = self._bare(cmd.destination)
        for action in self._on_publish.get(name, ()):
            await action()
        outcome: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
        if self._fails(name):
            outcome.set_exception(KafkaConnectionError(f"in-memory broker: publish to {cmd.destination} failed"))
        else:
            self._tokens += 1  # our own correlation id for the publish, taken off its record again in _record
            correlation = cmd.correlation_id = f"harness-{self._tokens}"
            self._in_flight[correlation] = cmd.partition
            await call_next(cmd)  # the test broker: to the recording subscriber
            record = self._acknowledged.pop(correlation)
            tp = TopicPartition(record.topic, record.partition)
            metadata = RecordMetadata(record.topic, record.partition, tp, record.offset, record.timestamp, 0, 0)
            if cmd.no_confirm and self.acks_held is not None:
                self._ack_later(outcome, metadata, self.acks_held)
            else:
                outcome.set_result(metadata)
        return outcome if cmd.no_confirm else await outcome

    def _ack_later(
        self, outcome: asyncio.Future[RecordMetadata], metadata: RecordMetadata, gate: asyncio.Event
    ) -> None:
        async def ack() -> None:
            await gate.wait()
            outcome.set_result(metadata)

        task = asyncio.create_task(ack())
        self._late_acks.add(task)
        task.add_done_callback(self._late_acks.discard)

    def _middleware(self, msg: Any, /, *, context: ContextRepo) -> BaseMiddleware[KafkaPublishCommand, Any]:
        return _Acknowledge(self, msg, context=context)


class _Acknowledge(BaseMiddleware[KafkaPublishCommand, Any]):
    """Publish through the test broker and answer as aiokafka would (see the module's docstring)."""

    def __init__(self, harness: BusHarness, msg: Any, /, *, context: ContextRepo) -> None:
        super().__init__(msg, context=context)
        self.harness = harness

    async def publish_scope(
        self, call_next: Callable[[KafkaPublishCommand], Awaitable[Any]], cmd: KafkaPublishCommand
    ) -> Any:
        return await self.harness._publish_scope(call_next, cmd)
