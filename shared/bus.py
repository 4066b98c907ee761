"""Kafka edge of every service: publish CloudEvents idempotently, consume with dedup and dead letters."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Generic, Protocol, TypeAlias, TypeVar, overload

import msgspec
from aiokafka import ConsumerRebalanceListener, ConsumerRecord
from faststream.kafka import KafkaBroker

from shared.consumer import GroupMember, MemberConfig
from shared.edge import Refused, admit, credible_at
from shared.errors import BrokerError, EventError
from shared.events import Event, encode_event, parse_event
from shared.ledger import Ledger
from shared.record_batches import BrokerBatches
from shared.replay import replay
from shared.settings import ServiceSettings
from shared.telemetry import ServiceMetrics
from shared.topics import Topic, topic_of

log = logging.getLogger(__name__)

CONTENT_TYPE: Final = "application/cloudevents+json; charset=utf-8"
CONTENT_TYPE_HEADER: Final = ("content-type", CONTENT_TYPE.encode())
HANDLER_ATTEMPTS: Final = 3
RECENT_CAPACITY: Final = 10_000
"""Acknowledged events the bus keeps, newest last, to check after a broker outage (``resend_missing``)."""
TAIL_FACTOR: Final = 4
# A dead letter carries the original bytes plus headers; above this size it keeps a prefix and says so,
# since the original plus headers could exceed what a broker accepts (noida-db: ~1,000,000 bytes).
DLQ_MAX_VALUE_BYTES: Final = 900_000


class Delivery(msgspec.Struct, frozen=True, gc=False):
    """Where a consumed event came from (a struct: built once per record, ten times cheaper than a dataclass)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None


class Identified(Protocol):
    """What the bus reads of an admitted event: its id (redeliveries are dropped by it) and its type (counted)."""

    @property
    def id(self) -> str: ...

    @property
    def type(self) -> str: ...


E = TypeVar("E", bound=Event)
V = TypeVar("V", bound=Identified)
I_co = TypeVar("I_co", bound=Identified, covariant=True)

Handler: TypeAlias = Callable[[E, Delivery], Awaitable[None]]
"""Handles one admitted event of a topic whose events are ``E``."""


class Received(msgspec.Struct, Generic[I_co], frozen=True):
    """One admitted event of a batch (or the view a ``FastAdmission`` gives of it), with where it came from."""

    event: I_co
    delivery: Delivery


@dataclass(frozen=True, slots=True)
class Rejection(Generic[I_co]):
    """A batch handler's verdict that one event can never be processed (it goes to the dead-letter topic)."""

    item: Received[I_co]
    reason: str


BatchHandler: TypeAlias = Callable[[list[Received[V]]], Awaitable[list[Rejection[V]]]]
"""Handles every admitted event of one fetch at once, in order; returns the ones it rejects."""


@dataclass(frozen=True, slots=True)
class FastAdmission(Generic[E, V]):
    """A cheaper way in for the records of a hot topic: decoded straight to what its batch handler reads.

    The edge stays the judge: a record ``decode`` is not sure of goes the full way (schema, edge
    checks, dead letter with the schema's reason) and its event reaches the handler as ``view`` of it.
    """

    decode: Callable[[bytes], V | None]
    """The record's view if the full schema certainly admits it, with the same values; else None."""
    moments: Callable[[V], Iterable[datetime]]
    """The view's observation times (``edge.observation_times`` of its event), judged as the edge judges them."""
    view: Callable[[E], V]
    """What the handler reads of an event the full way admitted."""


class PublishFailed(BrokerError):
    """Events sent with ``EventBus.send`` were not acknowledged; they are sent again by the next flush."""


class RejectedEvent(EventError):
    """A handler's verdict that an event can never be processed; it goes to the dead-letter topic."""


