"""Composition root of the detector: settings -> bus, state store, handlers, log loop -> runtime."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from faststream.asgi.types import ASGIApp

from services.detector.adapters.es_logs import ElasticsearchLogSource, LogFields, LogSource
from services.detector.adapters.state_store import KafkaStateStore, StateStore
from services.detector.handlers import FAST_SCRAPES, MetricsHandler, RestoreOnAssign
from services.detector.log_loop import LogLoop
from services.detector.settings import DetectorSettings
from shared.bus import EventBus
from shared.consumer import GroupMember
from shared.rebuild import Clock, rebuild, utcnow
from shared.runtime import Hook, Service, runtime_app
from shared.topics import ANOMALIES, METRICS

log = logging.getLogger(__name__)


@dataclass
class DetectorRuntime:
    """The wired detector: its service, metrics handler and optional log loop."""

    service: Service
    settings: DetectorSettings
    metrics: MetricsHandler
    logs: LogLoop | None
    closers: tuple[Hook, ...] = ()  # close what ``build`` opened (not the injected adapters)

    async def rebuild(self) -> int:
        """Learn which anomaly events were already published (never re-emit after a restart); return how many."""
        count = (await rebuild(self.service.bus, (ANOMALIES,))).applied
        log.info("warm-up: %d anomaly events already on %s", count, ANOMALIES.name)
        return count

    async def start(self) -> None:
        """Warm up, connect and consume, then start the log loop (restoring its checkpoint first)."""
        await self.rebuild()
        await self.service.start()
        if self.logs is not None:
            await self.logs.restore()
            self.service.spawn(self.logs.follow(), name="log-follow")
            self.service.spawn(self.logs.tick_forever(), name="log-tick")
        self.service.ready.set()

    async def stop(self) -> None:
        """Stop the loops and consumers, write the last checkpoints, close the log source, disconnect."""
        await self.service.stop(before_disconnect=[self._save_and_close])

    async def _save_and_close(self) -> None:
        if self.logs is not None:
            self.logs.stop()
        await self.metrics.flush()
        if self.logs is not None:
            await self.logs.save()
        for close in self.closers:
            await close()

    def asgi_app(self) -> ASGIApp:
        """The HTTP app: /healthz, /readyz, /status, /metrics; its lifespan starts and stops the detector."""
        return runtime_app(self)


def register(bus: EventBus, handler: MetricsHandler, settings: DetectorSettings) -> GroupMember:
    """Subscribe ``handler`` to the metrics topic in batches; its targets' checkpoints follow the assignment."""
    listener = RestoreOnAssign(handler, settings.topic_prefix + METRICS.name)
    return bus.subscribe_batch(
        METRICS, group_id=settings.group_id, handler=handler.on_metrics, listener=listener, fast=FAST_SCRAPES
    )


def build(
    settings: DetectorSettings,
    *,
    clock: Clock | None = None,
    state_store: StateStore | None = None,
    log_source: LogSource | None = None,
) -> DetectorRuntime:
    """Wire the detector from ``settings``; nothing connects until it starts.

    Adapters (None: the production one, built from ``settings``): ``clock`` stamps anomaly revisions;
    ``state_store`` keeps the checkpoints (used when ``settings.checkpoint``; the state topic by
    default); ``log_source`` is what the log loop reads (used when ``settings.logs.enabled``;
    Elasticsearch by default, closed at stop).
    """
    service = Service.create("detector", settings)
    clock = clock or utcnow
    closers: list[Hook] = []
    store = (state_store or KafkaStateStore(service.broker, settings)) if settings.checkpoint else None
    handler = MetricsHandler(
        service.bus, settings.detection(), store, checkpoint_s=settings.checkpoint_interval_s,
        retention_s=settings.target_retention_s, clock=clock,
    )  # fmt: skip
    register(service.bus, handler, settings)

    logs = None
    if settings.logs.enabled:
        lg = settings.logs
        if log_source is None:
            fields = LogFields(lg.timestamp_field, lg.message_field, lg.level_field, lg.service_field, lg.host_field)
            source = ElasticsearchLogSource.from_url(
                settings.elasticsearch_url, options=settings.elasticsearch_options(), index=lg.index_pattern,
                fields=fields,
            )  # fmt: skip
            closers.append(source.close)
            log_source = source
        logs = LogLoop(
            service.bus, log_source, store, lg, settings.log_watch(), checkpoint_s=settings.checkpoint_interval_s,
            clock=clock,
        )  # fmt: skip
    return DetectorRuntime(service, settings, handler, logs, tuple(closers))
