"""Composition root of the rca service: settings -> window store -> handlers -> runtime."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from elasticsearch import AsyncElasticsearch
from faststream.asgi.types import ASGIApp

from services.rca.handlers import RcaHandlers
from services.rca.settings import RcaSettings
from services.rca.store import WindowStore
from services.rca.usecase import utc_now
from shared import events as ev
from shared import topics
from shared.rebuild import Clock, rebuild
from shared.runtime import Hook, Service, runtime_app

log = logging.getLogger(__name__)


def make_es(settings: RcaSettings) -> AsyncElasticsearch:
    """Create the official async Elasticsearch client (no connection until first use)."""
    return AsyncElasticsearch(settings.elasticsearch_url, request_timeout=10, **settings.elasticsearch_options())


@dataclass
class RcaRuntime:
    """The wired rca service: the store and the incident map are rebuilt from the topics before consuming."""

    service: Service
    store: WindowStore
    handlers: RcaHandlers
    closers: tuple[Hook, ...] = ()  # close what ``build`` opened (not the injected client)

    async def rebuild(self) -> int:
        """Fold metrics, anomalies, incidents and recovery into the store and the incident map; return how many."""
        store, handlers = self.store, self.handlers

        def fold(event: ev.Event) -> None:
            store.add(event)
            handlers.remember(event)

        inputs = (topics.METRICS, topics.ANOMALIES, topics.INCIDENTS, topics.RECOVERY)
        count = (await rebuild(self.service.bus, (topics.RCA, topics.ACTIONS), fold, inputs=inputs)).applied
        log.info("rca state rebuilt from %d events: %d series, %d incidents", count, len(store.series),
                 len(handlers.incidents))  # fmt: skip
        return count

    async def start(self) -> None:
        """Rebuild, then connect and consume."""
        await self.rebuild()
        await self.service.start()
        self.service.ready.set()

    async def stop(self) -> None:
        """Stop the consumers, close the Elasticsearch client ``build`` made, disconnect."""
        await self.service.stop(before_disconnect=self.closers)

    def asgi_app(self) -> ASGIApp:
        """The HTTP app: /healthz, /readyz, /status, /metrics; its lifespan starts and stops the service."""
        return runtime_app(self)


def build(
    settings: RcaSettings,
    *,
    clock: Clock | None = None,
    es: AsyncElasticsearch | None = None,
) -> RcaRuntime:
    """Wire the rca service; nothing connects until it starts.

    Adapters (None: the production one): ``clock`` stamps the reports; ``es`` indexes them (used when
    ``settings.index_reports``; a client for ``settings.elasticsearch_url`` by default, closed at stop).
    """
    service = Service.create("rca", settings)
    bus = service.bus
    store = WindowStore(retention_s=settings.store_retention_s, max_points=settings.store_max_points)
    closers: list[Hook] = []
    if not settings.index_reports:
        es = None
    elif es is None:
        es = make_es(settings)
        closers.append(es.close)
    handlers = RcaHandlers(settings, bus, store, es, clock=clock or utc_now)
    # Every instance keeps every entity's series and every incident (an analysis needs them all); the
    # incidents group decides which instance analyses which incident (its key's partition); recovery
    # outcomes and commands are shared by the instances' groups: each is analysed once.
    group = settings.group_id
    bus.subscribe(topics.METRICS, group_id=f"{group}-metrics", handler=handlers.on_observation, broadcast=True)
    bus.subscribe(topics.ANOMALIES, group_id=f"{group}-anomalies", handler=handlers.on_observation, broadcast=True)
    bus.subscribe(topics.INCIDENTS, group_id=group, handler=handlers.on_incident)
    bus.subscribe(topics.RECOVERY, group_id=f"{group}-recovery", handler=handlers.on_recovery)
    bus.subscribe(topics.COMMANDS, group_id=f"{group}-commands", handler=handlers.on_command)
    return RcaRuntime(service, store, handlers, tuple(closers))