class EventBus:
    """Publishing and consuming the event contract over one broker.

    ``published`` remembers every event id this service emitted (rebuilt from its output topics
    by ``shared.rebuild.rebuild``), so publishing the same derived event twice is a no-op; ``seen`` drops
    redelivered inputs. Malformed records and events a handler rejects go to ``<topic>.dlq``
    with the reason and the original bytes, and the consumer keeps going.
    """

    def __init__(
        self,
        broker: KafkaBroker,
        *,
        source: str,
        metrics: ServiceMetrics,
        settings: ServiceSettings | None = None,
        client_id: str = "incidentctl",
        member_config: MemberConfig | None = None,
    ) -> None:
        self.broker = broker
        self.settings = settings or ServiceSettings()
        self.prefix = self.settings.topic_prefix
        self.source = source
        self.metrics = metrics
        self.client_id = client_id
        self.member_config = member_config
        self.members: list[GroupMember] = []
        self.published = Ledger()
        self.seen = Ledger()
        self._unacked: dict[
            str, tuple[asyncio.Future[Any], Event, str, bytes]
        ] = {}  # id -> (future, event, key, bytes)
        # (acknowledged at, id, class, key, the bytes sent): bytes, not the event, so the garbage collector
        # has no object graph of each of the last RECENT_CAPACITY events to walk
        self.recent: deque[tuple[float, str, type[Event], str, bytes]] = deque(maxlen=RECENT_CAPACITY)
        self._failed: list[tuple[Event, str]] = []
        self._routes: dict[type[Event], _Route] = {}
        self._batches = BrokerBatches(broker)

    async def publish(self, event: Event, *, key: str, partition: int | None = None) -> bool:
        """Publish ``event`` on its topic unless it was published before; return True once acknowledged."""
        if event.id in self.published or event.id in self._unacked:
            return False
        _, value = await self._produce(event, key, partition=partition, confirm=True)
        self._acknowledged(event, key, value)
        return True

    async def send(self, event: Event, *, key: str) -> bool:
        """Queue ``event`` without waiting for the broker (unless published before); ``flush`` waits.

        For hot paths: a batch's events go out together and the consumer commits after its flush.
        Return True if queued.
        """
        if event.id in self.published or event.id in self._unacked:
            return False
        future, value = await self._produce(event, key, confirm=False)
        self._unacked[event.id] = (future, event, key, value)
        return True

    async def resend_missing(self, within_s: float) -> int:
        """Send again the events acknowledged in the last ``within_s`` seconds that are not on their topics now.

        For after a broker outage: a broker that dies right after acknowledging may come back
        without those records (noida-db does). Only the missing ones go out again, same ids: an old
        copy of one that survived would land after newer events and read as the latest. Call
        ``flush`` to wait for them; return how many were queued.
        """
        since = time.monotonic() - within_s
        recent = [(event_id, cls, key, value) for at, event_id, cls, key, value in self.recent if at >= since]
        if not recent:
            return 0
        names = sorted({self._route(cls).topic for _, cls, _, _ in recent})
        tail = TAIL_FACTOR * len(recent)  # per partition: other writers' records are interleaved
        present = {event.id async for _, event in replay(self.settings, names, tail=tail)}
        missing = [(event_id, key, value) for event_id, _, key, value in recent if event_id not in present]
        for event_id, key, value in missing:
            if event_id not in self._unacked:
                event = parse_event(value)  # the same bytes go out; the event is kept should they fail again
                future, _ = await self._produce(event, key, confirm=False, encoded=value)
                self._unacked[event_id] = (future, event, key, value)
        return len(missing)

    async def flush(self) -> None:
        """Wait until every event queued by ``send`` is acknowledged; raise PublishFailed if some were not.

        Unacknowledged events are kept and queued again, first, by the next flush: a failed batch
        loses nothing while the process lives (its offsets are not committed either). Flushes may
        overlap (a consumer's and the clock's): each waits for every event queued before it began,
        also those another flush is waiting for, so none returns before they are acknowledged.
        """
        retry, self._failed = self._failed, []
        for event, key in retry:
            await self.send(event, key=key)
        if not self._unacked:
            return
        await self._batches.submit()
        pending = list(self._unacked.values())
        results = await _outcomes([future for future, _, _, _ in pending])
        failed = 0
        acknowledged_at = time.monotonic()
        counted: dict[tuple[type[Event], str], int] = {}  # events out by class and type, counted once per flush
        for (future, event, key, value), result in zip(pending, results, strict=True):
            failed += isinstance(result, BaseException)
            entry = self._unacked.get(event.id)
            if entry is None or entry[0] is not future:
                continue  # settled by an overlapping flush
            del self._unacked[event.id]
            if isinstance(result, BaseException):
                self._failed.append((event, key))
            else:
                self.published.add(event.id)
                self.recent.append((acknowledged_at, event.id, type(event), key, value))
                counted[type(event), event.type] = counted.get((type(event), event.type), 0) + 1
        for (event_type, type_name), count in counted.items():
            self.metrics.counted_out(self._route(event_type).name, type_name).inc(count)
        if failed:
            raise PublishFailed(f"{failed} of {len(pending)} events not acknowledged; kept to resend")

    async def _produce(
        self, event: Event, key: str, *, partition: int | None = None, confirm: bool, encoded: bytes | None = None
    ) -> tuple[asyncio.Future[Any], bytes]:
        """Send ``event`` (as ``encoded`` when given: its bytes sent before); return the send's future and the bytes."""
        route = self._route(type(event))
        value = encode_event(event) if encoded is None else encoded
        if not confirm:
            headers = [CONTENT_TYPE_HEADER, route.type_header, ("ce_id", event.id.encode())]
            return await self._batches.queue(route.topic, value, key=key.encode(), partition=partition,
                                             headers=headers), value  # fmt: skip
        await self._batches.submit()  # what was sent before goes first (one partition, one order)
        sent: asyncio.Future[Any] = await self.broker.publish(
            value, route.topic, key=key.encode(), partition=partition,
            headers={"content-type": CONTENT_TYPE, "ce_type": event.type, "ce_id": event.id},
        )  # fmt: skip
        return sent, value

    def _route(self, event_type: type[Event]) -> _Route:
        """Where events of ``event_type`` go (its topic, with this bus's prefix) and their ``ce_type`` header."""
        route = self._routes.get(event_type)
        if route is None:
            name = topic_of(event_type).name
            route = _Route(name, self.prefix + name, ("ce_type", event_type.event_type.encode()))
            self._routes[event_type] = route
        return route

    def _acknowledged(self, event: Event, key: str, value: bytes) -> None:
        self.published.add(event.id)
        self.recent.append((time.monotonic(), event.id, type(event), key, value))
        self.metrics.counted_out(self._route(type(event)).name, event.type).inc()

    def subscribe(
        self,
        topic: Topic[E],
        *,
        group_id: str,
        handler: Handler[E],
        listener: ConsumerRebalanceListener | None = None,
        broadcast: bool = False,
        has: Callable[[str], bool] | None = None,
    ) -> GroupMember:
        """Register ``handler`` for every valid event on ``topic`` (at-least-once, committed per batch).

        Consuming starts with ``start_consumers``; the returned member tells its assignment and progress.
        With ``broadcast`` every instance of the service sees every record (a group of its own, named
        after its instance, starting at the end of the topic the first time) instead of sharing them.
        ``has`` tells, by the record's ``ce_id`` header, an event the subscriber already holds (one it
        wrote and folded itself): such a record is passed over unparsed, as the handler would change nothing.
        """
        one_by_one = _as_batch(handler)

        async def on_records(records: list[ConsumerRecord[Any, Any]]) -> None:
            generation = member.revocations
            for record in records:
                if member.revocations != generation:
                    break  # partitions were taken mid-batch: the rest goes to their next owner
                if has is not None and has(_header(record, "ce_id")):
                    continue
                item = await self._admit(topic, record)
                if item is not None:
                    await self._dispatch_batch(topic, [(record, item)], one_by_one)
                member.progress.touch()

        member = self._member(topic, group_id, on_records, listener=listener, broadcast=broadcast)
        return member

    @overload
    def subscribe_batch(
        self,
        topic: Topic[E],
        *,
        group_id: str,
        handler: BatchHandler[E],
        listener: ConsumerRebalanceListener | None = None,
    ) -> GroupMember: ...

    @overload
    def subscribe_batch(
        self,
        topic: Topic[E],
        *,
        group_id: str,
        handler: BatchHandler[V],
        listener: ConsumerRebalanceListener | None = None,
        fast: FastAdmission[E, V],
    ) -> GroupMember: ...

    def subscribe_batch(
        self,
        topic: Topic[E],
        *,
        group_id: str,
        handler: BatchHandler[Any],
        listener: ConsumerRebalanceListener | None = None,
        fast: FastAdmission[E, Any] | None = None,
    ) -> GroupMember:
        """Register ``handler`` for the admitted events of each fetch on ``topic``, all at once.

        The handler runs the engine over the whole batch and may ``send`` its outputs without
        waiting: the bus flushes them before the batch's offsets are committed. A batch that fails
        ``HANDLER_ATTEMPTS`` times is handled again one event at a time, so only the events that
        still fail go to the dead-letter topic. With ``fast``, records are decoded its way first
        (see ``FastAdmission``) and the handler reads views.
        """

        async def on_records(records: list[ConsumerRecord[Any, Any]]) -> None:
            if fast is None:
                admitted = [(r, item) for r in records if (item := await self._admit(topic, r)) is not None]
            else:
                admitted = await self._admit_fast(topic, records, fast)
            if admitted:
                await self._dispatch_batch(topic, admitted, handler)

        return self._member(topic, group_id, on_records, listener=listener, broadcast=False)

    async def _admit_fast(
        self, topic: Topic[E], records: list[ConsumerRecord[Any, Any]], fast: FastAdmission[E, V]
    ) -> list[tuple[ConsumerRecord[Any, Any], Received[V]]]:
        """``_admit`` for a batch, each record decoded by ``fast`` where it is sure, else the full way."""
        # One clock reading for the batch: a record admitted a few milliseconds late is judged as early.
        credible = credible_at(
            datetime.now(UTC), max_skew=self.settings.max_event_skew, max_age=self.settings.max_event_age
        )
        admitted: list[tuple[ConsumerRecord[Any, Any], Received[V]]] = []
        counted: collections.Counter[str] = collections.Counter()  # counted in once per batch (a lock each)
        duplicates = 0
        for record in records:
            view = fast.decode(record.value or b"") if _undecodable_header(record) is None else None
            if view is not None and credible(fast.moments(view), record.timestamp):
                if not self.seen.add(view.id):
                    duplicates += 1
                    continue
                counted[view.type] += 1
                admitted.append((record, Received(view, _delivery(record))))
                continue
            event = await self._admit(topic, record)
            if event is not None:
                admitted.append((record, Received(fast.view(event.event), event.delivery)))
        for event_type, count in counted.items():
            self.metrics.counted_in(topic.name, event_type).inc(count)
        if duplicates:
            self.metrics.duplicates.labels(topic.name).inc(duplicates)
        return admitted

    def _member(
        self,
        topic: Topic[Event],
        group_id: str,
        on_records: Callable[[list[ConsumerRecord[Any, Any]]], Awaitable[None]],
        *,
        listener: ConsumerRebalanceListener | None,
        broadcast: bool,
    ) -> GroupMember:
        # The topic prefix names the groups too: stacks (or a replay, `incidentctl replay --into`) sharing a
        # cluster never join each other's groups, whose rebalances would stall the other's consumers.
        group_id = self.prefix + group_id
        if broadcast:
            group_id = f"{group_id}.{self.settings.instance_id}"
        member = GroupMember(
            self.settings,
            topic=self.prefix + topic.name,
            group_id=group_id,
            client_id=f"{self.client_id}.{topic.name}",
            on_records=on_records,
            on_batch_done=self.flush,
            listener=listener,
            config=self.member_config,
            on_lag=self._set_lag,
            offset_reset="latest" if broadcast else "earliest",
        )
        self.members.append(member)
        self.metrics.known_topic(topic)
        return member

    async def start_consumers(self) -> None:
        """Start every subscription's member (joining goes on in the background)."""
        for member in self.members:
            member.start()

    async def stop_consumers(self) -> None:
        """Stop every member; each leaves its group so its partitions move at once."""
        await asyncio.gather(*(member.stop() for member in self.members))

    def _set_lag(self, topic: str, partition: int, behind: int) -> None:
        name = topic.removeprefix(self.prefix)
        if behind < 0:
            with contextlib.suppress(KeyError):
                self.metrics.lag.remove(name, str(partition))
            return
        self.metrics.lag.labels(name, str(partition)).set(behind)

    async def _admit(self, topic: Topic[E], record: ConsumerRecord[Any, Any]) -> Received[E] | None:
        """The record's event if the edge admits it and it is not a redelivery; dead-letter it if refused."""
        raw: bytes = record.value or b""
        undecodable = _undecodable_header(record)
        if undecodable is not None:
            await self.dead_letter(topic, record, f"header {undecodable!r} is not UTF-8")
            return None
        verdict = admit(
            raw,
            record.timestamp,
            allowed=topic.events,
            now=datetime.now(UTC),
            max_skew=self.settings.max_event_skew,
            max_age=self.settings.max_event_age,
        )
        if isinstance(verdict, Refused):
            await self.dead_letter(topic, record, verdict.reason)
            return None
        return self._received(topic, verdict.event, record)

    def _received(self, topic: Topic[E], event: V, record: ConsumerRecord[Any, Any]) -> Received[V] | None:
        """``event`` as admitted from ``record``, or None if it is a redelivery (counted either way)."""
        if not self.seen.add(event.id):
            self.metrics.duplicates.labels(topic.name).inc()
            return None
        self.metrics.counted_in(topic.name, event.type).inc()
        return Received(event, _delivery(record))

    async def _dispatch_batch(
        self, topic: Topic[E], admitted: list[tuple[ConsumerRecord[Any, Any], Received[V]]], handler: BatchHandler[V]
    ) -> None:
        """Run ``handler`` on a batch with bounded retries; a batch that keeps failing is split into single events.

        An output the broker did not acknowledge (``PublishFailed``) is no fault of the input: after the
        retries it propagates, the batch is not committed and the consumer redelivers it.
        """
        started = time.perf_counter()
        items = [item for _, item in admitted]
        record_of = {id(item): record for record, item in admitted}
        for attempt in range(1, HANDLER_ATTEMPTS + 1):
            try:
                rejected = await handler(items)
            except PublishFailed:
                if attempt == HANDLER_ATTEMPTS:
                    raise  # the outputs cannot be written, the inputs are fine: not committed, redelivered
                self.metrics.errors.labels(topic.name, "retried").inc()
                await asyncio.sleep(0.2 * 2**attempt)
                continue
            except Exception as exc:  # a handler bug or a transient adapter error: bounded retry
                last = attempt == HANDLER_ATTEMPTS
                if last and len(admitted) > 1:
                    log.warning("batch of %d on %s failed %dx; handling its events one by one", len(items),
                                topic.name, attempt)  # fmt: skip
                    for record, item in admitted:
                        await self._dispatch_batch(topic, [(record, item)], handler)
                    return
                self.metrics.errors.labels(topic.name, "dead_lettered" if last else "retried").inc()
                first = admitted[0][0]
                log.exception(
                    "handler failed topic=%s partition=%s offset=%s events=%d first_event_id=%s attempt=%d",
                    first.topic, first.partition, first.offset, len(items), items[0].event.id, attempt,
                )  # fmt: skip
                if last:
                    await self.dead_letter(topic, first, f"handler failed {attempt}x: {type(exc).__name__}: {exc}")
                else:
                    await asyncio.sleep(0.2 * 2**attempt)
                continue
            for rejection in rejected:
                await self.dead_letter(topic, record_of[id(rejection.item)], f"rejected: {rejection.reason}")
            break
        self.metrics.latency.labels(topic.name).observe(time.perf_counter() - started)

    async def dead_letter(self, topic: Topic[Event], record: ConsumerRecord[Any, Any], reason: str) -> None:
        """Publish the original bytes of ``record`` and the reason to the topic's dead-letter topic."""
        log.warning(
            "dead letter topic=%s partition=%s offset=%s reason=%s",
            record.topic,
            record.partition,
            record.offset,
            _printable(reason)[:500],
        )
        self.metrics.dead_letters.labels(topic.name).inc()
        value: bytes = record.value or b""
        headers = {
            "content-type": "application/octet-stream",
            "dlq_reason": _printable(reason)[:2000],
            "dlq_topic": record.topic,
            "dlq_partition": str(record.partition),
            "dlq_offset": str(record.offset),
            "dlq_source": self.source,
        }
        headers |= _carried_headers(record)
        if len(value) > DLQ_MAX_VALUE_BYTES:
            headers["dlq_truncated_from"] = str(len(value))
            value = value[:DLQ_MAX_VALUE_BYTES]
        await self.broker.publish(value, self.prefix + topic.dlq, key=record.key, headers=headers)


