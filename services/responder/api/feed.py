"""Feed the projection from Kafka: every partition of the timeline topics, from the beginning, forever.

The API reads with a group-less, assigned consumer rather than a consumer group: each API instance
must see every event (a group would split partitions between instances), nothing needs committing
because the read model is rebuilt from the topics at start-up, and an observer never writes dead
letters for records the core already dead-letters. ``caught_up`` is set once the offsets that were
the ends at start-up are reached (readiness).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Final

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry, Counter, Gauge
from pydantic import ValidationError

from services.responder.api.projection import Projection
from shared import topics as t
from shared.edge import check_event
from shared.events import Event, parse_event
from shared.replay import read_to_end
from shared.settings import ServiceSettings
from shared.stopping import stop_apart
from shared.text import clean_line

log = logging.getLogger(__name__)

FEED_TOPICS: Final[tuple[t.Topic[Event], ...]] = (
    t.INCIDENTS,
    t.ANOMALIES,
    t.NOTIFICATIONS,
    t.RECOVERY,
    t.RCA,
    t.COMMANDS,
    t.SILENCES,
    t.CHAOS,
)
RETRY_S: Final = 2.0
POLL_MS: Final = 500


class ProjectionFeed:
    """Keeps a ``Projection`` up to date with the topics."""

    def __init__(
        self,
        settings: ServiceSettings,
        projection: Projection,
        *,
        registry: CollectorRegistry,
        topics: tuple[t.Topic[Event], ...] = FEED_TOPICS,
    ) -> None:
        self.settings = settings
        self.projection = projection
        self.topic_names = [settings.topic_prefix + topic.name for topic in topics]
        self.caught_up = asyncio.Event()
        self.applied = Counter("ir_api_projection_events", "Events folded into the API read model", registry=registry)
        self.skipped = Counter("ir_api_projection_skipped", "Unreadable records the API skipped", registry=registry)
        self.ready_gauge = Gauge("ir_api_projection_caught_up", "1 once the read model has replayed", registry=registry)

    async def run(self) -> None:
        """Follow the topics until cancelled; reconnect (and re-read, deduplicated) after errors."""
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception:  # broker gone or metadata error: retry, the projection dedups on re-read
                log.exception("API projection feed failed; retrying in %.0fs", RETRY_S)
                await asyncio.sleep(RETRY_S)

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            client_id=f"responder-api-{self.settings.instance_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **self.settings.kafka_client_options(),
        )
        await consumer.start()
        try:
            async for record in read_to_end(consumer, await self._partitions(consumer)):
                self._apply(record.value or b"", record.timestamp)
            self._mark_caught_up()
            while True:
                batch = await consumer.getmany(timeout_ms=POLL_MS)
                for records in batch.values():
                    for record in records:
                        self._apply(record.value or b"", record.timestamp)
        finally:
            await stop_apart(consumer.stop(), name="api-feed-stop")

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        """Wait until every feed topic exists, then return all their partitions."""
        warned = False
        while True:
            existing = await consumer.topics()
            missing = [name for name in self.topic_names if name not in existing]
            if not missing:
                break
            if not warned:
                log.warning("API projection waiting for topics: %s", ", ".join(missing))
                warned = True
            await asyncio.sleep(RETRY_S)
        return [
            TopicPartition(name, p)
            for name in self.topic_names
            for p in sorted(consumer.partitions_for_topic(name) or ())
        ]

    def _apply(self, raw: bytes, record_time_ms: int | None = None) -> None:
        """Fold one record; a record the edge refuses or the read model cannot fold is skipped, never fatal."""
        try:
            event = parse_event(raw)
        except ValidationError:
            self.skipped.inc()
            return
        s = self.settings
        reason = check_event(
            event, record_time_ms, now=datetime.now(UTC), max_skew=s.max_event_skew, max_age=s.max_event_age
        )
        if reason is not None:
            log.warning("API projection skips event %s: %s", event.id, clean_line(reason))
            self.skipped.inc()
            return
        try:
            applied = self.projection.apply(event)
        except Exception:  # a record the read model cannot fold must not stop the feed
            log.exception("API projection could not fold event %s", event.id)
            self.skipped.inc()
            return
        if applied:
            self.applied.inc()

    def _mark_caught_up(self) -> None:
        if not self.caught_up.is_set():
            log.info("API projection caught up: %d events", len(self.projection))
            self.caught_up.set()
            self.ready_gauge.set(1)
