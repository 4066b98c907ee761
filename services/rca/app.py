"""Composition root of the rca service: settings -> window store -> handlers -> ASGI app."""

from __future__ import annotations

import logging

from elasticsearch import AsyncElasticsearch
from faststream.asgi import AsgiFastStream

from services.rca.handlers import RcaHandlers
from services.rca.settings import RcaSettings
from services.rca.store import WindowStore
from shared import events as ev
from shared import topics
from shared.rebuild import rebuild
from shared.runtime import Service

log = logging.getLogger(__name__)


def make_es(settings: RcaSettings) -> AsyncElasticsearch:
    """Create the official async Elasticsearch client (no connection until first use)."""
    return AsyncElasticsearch(settings.elasticsearch_url, request_timeout=10, **settings.elasticsearch_options())


def create_app(settings: RcaSettings) -> tuple[Service, AsgiFastStream]:
    """Wire the rca service; the store and the incident map are rebuilt from the topics before consuming."""
    service = Service.create("rca", settings)
    bus = service.bus
    store = WindowStore(retention_s=settings.store_retention_s, max_points=settings.store_max_points)
    es = make_es(settings) if settings.index_reports else None
    handlers = RcaHandlers(settings, bus, store, es)
    # Every instance keeps every entity's series and every incident (an analysis needs them all); the
    # incidents group decides which instance analyses which incident (its key's partition).
    group = settings.group_id
    bus.subscribe(topics.METRICS, group_id=f"{group}-metrics", handler=handlers.on_observation, broadcast=True)
    bus.subscribe(topics.ANOMALIES, group_id=f"{group}-anomalies", handler=handlers.on_observation, broadcast=True)
    owner = bus.subscribe(topics.INCIDENTS, group_id=group, handler=handlers.on_incident)
    bus.subscribe(topics.RECOVERY, group_id=f"{group}-recovery", handler=handlers.on_recovery)
    bus.subscribe(topics.COMMANDS, group_id=f"{group}-commands", handler=handlers.on_command)
    del owner  # recovery outcomes and commands are shared by the instances' groups: each is analysed once

    async def rebuild_state() -> None:
        def fold(event: ev.Event) -> None:
            store.add(event)
            handlers.remember(event)

        inputs = (topics.METRICS, topics.ANOMALIES, topics.INCIDENTS, topics.RECOVERY)
        count = (await rebuild(bus, (topics.RCA,), fold, inputs=inputs)).applied
        log.info("rca state rebuilt from %d events: %d series, %d incidents", count, len(store.series),
                 len(handlers.incidents))  # fmt: skip

    async def close_es() -> None:
        if es is not None:
            await es.close()

    app = service.asgi_app(on_shutdown=[close_es])
    app.on_startup(rebuild_state)
    return service, app
