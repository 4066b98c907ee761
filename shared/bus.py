"""Kafka edge of every service: publish CloudEvents idempotently, consume with dedup and dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from aiokafka import ConsumerRebalanceListener, ConsumerRecord
from faststream.kafka import KafkaBroker

from shared.consumer import GroupMember, MemberConfig
from shared.edge import Refused, admit
from shared.events import Envelope, encode_event
from shared.fetch_wait import install_fetch_wait_floor
from shared.ledger import Ledger
from shared.replay import replay
from shared.settings import ServiceSettings
from shared.telemetry import ServiceMetrics
from shared.topics import Topic, topic_of

log = logging.getLogger(__name__)

CONTENT_TYPE: Final = "application/cloudevents+json; charset=utf-8"
HANDLER_ATTEMPTS: Final = 3
# A dead letter carries the original bytes plus headers; above this size it keeps a prefix and says so,
# since the original plus headers could exceed what a broker accepts (noida-db: ~1,000,000 bytes).
DLQ_MAX_VALUE_BYTES: Final = 900_000


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a consumed event came from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None


Handler = Callable[[Envelope[Any], Delivery], Awaitable[None]]


class RejectedEvent(Exception):
    """A handler's verdict that an event can never be processed; it goes to the dead-letter topic."""


def make_broker(settings: ServiceSettings, *, client_id: str) -> KafkaBroker:
    """Create the service's broker from settings (no connection is made until start)."""
    install_fetch_wait_floor()
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=client_id,
        security=settings.kafka_security(),
        acks="all",
        logger=logging.getLogger(f"faststream.{client_id}"),
        log_level=logging.DEBUG,
    )


class EventBus:
    """Publishing and consuming the event contract over one broker.

    ``published`` remembers every event id this service emitted (rebuilt from its output topics
    by ``warm_up``), so publishing the same derived event twice is a no-op; ``seen`` drops
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

    async def publish(self, event: Envelope[Any], *, key: str, partition: int | None = None) -> bool:
        """Publish ``event`` on its topic unless it was published before; return True if sent."""
        if event.id in self.published:
            return False
        topic = topic_of(type(event))
        await self.broker.publish(
            encode_event(event),
            self.prefix + topic.name,
            key=key.encode(),
            partition=partition,
            headers={"content-type": CONTENT_TYPE, "ce_type": event.type, "ce_id": event.id},
        )
        self.published.add(event.id)
        self.metrics.events_out.labels(topic.name, event.type).inc()
        return True

    async def warm_up(self, settings: ServiceSettings, topics: Iterable[Topic]) -> int:
        """Load the ids already on ``topics`` (this service's outputs) into ``published``."""
        count = 0
        names = [settings.topic_prefix + t.name for t in topics]
        async for _, event in replay(settings, names, tail=settings.rebuild_window_records):
            self.published.add(event.id)
            count += 1
        return count

    def subscribe(
        self,
        topic: Topic,
        *,
        group_id: str,
        handler: Handler,
        listener: ConsumerRebalanceListener | None = None,
        broadcast: bool = False,
    ) -> GroupMember:
        """Register ``handler`` for every valid event on ``topic`` (at-least-once, committed per batch).

        Consuming starts with ``start_consumers``; the returned member tells its assignment and progress.
        With ``broadcast`` every instance of the service sees every record (a group of its own, named
        after its instance, starting at the end of the topic the first time) instead of sharing them.
        """
        if broadcast:
            group_id = f"{group_id}.{self.settings.instance_id}"
        name = self.prefix + topic.name

        async def on_record(record: ConsumerRecord[Any, Any]) -> None:
            await self.handle(topic, record, handler)

        member = GroupMember(
            self.settings,
            topic=name,
            group_id=group_id,
            client_id=f"{self.client_id}.{topic.name}",
            on_record=on_record,
            on_batch_done=_nothing_pending,
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

    async def handle(self, topic: Topic, record: ConsumerRecord[Any, Any], handler: Handler) -> None:
        """Parse, dedup and dispatch one record; never raise (bad records go to the DLQ)."""
        raw: bytes = record.value or b""
        delivery = Delivery(record.topic, record.partition, record.offset, record.key)
        undecodable = _undecodable_header(record)
        if undecodable is not None:
            await self.dead_letter(topic, record, f"header {undecodable!r} is not UTF-8")
            return
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
            return
        event = verdict.event
        if not self.seen.add(event.id):
            self.metrics.duplicates.labels(topic.name).inc()
            return
        self.metrics.events_in.labels(topic.name, event.type).inc()
        started = time.perf_counter()
        for attempt in range(1, HANDLER_ATTEMPTS + 1):
            try:
                await handler(event, delivery)
                break
            except RejectedEvent as exc:
                await self.dead_letter(topic, record, f"rejected: {exc}")
                break
            except Exception as exc:  # a handler bug or a transient adapter error: bounded retry
                outcome = "dead_lettered" if attempt == HANDLER_ATTEMPTS else "retried"
                self.metrics.errors.labels(topic.name, outcome).inc()
                log.exception(
                    "handler failed topic=%s partition=%s offset=%s event_id=%s attempt=%d",
                    record.topic,
                    record.partition,
                    record.offset,
                    event.id,
                    attempt,
                )
                if attempt == HANDLER_ATTEMPTS:
                    await self.dead_letter(topic, record, f"handler failed {attempt}x: {type(exc).__name__}: {exc}")
                else:
                    await asyncio.sleep(0.2 * 2**attempt)
        self.metrics.latency.labels(topic.name).observe(time.perf_counter() - started)

    async def dead_letter(self, topic: Topic, record: ConsumerRecord[Any, Any], reason: str) -> None:
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
        if len(value) > DLQ_MAX_VALUE_BYTES:
            headers["dlq_truncated_from"] = str(len(value))
            value = value[:DLQ_MAX_VALUE_BYTES]
        await self.broker.publish(value, self.prefix + topic.dlq, key=record.key, headers=headers)


async def _nothing_pending() -> None:
    """Publishing awaits each send, so a batch has nothing left to flush when its records are handled."""


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