def _delivery(record: ConsumerRecord[Any, Any]) -> Delivery:
    return Delivery(record.topic, record.partition, record.offset, record.key)


async def _outcomes(futures: list[asyncio.Future[Any]]) -> list[Any]:
    """Each future's result, or its exception (``CancelledError`` if cancelled), once all are done.

    ``gather(..., return_exceptions=True)`` without its task and callback per future: a batch's
    sends are acknowledged together, so after the first wait the rest are done already. Unlike
    ``gather``, cancelling the flush cancels none of the sends (aiokafka sends a cancelled one anyway).
    """
    outcomes: list[Any] = []
    for sent in futures:
        future = sent if isinstance(sent, asyncio.Future) else asyncio.ensure_future(sent)  # as ``gather`` takes it
        if not future.done():
            await asyncio.wait((future,))
        if future.cancelled():
            outcomes.append(asyncio.CancelledError())
        else:
            exc = future.exception()
            outcomes.append(future.result() if exc is None else exc)
    return outcomes


@dataclass(frozen=True, slots=True)
class _Route:
    """Where the events of one class are published: the topic's name, with the bus's prefix, and their type header."""

    name: str
    topic: str
    type_header: tuple[str, bytes]


def _as_batch(handler: Handler[E]) -> BatchHandler[E]:
    """A per-event handler as a batch handler of one event (``RejectedEvent`` becomes its rejection)."""

    async def one(items: list[Received[E]]) -> list[Rejection[E]]:
        try:
            await handler(items[0].event, items[0].delivery)
        except RejectedEvent as exc:
            return [Rejection(items[0], str(exc))]
        return []

    return one


