"""Scrape targets on their adaptive cadence and publish one ``MetricsObserved`` per scrape."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from services.collector.adapters.exposition import ExpositionFetcher
from services.collector.adapters.host import PsutilHostSampler
from services.collector.adapters.prober import HttpProber
from services.collector.adapters.process import PsutilProcessSampler
from services.collector.cadence_book import CadenceBook
from services.collector.domain.probes import summarise
from services.collector.domain.samples import host_samples, merge_samples, target_samples
from services.collector.exposition_scrape import EndpointScraper
from services.collector.settings import CollectorSettings, TargetConfig
from shared import events as ev
from shared import metric_names as mn
from shared import models as m
from shared.bus import EventBus

log = logging.getLogger(__name__)

Scrape = Callable[[], Awaitable[tuple[m.MetricSample, ...]]]


@dataclass
class ServiceScraper:
    """Process state, HTTP probe statistics and exposition endpoints of one configured target."""

    config: TargetConfig
    prober: HttpProber
    process: PsutilProcessSampler | None = None
    endpoints: tuple[EndpointScraper, ...] = ()

    @classmethod
    def build(cls, config: TargetConfig, prober: HttpProber, fetcher: ExpositionFetcher) -> ServiceScraper:
        """Create the scraper, its process sampler (if the target names a pidfile or process) and endpoints."""
        sampler = None
        if config.pidfile is not None or config.process_name is not None:
            sampler = PsutilProcessSampler(pidfile=config.pidfile, process_name=config.process_name)
        endpoints = tuple(EndpointScraper(config.name, e, fetcher) for e in config.exposition)
        return cls(config, prober, sampler, endpoints)

    async def __call__(self) -> tuple[m.MetricSample, ...]:
        """Take one scrape: the probes and the endpoints concurrently; an endpoint's signal wins over the probe's."""
        reading = self.process.read() if self.process is not None else None
        scraping = asyncio.gather(*(e() for e in self.endpoints))
        probe = None
        if self.config.url is not None:
            probing = self.prober.probe(self.config.url, self.config.probes_per_scrape)
            results, found = await asyncio.gather(probing, scraping)
            probe = summarise(results)
        else:
            found = await scraping
        scraped = [s for samples in found for s in samples]
        return merge_samples(target_samples(reading, probe), scraped)


@dataclass
class HostScraper:
    """Host-wide usage of the machine the collector runs on."""

    sampler: PsutilHostSampler

    async def __call__(self) -> tuple[m.MetricSample, ...]:
        """Take one scrape."""
        return host_samples(self.sampler.read())


def build_scrapers(
    settings: CollectorSettings, *, host: str, prober: HttpProber, fetcher: ExpositionFetcher
) -> dict[str, Scrape]:
    """Return a scrape function per target name (the host's first, if enabled)."""
    scrapers: dict[str, Scrape] = {}
    if settings.scrape_host:
        scrapers[mn.HOST_TARGET_PREFIX + host] = HostScraper(PsutilHostSampler(disk_path=settings.disk_path))
    for target in settings.targets:
        if target.scraped:
            scrapers[target.name] = ServiceScraper.build(target, prober, fetcher)
    return scrapers


async def scrape_loop(
    target: str,
    scrape: Scrape,
    *,
    host: str,
    book: CadenceBook,
    bus: EventBus,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Scrape ``target`` forever at the interval its cadence gives; a cadence change wakes the loop."""
    last: datetime | None = None
    wakeup = book.wakeup(target)
    while True:
        wakeup.clear()
        now = clock()
        due = book.next_due(target, last_scrape=last, now=now)
        if due > now:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout((due - now).total_seconds()):
                    await wakeup.wait()
            continue
        observed_at = clock()
        last = observed_at
        try:
            samples = await scrape()
            payload = m.MetricsObserved(
                target=target,
                host=host,
                observed_at=observed_at,
                interval_s=book.interval(target, now=observed_at),
                samples=samples,
            )
            event = ev.MetricsObserved.create(
                payload,
                source="/services/collector",
                id_parts=(target, observed_at.isoformat()),
                time=observed_at,
                subject=target,
            )
            await bus.publish(event, key=target)
        except asyncio.CancelledError:
            raise
        except Exception:  # one failed scrape or publish must not stop the target's loop
            log.exception("scrape of %s failed", target)
