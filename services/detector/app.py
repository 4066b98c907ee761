"""Composition root of the detector: settings -> bus, state store, handlers, log loop -> ASGI app."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from faststream.asgi import AsgiFastStream

from services.detector.adapters.es_logs import ElasticsearchLogSource, LogFields
from services.detector.adapters.state_store import KafkaStateStore
from services.detector.handlers import MetricsHandler, RestoreOnAssign
from services.detector.log_loop import LogLoop
from services.detector.settings import DetectorSettings
from shared.bus import EventBus
from shared.consumer import GroupMember
from shared.rebuild import rebuild
from shared.runtime import Service
from shared.topics import ANOMALIES, METRICS

log = logging.getLogger(__name__)


@dataclass
class Detector:
    """The wired detector: its service, metrics handler and optional log loop."""

    service: Service
    settings: DetectorSettings
    metrics: MetricsHandler
    logs: LogLoop | None

    async def before_start(self) -> None:
        """Learn which anomaly events were already published (never re-emit after a restart)."""
        count = (await rebuild(self.service.bus, (ANOMALIES,))).applied
        log.info("warm-up: %d anomaly events already on %s", count, ANOMALIES.name)

    async def after_start(self) -> None:
        """Start the log loop (restoring its checkpoint first)."""
        if self.logs is not None:
            await self.logs.restore()
            self.service.spawn(self.logs.follow(), name="log-follow")
            self.service.spawn(self.logs.tick_forever(), name="log-tick")

    async def before_stop(self) -> None:
        """Stop the log loop, write the last checkpoints, close the log source."""
        if self.logs is not None:
            self.logs.stop()
        await self.service.stop_tasks()
        await self.metrics.flush()
        if self.logs is not None:
            await self.logs.save()
            if isinstance(self.logs.source, ElasticsearchLogSource):
                await self.logs.source.close()

    async def start(self) -> None:
        """Run without the HTTP server (tests, embedding): warm up, connect, start the log loop."""
        await self.before_start()
        await self.service.start()
        await self.after_start()
        self.service.ready.set()

    async def stop(self) -> None:
        """Counterpart of ``start``."""
        await self.before_stop()
        await self.service.stop()


def register(bus: EventBus, handler: MetricsHandler, settings: DetectorSettings) -> GroupMember:
    """Subscribe ``handler`` to the metrics topic in batches; its targets' checkpoints follow the assignment."""
    listener = RestoreOnAssign(handler, settings.topic_prefix + METRICS.name)
    return bus.subscribe_batch(METRICS, group_id=settings.group_id, handler=handler.on_metrics, listener=listener)


def build(settings: DetectorSettings) -> Detector:
    """Wire the detector from ``settings``; nothing connects until it starts."""
    service = Service.create("detector", settings)
    store = KafkaStateStore(service.broker, settings) if settings.checkpoint else None
    handler = MetricsHandler(service.bus, settings.detection(), store, checkpoint_s=settings.checkpoint_interval_s)
    register(service.bus, handler, settings)

    logs = None
    if settings.logs.enabled:
        lg = settings.logs
        fields = LogFields(lg.timestamp_field, lg.message_field, lg.level_field, lg.service_field, lg.host_field)
        source = ElasticsearchLogSource.from_url(
            settings.elasticsearch_url, options=settings.elasticsearch_options(), index=lg.index_pattern, fields=fields
        )
        logs = LogLoop(
            service.bus, source, store, lg, settings.log_watch(), checkpoint_s=settings.checkpoint_interval_s
        )
    return Detector(service, settings, handler, logs)


def create_app(settings: DetectorSettings) -> AsgiFastStream:
    """Build the ASGI app: metrics subscriber, log loop, /healthz, /readyz, /metrics."""
    detector = build(settings)
    app = detector.service.asgi_app(after_startup=[detector.after_start], on_shutdown=[detector.before_stop])
    app.on_startup(detector.before_start)
    return app