CARRIED_HEADERS: Final = {"content-type": "dlq_content_type", "ce_type": "ce_type", "ce_id": "ce_id"}
"""Original headers a dead letter keeps (under these names), so a re-drive restores them."""


def _carried_headers(record: ConsumerRecord[Any, Any]) -> dict[str, str]:
    carried: dict[str, str] = {}
    for name, value in record.headers or ():
        if name in CARRIED_HEADERS and isinstance(value, bytes):
            with contextlib.suppress(UnicodeDecodeError):
                carried[CARRIED_HEADERS[name]] = _printable(value.decode())[:200]
    return carried


def _header(record: ConsumerRecord[Any, Any], name: str) -> str:
    """The value of the record's header ``name`` ("" if absent or not UTF-8)."""
    for key, value in record.headers or ():
        if key == name and isinstance(value, bytes):
            with contextlib.suppress(UnicodeDecodeError):
                return value.decode()
    return ""


def _undecodable_header(record: ConsumerRecord[Any, Any]) -> str | None:
    """Name of the first header whose value is not UTF-8 (FastStream-style readers would choke on it)."""
    for name, value in record.headers or ():
        try:
            if isinstance(value, bytes):
                value.decode()
        except UnicodeDecodeError:
            return _printable(name)
    return None


def _printable(text: str) -> str:
    """Drop control characters (a reason may quote hostile input that ends up in logs and headers)."""
    return "".join(ch if ch.isprintable() else " " for ch in text)
