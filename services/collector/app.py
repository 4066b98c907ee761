"""Composition root of the collector: scrape loops, log shipper and cadence subscribers on one service."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass

import httpx
from faststream.asgi.types import ASGIApp

from services.collector.adapters.elasticsearch_sink import ElasticsearchLogSink, LogSink
from services.collector.adapters.exposition import ExpositionFetcher
from services.collector.adapters.offset_store import JsonOffsetStore
from services.collector.adapters.prober import HttpProber
from services.collector.cadence_book import CadenceBook
from services.collector.domain.stages import StagePolicy
from services.collector.handlers import CadenceHandlers, apply_event
from services.collector.log_shipper import LogShipper, ShipperOptions
from services.collector.scraping import build_scrapers, scrape_loop
from services.collector.settings import CollectorSettings
from services.collector.stage_watch import FallbackPager, StageWatch
from shared.rebuild import Clock, rebuild, utcnow
from shared.runtime import Hook, Service, runtime_app
from shared.topics import HEARTBEATS, INCIDENTS, RECOVERY

log = logging.getLogger(__name__)
CHATTY_LOGGERS = ("httpx", "elastic_transport")  # one INFO line per probe / bulk request otherwise


@dataclass
class CollectorRuntime:
    """The wired collector: cadence book, scrape loops, log shipper and stage watch on one service."""

    service: Service
    settings: CollectorSettings
    host: str
    book: CadenceBook
    prober: HttpProber
    shipper: LogShipper | None
    watch: StageWatch | None
    clock: Clock
    fetcher: ExpositionFetcher
    closers: tuple[Hook, ...] = ()  # close what ``build`` opened (not the injected adapters)

    async def rebuild(self) -> int:
        """Rebuild the cadence book from the incident and recovery events; return how many were applied."""
        rebuilt = await rebuild(self.service.bus, (), lambda e: apply_event(self.book, e), inputs=(INCIDENTS, RECOVERY))
        log.info("cadence rebuilt from %d incident/recovery events", rebuilt.applied)
        return rebuilt.applied

    async def start(self) -> None:
        """Connect and consume, rebuild the cadence, then start scraping, shipping and watching."""
        service, settings, host = self.service, self.settings, self.host
        await service.start()
        await self.rebuild()
        for target, scrape in build_scrapers(settings, host=host, prober=self.prober, fetcher=self.fetcher).items():
            loop = scrape_loop(target, scrape, host=host, book=self.book, bus=service.bus, clock=self.clock)
            service.spawn(loop, name=f"scrape:{target}")
        if self.shipper is not None:
            service.spawn(self.shipper.run(settings.log_poll_s), name="log-shipper")
        if self.watch is not None:
            service.spawn(self.watch.run(settings.heartbeat_interval_s), name="stage-watch")
        service.ready.set()

    async def stop(self) -> None:
        """Stop the loops and consumers, close the shipper and what ``build`` opened, disconnect."""
        await self.service.stop(before_disconnect=[self._close])

    async def _close(self) -> None:
        if self.shipper is not None:
            self.shipper.close()
        for close in self.closers:
            await close()

    def asgi_app(self) -> ASGIApp:
        """The HTTP app: /healthz, /readyz, /status, /metrics; its lifespan starts and stops the collector."""
        return runtime_app(self)


def build(
    settings: CollectorSettings,
    *,
    clock: Clock | None = None,
    prober: HttpProber | None = None,
    log_sink: LogSink | None = None,
    offset_store: JsonOffsetStore | None = None,
    http_client: httpx.AsyncClient | None = None,
    fetcher: ExpositionFetcher | None = None,
) -> CollectorRuntime:
    """Wire the collector; nothing connects until it starts.

    Adapters (None: the production one, built from ``settings``; stop closes only what ``build`` made):
    ``clock`` stamps scrapes and stage problems; ``prober`` probes the targets' URLs; ``log_sink`` and
    ``offset_store`` take the shipper's log documents and cursors (used when logs are shipped);
    ``http_client`` sends the fallback page; ``fetcher`` reads the targets' exposition endpoints.
    """
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    service = Service.create("collector", settings)
    host = settings.host_name or socket.gethostname()
    group = settings.group_id or f"collector-{host}"
    clock = clock or utcnow
    closers: list[Hook] = []
    book = CadenceBook(settings.intervals.to_domain())
    handlers = CadenceHandlers(book)
    service.bus.subscribe(INCIDENTS, group_id=f"{group}.incidents", handler=handlers.on_incident_event)
    service.bus.subscribe(RECOVERY, group_id=f"{group}.recovery", handler=handlers.on_recovery_event)
    if prober is None:
        prober = HttpProber(timeout_s=settings.probe_timeout_s)
        closers.append(prober.close)
    if fetcher is None:
        fetcher = ExpositionFetcher()
        closers.append(fetcher.close)

    shipper = None
    files = [(t.name, path) for t in settings.targets for path in t.log_files]
    if settings.ship_logs and files:
        if log_sink is None:
            sink = ElasticsearchLogSink(settings.elasticsearch_url, options=settings.elasticsearch_options())
            closers.append(sink.close)
            log_sink = sink
        options = ShipperOptions(
            index_prefix=settings.log_index_prefix,
            batch_max=settings.log_batch_max,
            multiline_idle_s=settings.log_multiline_idle_s,
            retry_initial_s=settings.log_retry_initial_s,
            retry_max_s=settings.log_retry_max_s,
        )
        offsets = offset_store or JsonOffsetStore(settings.log_state_dir)
        shipper = LogShipper(files, log_sink, offsets, host=host, options=options)

    if http_client is None:
        http_client = httpx.AsyncClient(timeout=httpx.Timeout(5.0))
        closers.append(http_client.aclose)
    watch = None
    if settings.watch_stages:  # the dead man's switch of the pipeline, subscribed to every service's heartbeats
        policy = StagePolicy(
            missed_beats=settings.stage_missed_beats, lag_beats=settings.stage_lag_beats, min_lag=settings.stage_min_lag
        )
        fallback = None
        if settings.fallback_webhook_url:
            fallback = FallbackPager(settings.fallback_webhook_url, settings.fallback_webhook_secret, http_client)
        watch = StageWatch(service.bus, policy, host=host, fallback=fallback, clock=clock)
        service.bus.subscribe(HEARTBEATS, group_id=f"{group}.heartbeats", handler=watch.on_heartbeat)
    return CollectorRuntime(service, settings, host, book, prober, shipper, watch, clock, fetcher, tuple(closers))
