"""Composition root of the collector: scrape loops, log shipper and cadence subscribers on one service."""

from __future__ import annotations

import logging
import socket

import httpx
from faststream.asgi import AsgiFastStream

from services.collector.adapters.elasticsearch_sink import ElasticsearchLogSink
from services.collector.adapters.offset_store import JsonOffsetStore
from services.collector.adapters.prober import HttpProber
from services.collector.cadence_book import CadenceBook
from services.collector.domain.stages import StagePolicy
from services.collector.handlers import CadenceHandlers, apply_event
from services.collector.log_shipper import LogShipper, ShipperOptions
from services.collector.scraping import build_scrapers, scrape_loop
from services.collector.settings import CollectorSettings
from services.collector.stage_watch import FallbackPager, StageWatch
from shared.rebuild import rebuild
from shared.runtime import Service
from shared.topics import HEARTBEATS, INCIDENTS, RECOVERY

log = logging.getLogger(__name__)
CHATTY_LOGGERS = ("httpx", "elastic_transport")  # one INFO line per probe / bulk request otherwise


def _shipper(settings: CollectorSettings, host: str) -> tuple[LogShipper, ElasticsearchLogSink] | None:
    files = [(t.name, path) for t in settings.targets for path in t.log_files]
    if not settings.ship_logs or not files:
        return None
    sink = ElasticsearchLogSink(settings.elasticsearch_url, options=settings.elasticsearch_options())
    options = ShipperOptions(
        index_prefix=settings.log_index_prefix,
        batch_max=settings.log_batch_max,
        multiline_idle_s=settings.log_multiline_idle_s,
        retry_initial_s=settings.log_retry_initial_s,
        retry_max_s=settings.log_retry_max_s,
    )
    return LogShipper(files, sink, JsonOffsetStore(settings.log_state_dir), host=host, options=options), sink


def _stage_watch(
    service: Service, settings: CollectorSettings, host: str, group: str
) -> tuple[StageWatch | None, httpx.AsyncClient]:
    """The dead man's switch of the pipeline, subscribed to every service's heartbeats (when enabled)."""
    client = httpx.AsyncClient(timeout=httpx.Timeout(5.0))
    if not settings.watch_stages:
        return None, client
    policy = StagePolicy(
        missed_beats=settings.stage_missed_beats, lag_beats=settings.stage_lag_beats, min_lag=settings.stage_min_lag
    )
    fallback = None
    if settings.fallback_webhook_url:
        fallback = FallbackPager(settings.fallback_webhook_url, settings.fallback_webhook_secret, client)
    watch = StageWatch(service.bus, policy, host=host, fallback=fallback)
    service.bus.subscribe(HEARTBEATS, group_id=f"{group}.heartbeats", handler=watch.on_heartbeat)
    return watch, client


def create_app(settings: CollectorSettings) -> AsgiFastStream:
    """Wire the collector; nothing connects until the app starts."""
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    service = Service.create("collector", settings)
    host = settings.host_name or socket.gethostname()
    group = settings.group_id or f"collector-{host}"
    book = CadenceBook(settings.intervals.to_domain())
    handlers = CadenceHandlers(book)
    service.bus.subscribe(INCIDENTS, group_id=f"{group}.incidents", handler=handlers.on_incident_event)
    service.bus.subscribe(RECOVERY, group_id=f"{group}.recovery", handler=handlers.on_recovery_event)
    prober = HttpProber(timeout_s=settings.probe_timeout_s)
    shipping = _shipper(settings, host)
    watch, pager_client = _stage_watch(service, settings, host, group)

    async def start() -> None:
        rebuilt = await rebuild(service.bus, (), lambda e: apply_event(book, e), inputs=(INCIDENTS, RECOVERY))
        log.info("cadence rebuilt from %d incident/recovery events", rebuilt.applied)
        for target, scrape in build_scrapers(settings, host=host, prober=prober).items():
            service.spawn(scrape_loop(target, scrape, host=host, book=book, bus=service.bus), name=f"scrape:{target}")
        if shipping is not None:
            service.spawn(shipping[0].run(settings.log_poll_s), name="log-shipper")
        if watch is not None:
            service.spawn(watch.run(settings.heartbeat_interval_s), name="stage-watch")

    async def stop() -> None:
        await prober.close()
        await pager_client.aclose()
        if shipping is not None:
            shipping[0].close()
            await shipping[1].close()

    return service.asgi_app(after_startup=[start], on_shutdown=[stop])
